import os

from django.core.wsgi import get_wsgi_application

from bookit import local_secrets

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookit.settings")
local_secrets.create_missing()  # a dev checkout's secrets (none in production), before settings read them
application = get_wsgi_application()

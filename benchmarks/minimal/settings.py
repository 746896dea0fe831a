"""A minimal Django project: the framework ceiling BookIt is measured against (``make bench``).

What ``django-admin startproject`` plus DRF would give, stripped to what the
bare views need: no middleware, no BookIt app, DRF with the JSON renderer
only. It connects to the benchmark's database as BookIt does (persistent
connections, same server), with Django's default of no health checks.
"""

from bookit.settings import DATABASES as BOOKIT_DATABASES

SECRET_KEY = "minimal-project-for-benchmarks-only"  # noqa: S105 (signs nothing: no sessions, no tokens)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]
MIDDLEWARE: list = []
ROOT_URLCONF = "benchmarks.minimal.urls"
DATABASES = {"default": {**BOOKIT_DATABASES["default"], "CONN_HEALTH_CHECKS": False}}
USE_TZ = True
REST_FRAMEWORK = {"DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}

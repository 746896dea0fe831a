import pytest

from bookit.testing.jobs import HttpReceiver, SmtpServer


@pytest.fixture
def smtp(settings):
    """Mail goes to a real SMTP server started for the test."""
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.controller.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.STAFF_NOTIFICATION_EMAILS = ["desk@bookit.test"]
        yield server


@pytest.fixture
def receiver(settings):
    """A real HTTP receiver on 127.0.0.1 (allowed, as in dev, by WEBHOOK_ALLOW_PRIVATE)."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with HttpReceiver() as server:
        yield server

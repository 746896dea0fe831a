import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("bookit.settings")


class NotificationsConfig(AppConfig):
    """Tells people what happened: mail, reminders and signed webhooks, from the bookings' history events.

    It sits above every domain app: ``bookings`` and ``reviews`` record what
    happened and know nothing of mail or webhooks; this app reacts (a trigger
    on the history table defers a job per event, see migration 0002).
    """

    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notifications import receivers  # noqa: F401  (connects the reviews' signal)

        warn_about_settings()


def warn_about_settings() -> None:
    """Production settings that work but are likely a mistake: one JSON log line each, at start-up."""
    if not settings.IS_PROD:
        return
    if not settings.EMAIL_URL:
        logger.warning("EMAIL_URL is not set: no mail is sent (set it to smtp://...).")
    if settings.WEBHOOK_ALLOW_PRIVATE:
        logger.warning("WEBHOOK_ALLOW_PRIVATE is on: webhooks may reach loopback and private addresses.")

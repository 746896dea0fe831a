from django.apps import AppConfig


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

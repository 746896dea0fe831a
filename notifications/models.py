import base64
import secrets

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from bookit.db.models import TimestampedModel


class EventType(models.TextChoices):
    """What a webhook can say happened (``ping`` only comes from ``POST /webhooks/{id}/test``)."""

    BOOKING_CREATED = "booking.created"
    BOOKING_CONFIRMED = "booking.confirmed"
    BOOKING_RESCHEDULED = "booking.rescheduled"
    BOOKING_CANCELLED = "booking.cancelled"
    BOOKING_COMPLETED = "booking.completed"
    BOOKING_DELETED = "booking.deleted"
    REVIEW_CREATED = "review.created"


PING = "ping"


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


class WebhookEndpoint(TimestampedModel):
    """A receiver of signed webhooks; ``events`` empty means every event type."""

    url = models.URLField(max_length=2000, help_text="https; never a private, loopback or metadata address.")
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    events = ArrayField(
        models.CharField(max_length=40, choices=EventType.choices),
        default=list,
        blank=True,
        help_text="Event types sent here; empty: all.",
    )
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=500, blank=True)
    disabled_reason = models.CharField(
        max_length=500, blank=True, editable=False, help_text="Why BookIt stopped delivering (410, retries spent)."
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["is_active"], name="notif_endpoint_active_idx")]

    def __str__(self):
        return self.url

    def wants(self, event_type: str) -> bool:
        return event_type == PING or not self.events or event_type in self.events


class WebhookMessage(models.Model):
    """One event as sent: its ``webhook-id`` (the same on every retry) and the exact body that is signed.

    The body is built when the change is recorded, so a retry a day later still
    says what the booking was right after that change.
    """

    id = models.CharField(primary_key=True, max_length=40, default=new_message_id, editable=False)
    type = models.CharField(max_length=40)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.type} {self.id}"


class WebhookDelivery(models.Model):
    """The delivery log: one row per attempt of one message to one endpoint (purged after WEBHOOK_LOG_DAYS)."""

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Empty: no further attempt.")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [  # an attempt runs again only if its worker died before logging it
            models.UniqueConstraint(fields=["message", "endpoint", "attempt"], name="notif_delivery_attempt_once")
        ]
        indexes = [
            models.Index(fields=["at"], name="notif_delivery_at_idx"),
            models.Index(fields=["endpoint", "-at"], name="notif_delivery_endpoint_idx"),
        ]

    def __str__(self):
        return f"{self.message_id} -> {self.endpoint_id} #{self.attempt}"


class Dispatch(models.Model):
    """A source event already turned into mails, reminders and webhooks: a dispatch job run twice does nothing."""

    source = models.CharField(primary_key=True, max_length=60)  # "booking_event:<id>", "review:<id>"
    at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.source

"""The notification jobs of the queue: thin wrappers over ``notifications.services`` (which say the rules).

Each job carries ids and re-reads its rows, so running it twice (a killed
worker's job is retried) does nothing twice that matters: a dispatch is
claimed once per event, a reminder re-checks its booking, a webhook is
delivered at least once with the same ``webhook-id``.
"""

from datetime import datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime
from procrastinate.contrib.django import app

from bookings.models import BookingEvent
from notifications import services
from notifications.emails import booking_mail

QUEUE = "notifications"
# Higher runs first: in a burst, events are turned into their jobs first, then webhooks go out
# (their receivers wait on them), then mails and reminders.
DISPATCH, DELIVERY = 20, 10


@app.task(name="booking_event", queue=QUEUE, priority=DISPATCH)
def booking_event(
    *, event_id: int, action: str, actor_id: int | None, owner_id: int, at: str, sequence: int, booking: dict | None
) -> None:
    """Deferred by the history trigger (migration 0002) for every booking event, with the event's fields."""
    event = BookingEvent(pk=event_id, action=action, actor_id=actor_id, owner_id=owner_id, at=parse_datetime(at))
    services.booking_event_dispatch(event=event, sequence=sequence, booking_row=booking)


@app.task(name="review_event", queue=QUEUE, priority=DISPATCH)
def review_event(*, review_id: int, data: dict, at: str) -> None:
    services.review_dispatch(review_id=review_id, data=data, at=datetime.fromisoformat(at))


@app.task(name="send_booking_mail", queue=QUEUE)
def send_booking_mail(*, kind: str, to: list[str], booking: dict, cancelled_by: str | None = None) -> None:
    booking_mail(kind, services.booking_from_row(booking), to=to, cancelled_by=cancelled_by).send()


@app.task(name="send_reminder", queue=QUEUE)
def send_reminder(*, booking_id: int, start_time: str, minutes_before: int) -> str:
    return services.reminder_send(booking_id=booking_id, start_time=start_time, minutes_before=minutes_before)


@app.task(name="deliver_webhook", queue=QUEUE, priority=DELIVERY)
def deliver_webhook(*, message_id: str, endpoint_id: int, attempt: int, retry: bool = True) -> None:
    services.webhook_deliver(message_id=message_id, endpoint_id=endpoint_id, attempt=attempt, retry=retry)


@app.periodic(cron=settings.PERIODIC_JOBS["purge_webhook_deliveries"])
@app.task(name="purge_webhook_deliveries", queue="maintenance", queueing_lock="purge_webhook_deliveries")
def purge_webhook_deliveries(timestamp: int) -> int:
    return services.webhook_delivery_log_purge()

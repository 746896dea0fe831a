"""The notification jobs of the queue: thin wrappers over ``notifications.services`` (which say the rules).

Each job carries ids and re-reads its rows, so running it twice (a killed
worker's job is retried) does nothing twice that matters: a dispatch is
claimed once per event, a reminder re-checks its booking, a webhook is
delivered at least once with the same ``webhook-id``.
"""

from datetime import datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from bookings.models import BookingEvent
from bookit.jobs import periodic
from notifications import services

QUEUE = "notifications"
# Higher runs first: in a burst, events are turned into their jobs first, then webhooks go out
# (their receivers wait on them), then mails and reminders.
DISPATCH, DELIVERY = 20, 10
# An error the job did not expect (the database or the mail server away for a moment) runs it again after
# 2, 4, 8, ... seconds, for about two hours; a webhook's own failures are retried by its schedule, not here.
RETRY = RetryStrategy(max_attempts=12, exponential_wait=2)


@app.task(name="booking_event", queue=QUEUE, priority=DISPATCH, retry=RETRY)
def booking_event(
    *, event_id: int, booking_id: int, action: str, actor_id: int | None, owner_id: int, at: str, booking: dict | None
) -> None:
    """Deferred by the history trigger (migration 0002) for every booking event, with the event's fields."""
    fields = {"booking_id": booking_id, "action": action, "actor_id": actor_id, "owner_id": owner_id}
    event = BookingEvent(pk=event_id, at=parse_datetime(at), **fields)
    services.booking_event_dispatch(event=event, booking_row=booking)


@app.task(name="review_event", queue=QUEUE, priority=DISPATCH, retry=RETRY)
def review_event(*, review_id: int, data: dict, at: str) -> None:
    services.review_dispatch(review_id=review_id, data=data, at=datetime.fromisoformat(at))


@app.task(name="send_booking_mail", queue=QUEUE, retry=RETRY)
def send_booking_mail(*, kind: str, booking: dict, user_id: int | None = None, cancelled_by: str | None = None) -> str:
    """To the customer ``user_id``, or (``staff_pending``) to the service's staff."""
    return services.booking_mail_send(kind=kind, booking_row=booking, user_id=user_id, cancelled_by=cancelled_by)


@app.task(name="send_series_mail", queue=QUEUE, retry=RETRY)
def send_series_mail(*, series_id: int, booking_ids: list[int], cancelled_by: str) -> str:
    """The digest of a series cancellation: one mail for all the occurrences it cancelled."""
    return services.series_mail_send(series_id=series_id, booking_ids=booking_ids, cancelled_by=cancelled_by)


@app.task(name="send_reminder", queue=QUEUE, retry=RETRY)
def send_reminder(*, booking_id: int, start_time: str, sequence: int, minutes_before: int) -> str:
    when = {"start_time": start_time, "sequence": sequence, "minutes_before": minutes_before}
    return services.reminder_send(booking_id=booking_id, **when)


@app.task(name="deliver_webhook", queue=QUEUE, priority=DELIVERY, retry=RETRY)
def deliver_webhook(*, message_id: str, endpoint_id: int, attempt: int, retry: bool = True) -> None:
    services.webhook_deliver(message_id=message_id, endpoint_id=endpoint_id, attempt=attempt, retry=retry)


@app.periodic(cron=settings.PERIODIC_JOBS["purge_webhook_deliveries"])
@app.task(name="purge_webhook_deliveries", queue="maintenance", **periodic("purge_webhook_deliveries"))
def purge_webhook_deliveries(timestamp: int) -> int:
    return services.webhook_delivery_log_purge()

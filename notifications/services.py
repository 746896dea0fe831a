"""What each recorded change tells whom, and the writes of the webhooks' endpoints.

A trigger on the bookings' history (migration 0002) defers one
``booking_event`` job per event, in the change's own transaction, with the
booking as it was right after the change; the job calls
``booking_event_dispatch``, which turns the event into mails, reminders and
webhook messages, all deferred in one transaction and at most once per event
(``Dispatch``), so a job that runs twice (its worker was killed) sends nothing
twice. Reviews come through ``review_dispatch`` the same way.
"""

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.jobs import Job

from accounts.models import User
from bookings.models import Booking, BookingEvent, BookingSeries
from bookings.serializers import booking_json
from bookit.db.updates import model_update
from bookit.jobs import defer, job
from bookit.utc import iso_z
from catalog.models import Resource, Service
from notifications import tasks
from notifications.emails import booking_mail, series_mail
from notifications.models import (
    PING,
    Dispatch,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
    new_secret,
)
from notifications.webhooks import next_attempt_in, post, resolve

logger = logging.getLogger("bookit.notifications")

Action = BookingEvent.Action
Status = Booking.Status
REMINDED = (Status.PENDING, Status.CONFIRMED)


def booking_from_row(row: dict) -> Booking:
    """The booking of a history job's snapshot (``to_jsonb`` of its row, with ``service_name`` and
    ``resource_name``: notifications migration 0004)."""
    fields = Booking._meta.concrete_fields
    booking = Booking(**{f.attname: f.to_python(row[f.column]) for f in fields if f.column in row})
    booking.service = Service(pk=booking.service_id, name=row["service_name"], timezone=row["service_timezone"])
    booking.resource = Resource(pk=booking.resource_id, name=row.get("resource_name", ""))
    return booking


def _booking_of_deleted(event: BookingEvent, service: Service) -> Booking:
    """A deleted booking as its last event remembers it (the ``before`` side of each field)."""
    booking = Booking(pk=event.booking_id, **{name: before for name, (before, _) in event.changes.items()})
    for name in ("start_time", "end_time", "cancelled_at"):
        value = getattr(booking, name)
        if isinstance(value, str):
            setattr(booking, name, datetime.fromisoformat(value))
    booking.service = service
    # Its resource as it is now (or gone): resources are not deleted while they hold bookings.
    booking.resource = Resource.objects.filter(pk=booking.resource_id).first() or Resource(
        pk=booking.resource_id, name=""
    )
    return booking


def _first_dispatch(source: str) -> bool:
    """Claim ``source`` in this transaction; False when an earlier run already dispatched it."""
    with connection.cursor() as cursor:
        cursor.execute(CLAIM, [source])
        return cursor.fetchone() is not None


CLAIM = "INSERT INTO notifications_dispatch (source, at) VALUES (%s, now()) ON CONFLICT DO NOTHING RETURNING 1"


def _webhook_type(event: BookingEvent, booking: Booking) -> str | None:
    if event.action == Action.STATUS_CHANGED:
        return {Status.CONFIRMED: EventType.BOOKING_CONFIRMED, Status.COMPLETED: EventType.BOOKING_COMPLETED}.get(
            booking.status
        )
    return {
        Action.CREATED: EventType.BOOKING_CREATED,
        Action.RESCHEDULED: EventType.BOOKING_RESCHEDULED,
        Action.CANCELLED: EventType.BOOKING_CANCELLED,
        Action.DELETED: EventType.BOOKING_DELETED,
    }.get(event.action)


def _mail_kind(event: BookingEvent, booking: Booking) -> str | None:
    if event.action == Action.STATUS_CHANGED:
        return "confirmed" if booking.status == Status.CONFIRMED else None
    return {Action.CREATED: "received", Action.RESCHEDULED: "rescheduled", Action.CANCELLED: "cancelled"}.get(
        event.action
    )


# Sent whatever the customer's email_notifications says: a booking cancelled by staff or expired
# must be known. Reminders and news of others' confirmations and moves respect the switch.
ESSENTIAL = {"cancelled"}


def _wants_mail(user_id: int) -> bool:
    return User.objects.filter(pk=user_id, email_notifications=True).exists()


def booking_mail_send(*, kind: str, booking_row: dict, user_id: int | None = None, cancelled_by=None) -> str:
    """Send a ``kind`` mail about the booking of ``booking_row``: to the customer ``user_id`` (their address
    read now; none when the account is gone), else to the service's staff address or STAFF_NOTIFICATION_EMAILS."""
    booking = booking_from_row(booking_row)
    if user_id is not None:
        to = list(User.objects.filter(pk=user_id).values_list("email", flat=True))
    else:
        notify = Service.objects.filter(pk=booking.service_id).values_list("notify_email", flat=True).first()
        to = [notify] if notify else list(settings.STAFF_NOTIFICATION_EMAILS)
    if not to:
        return "no_recipient"
    booking_mail(kind, booking, to=to, cancelled_by=cancelled_by).send()
    return "sent"


def _cancelled_by(event: BookingEvent) -> str:
    if event.actor_id is None:
        return "expired"
    return "you" if event.actor_id == event.owner_id else "staff"


def booking_sequence(event: BookingEvent) -> int:
    """The booking's change counter at ``event``: its events up to this one (history is append-only, and
    a booking's changes are serialized by its row lock, so this is the same whenever it is counted)."""
    return BookingEvent.objects.filter(booking_id=event.booking_id, pk__lte=event.pk).count()


@transaction.atomic
def booking_event_dispatch(*, event: BookingEvent, booking_row: dict | None) -> None:
    """Mails, reminders and webhooks of one history event, deferred together, at most once.

    ``event`` carries the event's fields (the trigger's job has them, so no
    query reads it again), ``booking_row`` the booking right after the change
    (None once deleted: then the event's ``before`` values say what it was).
    """
    if not _first_dispatch(f"booking_event:{event.pk}"):
        return
    service = None
    if booking_row is not None:
        booking = booking_from_row(booking_row)
    else:
        event = BookingEvent.objects.get(pk=event.pk)
        service = Service.objects.filter(pk=event.service_id).first()
        if service is None:
            return  # the booking and then its service were deleted before a worker came by
        booking = _booking_of_deleted(event, service)
    jobs = []
    webhook_type = _webhook_type(event, booking)
    if webhook_type:
        data = {**booking_json(booking), "sequence": booking_sequence(event)}
        jobs += _webhook_jobs(webhook_type, data, at=event.at)
    kind = _mail_kind(event, booking)
    if kind == "cancelled" and booking.series_id is not None and _told_in_digest(event):
        kind = None  # its series' cancellation mails one digest of all its occurrences (series_mail_send)
    if kind and (kind in ESSENTIAL or event.actor_id == event.owner_id or _wants_mail(event.owner_id)):
        cancelled_by = _cancelled_by(event) if kind == "cancelled" else None
        mail = {"kind": kind, "booking": booking_row, "cancelled_by": cancelled_by}
        jobs.append(job(tasks.send_booking_mail, user_id=event.owner_id, **mail))
    if event.action in (Action.CREATED, Action.RESCHEDULED):
        fields = ("notify_email", "reminder_minutes_before")
        service = service or Service.objects.only(*fields).filter(pk=booking.service_id).first()
        if service is None:  # the booking, then its service, deleted before a worker came by
            defer(*jobs)
            return
        if event.action == Action.CREATED and (service.notify_email or settings.STAFF_NOTIFICATION_EMAILS):
            jobs.append(job(tasks.send_booking_mail, kind="staff_pending", booking=booking_row))
        if booking.status in REMINDED:
            jobs += _reminder_jobs(booking, service, since=event.at)
    defer(*jobs)


def _told_in_digest(event: BookingEvent) -> bool:
    """Whether the event's news goes out in a digest (``BookingEvent.in_digest``): read only for an occurrence
    of a series, since the history trigger's job does not carry the flag."""
    return BookingEvent.objects.filter(pk=event.pk, in_digest=True).exists()


def series_mail_send(*, series_id: int, booking_ids: list[int], cancelled_by: str) -> str:
    """One mail to the series' owner listing the occurrences its cancellation cancelled (``series_cancelled``).

    The bookings are read again: a digest tells what was cancelled, which stays
    true; an occurrence deleted since is left out, and a digest with none left,
    or for an account that is gone, is not sent.
    """
    series = BookingSeries.objects.select_related("service", "user").filter(pk=series_id).first()
    bookings = list(Booking.objects.select_related("service").filter(pk__in=booking_ids).order_by("start_time", "id"))
    if series is None or not bookings:
        return "obsolete"
    series_mail(series, bookings, to=[series.user.email], cancelled_by=cancelled_by).send()
    return "sent"


def _reminder_jobs(booking: Booking, service: Service, *, since: datetime) -> list[Job]:
    """A job per reminder of ``service``, at the booking's UTC start minus its minutes (exact across
    daylight-saving changes); none that was already due when the change was made."""
    jobs = []
    for minutes in sorted(set(service.reminder_minutes_before)):
        due = booking.start_time - timedelta(minutes=minutes)
        if due > since:
            when = {"start_time": iso_z(booking.start_time), "sequence": booking.sequence, "minutes_before": minutes}
            jobs.append(job(tasks.send_reminder, schedule_at=due, booking_id=booking.pk, **when))
    return jobs


def reminder_send(
    *, booking_id: int, start_time: str, sequence: int, minutes_before: int, now: datetime | None = None
) -> str:
    """Send one reminder if it still makes sense; returns what was done (``sent`` or why not).

    The booking is read again: a cancelled or completed one, or one moved
    since the reminder was scheduled (its ``sequence``, which every move
    raises, differs: the move scheduled its own reminders, also after a move
    there and back), gets none. A reminder due more than
    ``REMINDER_GRACE_MINUTES`` ago (no worker ran), or after the start, is dropped.
    """
    now = now or timezone.now()
    booking = Booking.objects.select_related("service", "user").filter(pk=booking_id).first()
    start = datetime.fromisoformat(start_time)
    if booking is None or booking.status not in REMINDED or (booking.start_time, booking.sequence) != (start, sequence):
        return "obsolete"
    due = start - timedelta(minutes=minutes_before)
    if now >= start or now - due > timedelta(minutes=settings.REMINDER_GRACE_MINUTES):
        logger.warning("reminder dropped: due %s, now %s", iso_z(due), iso_z(now), extra={"booking_id": booking_id})
        return "dropped"
    if not booking.user.email_notifications:
        return "opted_out"
    booking_mail("reminder", booking, to=[booking.user.email]).send()
    return "sent"


def review_dispatch(*, review_id: int, data: dict, at: datetime) -> None:
    """The ``review.created`` webhook of a new review (``data``: the review as its author got it back)."""
    with transaction.atomic():
        if _first_dispatch(f"review:{review_id}"):
            defer(*_webhook_jobs(EventType.REVIEW_CREATED, data, at=at))


def _webhook_jobs(event_type: str, data: dict, *, at: datetime, endpoints=None) -> list[Job]:
    """One message of ``event_type`` (saved), and its first delivery's job for every active endpoint that
    wants it (or for each of ``endpoints``)."""
    if endpoints is None:
        endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if e.wants(event_type)]
    if not endpoints:
        return []
    body = json.dumps({"type": event_type, "timestamp": iso_z(at), "data": data}, separators=(",", ":"))
    message = WebhookMessage.objects.create(type=event_type, body=body, created_at=at)
    return [job(tasks.deliver_webhook, message_id=message.pk, endpoint_id=e.pk, attempt=1) for e in endpoints]


def webhook_deliver(*, message_id: str, endpoint_id: int, attempt: int, retry: bool = True) -> WebhookDelivery | None:
    """Attempt ``attempt`` of one message to one endpoint, logged; on failure the next attempt is deferred.

    Only a 2xx is success. A 410 disables the endpoint at once; so does a
    failure of the last attempt, saying why. ``retry=False`` (pings, staff's
    "send again") makes one attempt and nothing more. The HTTP request runs
    outside any transaction; its log row, the next attempt and a disabling
    commit together. A worker killed during the request leaves the job to be
    run again: the receiver may get the message twice, with the same
    ``webhook-id``, never not at all.
    """
    message = WebhookMessage.objects.filter(pk=message_id).first()
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if message is None or endpoint is None:
        return None  # purged or deleted meanwhile
    if WebhookDelivery.objects.filter(message=message, endpoint=endpoint, attempt=attempt).exists():
        return None  # this attempt ran and was logged (with its follow-up) before its worker died
    if not (endpoint.is_active or message.type == PING):
        skipped = {"at": timezone.now(), "error": "Not sent: the endpoint is disabled."}
        delivery, _ = WebhookDelivery.objects.get_or_create(
            message=message, endpoint=endpoint, attempt=attempt, defaults=skipped
        )
        return delivery
    outcome = post(endpoint.url, message_id=message.pk, body=message.body.encode(), secret=endpoint.secret)
    now = timezone.now()
    retry = retry and message.type != PING
    wait = next_attempt_in(attempt, outcome.retry_after) if retry and not outcome.succeeded else None
    if outcome.status_code == 410:
        wait = None
    with transaction.atomic():
        if not WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).exists():
            return None  # deleted during the request: nothing to log against
        logged = {"status_code": outcome.status_code, "duration_ms": outcome.duration_ms, "error": outcome.error}
        delivery, created = WebhookDelivery.objects.get_or_create(
            message=message,
            endpoint=endpoint,
            attempt=attempt,
            defaults={"at": now, "next_attempt_at": now + wait if wait else None, **logged},
        )
        if not created:
            return delivery  # a second run of this attempt raced the first: its log and follow-up stand
        if wait:
            next_attempt = dict(message_id=message_id, endpoint_id=endpoint_id, attempt=attempt + 1)
            defer(job(tasks.deliver_webhook, schedule_at=now + wait, **next_attempt))
        elif outcome.status_code == 410:
            _disable(endpoint, f"The receiver answered 410 Gone at {iso_z(now)}.")
        elif retry and not outcome.succeeded:
            _disable(endpoint, f"All {attempt} attempts failed; the last at {iso_z(now)}: {outcome.error}")
    return delivery


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    model_update(instance=endpoint, data={"is_active": False, "disabled_reason": reason[:500]})


def webhook_delivery_resend(*, delivery: WebhookDelivery) -> None:
    """Staff's "send again": one more attempt of the delivery's message to its endpoint, through the queue."""
    last = WebhookDelivery.objects.filter(message_id=delivery.message_id, endpoint_id=delivery.endpoint_id)
    attempt = (last.order_by("-attempt").values_list("attempt", flat=True).first() or 0) + 1
    endpoint = {"message_id": delivery.message_id, "endpoint_id": delivery.endpoint_id}
    defer(job(tasks.deliver_webhook, **endpoint, attempt=attempt, retry=False))


# --- Endpoints (the /webhooks API and the admin) ------------------------------------------------


def webhook_endpoint_create(*, url: str, events: list[str] | None = None, description: str = "", is_active=True):
    """A new endpoint with a fresh secret; its URL must be allowed (``notifications.webhooks.resolve``)."""
    resolve(url)
    return WebhookEndpoint.objects.create(
        url=url, events=sorted(set(events or [])), description=description, is_active=is_active
    )


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    """Change the given fields; a new URL is checked again, and turning an endpoint on clears why it was off."""
    if "url" in changes:
        resolve(changes["url"])
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    if changes.get("is_active"):
        changes["disabled_reason"] = ""
    model_update(instance=endpoint, data=changes)
    return endpoint


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret; messages signed from now on use it (an attempt already running keeps the old one)."""
    model_update(instance=endpoint, data={"secret": new_secret()})
    return endpoint


@transaction.atomic
def webhook_endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookMessage:
    """A ``ping`` message to ``endpoint`` alone, whatever its ``events`` (and whether it is active)."""
    (ping,) = _webhook_jobs(PING, {"endpoint_id": endpoint.pk}, at=timezone.now(), endpoints=[endpoint])
    defer(ping)
    return WebhookMessage.objects.get(pk=ping.task_kwargs["message_id"])


def webhook_delivery_log_purge(*, now: datetime | None = None) -> int:
    """Delete delivery log rows, messages left without any, and dispatch claims older than ``WEBHOOK_LOG_DAYS``."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_LOG_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(at__lt=cutoff).delete()
    WebhookMessage.objects.filter(created_at__lt=cutoff, deliveries__isnull=True).delete()
    Dispatch.objects.filter(at__lt=cutoff).delete()  # their jobs are long done: nothing runs them again
    with connection.cursor() as cursor:  # failed jobs stay for a look, as long as the log (their args name bookings)
        cursor.execute(FAILED_JOBS_PURGE, [cutoff])
    return deleted


FAILED_JOBS_PURGE = """
DELETE FROM procrastinate_jobs j WHERE j.status IN ('failed', 'cancelled', 'aborted')
AND NOT EXISTS (SELECT FROM procrastinate_events e WHERE e.job_id = j.id AND e.at >= %s)
"""

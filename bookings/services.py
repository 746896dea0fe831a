"""Booking operations. The API, the admin and the management commands all write through here.

Each operation checks the rules (``bookings.rules``) and writes through
``bookings.writes``, where the exclusion constraint judges double booking
(writes that count rows, and every change of an existing booking, under the
service's advisory lock) and the change's history event is written in the
same transaction. ``actor`` is who asks: staff (``is_staff``) may skip
the notice, horizon, cap and cancellation cutoff; ``None`` is the system.
"""

import functools
import secrets
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import F, ProtectedError, QuerySet
from django.utils import timezone

from bookings import history, rules, selectors
from bookings.calendar import token_digest
from bookings.models import Booking, BookingEvent, BookingSeries, CalendarFeed
from bookings.writes import Placement, locked_copy, write_booking
from bookit.domain_errors import ConflictError, DomainError
from catalog.models import Service
from catalog.schedule import Schedule, local_instant

Status = Booking.Status
Action = BookingEvent.Action


def _is_staff(actor) -> bool:
    return bool(actor is not None and actor.is_staff)


def _actor_id(actor) -> int | None:
    return actor.pk if actor is not None else None


def booking_create(
    *,
    user,
    service: Service,
    start_time: datetime,
    end_time: datetime | None = None,
    resource_id: int | None = None,
    notes: str = "",
    actor=None,
    now: datetime | None = None,
    series: BookingSeries | None = None,
) -> Booking:
    """Book ``service`` for ``user``: in the future, on an active service, inside its policy, starting as pending.

    ``end_time`` defaults to ``start_time + service.duration_minutes``. The
    policy (``bookings.rules.check_period``) holds for everyone but notice and
    horizon, which a staff ``actor`` may skip, as they may the per-user cap.
    The booking keeps the service's buffer free after its end. It goes on
    resource ``resource_id``, or on any available one (``place``): a resource
    that delivers the service, works then and is free, the fairest first. A
    group session's booking (capacity above 1) starts on the slot grid and
    takes the lowest free seat. ``series``: the recurring booking it is an
    occurrence of (``bookings.series``).
    """
    now = now or timezone.now()
    staff = _is_staff(actor)
    rules.check_bookable(service)
    end_time = end_time or rules.end_after(start_time, timedelta(minutes=service.duration_minutes))
    rules.check_times(start_time, end_time, now=now)
    schedule = Schedule.of(service)
    rules.check_period(service, schedule, start_time, end_time, now=now, by_staff=staff)
    rules.check_session(service, schedule, start_time, end_time)
    booking = Booking(
        user=user,
        service=service,
        start_time=start_time,
        end_time=end_time,
        notes=notes,
        buffer_minutes=service.buffer_minutes,
        series=series,
    )
    placement = place(service, schedule, start_time, end_time, resource_id=resource_id)
    cap = None if staff else service.max_active_bookings_per_user
    as_unknown = not staff  # a customer is told an inactive service is unknown (the catalog hides it)
    write = functools.partial(
        write_booking, booking, action=Action.CREATED, actor_id=_actor_id(actor), placement=placement
    )
    if cap is None:
        # Nothing to count: one statement, which also holds the service active until it commits.
        return write(still_bookable=functools.partial(rules.check_still_bookable, service, as_unknown=as_unknown))

    def check() -> None:  # under the service's lock, just before the INSERT
        rules.check_still_bookable(service, as_unknown=as_unknown)
        rules.check_active_cap(user, service, cap, now=now)

    return write(check=check)


def place(
    service: Service,
    schedule: Schedule,
    start: datetime,
    end: datetime,
    *,
    resource_id: int | None = None,
    keep: int | None = None,
) -> Placement:
    """Where a booking of ``[start, end)`` may go: the resources that deliver ``service`` and work then
    (``rules.working_resources``), with ``keep`` (a moved booking's resource) tried first when it qualifies.

    Fairness counts bookings on the start's local date in the service's zone.
    """
    resources = [resource.id for resource in rules.working_resources(service, start, end, resource_id=resource_id)]
    keep_first = keep in resources and len(resources) > 1
    if keep_first:
        resources.remove(keep)
        resources.insert(0, keep)
    day = start.astimezone(schedule.zone).date()
    bounds = (
        local_instant(day, time(0), schedule.zone),
        local_instant(day + timedelta(days=1), time(0), schedule.zone),
    )
    return Placement(tuple(resources), bounds, capacity=service.capacity, keep_first=keep_first)


@transaction.atomic
def booking_reschedule(
    *,
    booking: Booking,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    resource_id: int | None = None,
    actor=None,
    now: datetime | None = None,
) -> Booking:
    """Move a pending or confirmed booking that has not started, on an active service, to a new period.

    Moving only ``start_time`` keeps the booking's length; the new period meets
    the service's policy and the same exclusion constraint as a new booking,
    with the service's current buffer. It stays on its resource when that is
    free then, else moves to another the way a new booking is placed (or to
    ``resource_id``). Owners cannot move a booking inside the
    cancellation cutoff; staff can. A moved confirmed booking is pending
    again: staff confirmed the old time, not the new one.
    """
    now = now or timezone.now()
    staff = _is_staff(actor)
    booking = locked_copy(booking)
    service = booking.service
    rules.check_changeable(booking, now=now, action="rescheduled")
    rules.check_bookable(service)
    rules.check_cancellation_cutoff(service, booking.start_time, now=now, by_staff=staff)
    new_start = start_time or booking.start_time
    new_end = end_time or rules.end_after(new_start, booking.end_time - booking.start_time)
    rules.check_times(new_start, new_end, now=now)
    schedule = Schedule.of(service)
    rules.check_period(service, schedule, new_start, new_end, now=now, by_staff=staff)
    rules.check_session(service, schedule, new_start, new_end)
    placement = place(service, schedule, new_start, new_end, resource_id=resource_id, keep=booking.resource_id)
    changes = {
        "start_time": new_start,
        "end_time": new_end,
        "status": Status.PENDING,
        "buffer_minutes": service.buffer_minutes,
        "sequence": booking.sequence + 1,
    }
    check = functools.partial(rules.check_still_bookable, service, as_unknown=False)  # under the lock
    return write_booking(
        booking, changes, action=Action.RESCHEDULED, actor_id=_actor_id(actor), placement=placement, check=check
    )


@transaction.atomic
def booking_edit_notes(*, booking: Booking, notes: str, actor=None) -> Booking:
    """Change the notes of a booking that is not cancelled or completed (started ones too)."""
    booking = locked_copy(booking)
    if booking.is_final:
        raise ConflictError(f"A {booking.status} booking cannot be changed.", code="booking_final")
    return write_booking(booking, {"notes": notes}, action=Action.NOTES_CHANGED, actor_id=_actor_id(actor))


@transaction.atomic
def booking_apply_changes(
    *,
    booking: Booking,
    actor,
    cancel: bool = False,
    reason: str | None = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    resource_id: int | None = None,
    notes: str | None = None,
) -> Booking:
    """One ``PATCH /bookings/{id}``: reschedule and/or edit notes, or cancel; all or nothing."""
    moving = start_time is not None or end_time is not None or resource_id is not None
    if cancel and moving:
        raise DomainError("Cancel or reschedule, not both in one request.", code="cancel_and_move")
    rules.check_cancellation_reason(cancelling=cancel, reason=reason)
    if moving:
        booking = booking_reschedule(
            booking=booking, start_time=start_time, end_time=end_time, resource_id=resource_id, actor=actor
        )
    if notes is not None:
        booking = booking_edit_notes(booking=booking, notes=notes, actor=actor)
    if cancel:
        booking = booking_cancel(booking=booking, reason=reason or "", actor=actor)
    return booking


@transaction.atomic
def booking_cancel(*, booking: Booking, reason: str = "", actor=None, now: datetime | None = None) -> Booking:
    """Cancel a pending or confirmed booking that has not started; its slot is free again.

    Owners cannot cancel inside the service's cancellation cutoff; staff can.
    """
    now = now or timezone.now()
    booking = locked_copy(booking)
    rules.check_cancellable(booking, now=now, by_staff=_is_staff(actor))
    return _move_status(booking, Status.CANCELLED, reason=reason, now=now, actor=actor)


@transaction.atomic
def booking_set_status(
    *, booking: Booking, status: str, reason: str = "", actor=None, now: datetime | None = None
) -> Booking:
    """Move a booking along the workflow (staff).

    pending -> confirmed | cancelled; confirmed -> completed | cancelled;
    cancelled and completed are final. ``completed`` only once the booking has ended.
    """
    booking = locked_copy(booking)
    return _move_status(booking, status, reason=reason, now=now or timezone.now(), actor=actor)


def _move_status(booking: Booking, status: str, *, reason: str, now: datetime, actor) -> Booking:
    rules.check_cancellation_reason(cancelling=status == Status.CANCELLED, reason=reason)
    if not booking.can_move_to(status):
        raise ConflictError(f"A {booking.status} booking cannot become {status}.", code="invalid_transition")
    if status == Status.COMPLETED and booking.end_time > now:
        raise ConflictError("A booking can be completed only after it has ended.", code="not_ended")
    changes = {"status": status}
    action = Action.STATUS_CHANGED
    if status == Status.CANCELLED:
        changes.update(cancelled_at=now, cancellation_reason=reason, sequence=booking.sequence + 1)
        action = Action.CANCELLED
    return write_booking(booking, changes, action=action, actor_id=_actor_id(actor))


@transaction.atomic
def booking_delete(*, booking: Booking, actor=None, now: datetime | None = None) -> None:
    """Delete a booking; its history stays. Staff delete any booking without a review.

    Owners delete a cancelled booking (it holds no slot, so no rule of time
    applies) or a pending one on a cancellation's terms (``rules.check_cancellable``):
    not started, outside the cancellation cutoff. Deleting a pending booking
    frees its slot as cancelling it does, so it cannot be a way round the cutoff.
    """
    now = now or timezone.now()
    staff = _is_staff(actor)
    booking = locked_copy(booking)
    if not staff:
        if booking.status not in (Status.PENDING, Status.CANCELLED):
            raise ConflictError(
                f"A {booking.status} booking cannot be deleted; only pending or cancelled ones can.",
                code="booking_not_deletable",
            )
        if booking.status == Status.PENDING:
            rules.check_cancellable(booking, now=now, by_staff=False, action="deleted")
    before, pk = history.snapshot(booking), booking.pk
    try:
        with transaction.atomic():
            booking.delete()
    except ProtectedError as exc:
        raise ConflictError("This booking has a review and cannot be deleted.", code="booking_has_review") from exc
    booking.pk = pk  # delete() clears it; the event names the booking that was
    history.record(booking, Action.DELETED, actor_id=_actor_id(actor), before=before)


@transaction.atomic
def calendar_token_rotate(*, user) -> str:
    """A new secret token for ``user``'s calendar feed; the previous one stops working at once.

    Returns the token; only its SHA-256 is stored, so a database leak opens no feed.
    """
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(user=user, defaults={"token_hash": token_digest(token)})
    return token


def calendar_feed_end(*, user) -> bool:
    """End ``user``'s calendar feed: its URL is a 404 from now on. Whether there was one.

    Ending a feed that does not exist is no error: the caller wants none, and
    has none. A new password or a deactivation ends the feed too, in the
    database (``bookings/migrations/0008_*``).
    """
    deleted, _ = CalendarFeed.objects.filter(user=user).delete()
    return bool(deleted)


BATCH_SIZE = 5000
EXPIRED_REASON = "Not confirmed before its start time."


def _update_in_batches(bookings: QuerySet[Booking], *, action: str, **changes) -> int:
    """UPDATE the rows of ``bookings`` a batch at a time, each batch with its events in its own transaction.

    Batches keep a large backlog from holding many row locks for long. Each
    batch's rows are locked first (skipping rows another transaction holds,
    which the next run picks up), so they still match when updated; their
    events name no actor: the system made the change.
    """
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                bookings.select_for_update(of=("self",), skip_locked=True)
                .order_by("pk")
                .values_list("pk", "service_id", "user_id", "status")[:BATCH_SIZE]
            )
            if not rows:
                return total
            total += bookings.filter(pk__in=[row[0] for row in rows]).update(**changes, updated_at=timezone.now())
            shown = {name: value for name, value in changes.items() if name in history.FIELDS}
            for old_status in {row[3] for row in rows}:
                moved = [row[:3] for row in rows if row[3] == old_status]
                was = {"status": old_status, "cancellation_reason": ""}
                diff = {name: (was.get(name), value) for name, value in shown.items()}
                history.record_system_moves(moved, action=action, changes=diff)


def bookings_complete_past(*, now: datetime | None = None) -> int:
    """Confirmed bookings that have ended become completed (confirmed -> completed, only after end_time)."""
    now = now or timezone.now()
    ended = selectors.booking_list_ended_confirmed(now=now)
    return _update_in_batches(ended, action=Action.STATUS_CHANGED, status=Status.COMPLETED)


def bookings_expire_pending(*, now: datetime | None = None, reason: str = EXPIRED_REASON) -> int:
    """Pending bookings whose start has passed become cancelled with ``reason`` (pending -> cancelled)."""
    now = now or timezone.now()
    return _update_in_batches(
        selectors.booking_list_expired_pending(now=now),
        action=Action.CANCELLED,
        status=Status.CANCELLED,
        cancelled_at=now,
        cancellation_reason=reason,
        sequence=F("sequence") + 1,  # calendar apps take the cancellation
    )

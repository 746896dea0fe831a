"""Booking rules. The API, the admin and the management commands all write through here.

The database is the judge of double booking: an exclusion constraint
(``bookings_booking_no_overlap``) rejects two non-cancelled bookings of one
service whose ``[start, end)`` ranges overlap. We never pre-check with a SELECT
(two requests could both pass it); we write inside a savepoint and turn the
violation (SQLSTATE 23P01) into a ``Conflict`` that names the taken slot.
"""

from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone

from bookings import selectors
from bookings.models import Booking
from bookit.errors import Conflict, DomainError
from catalog.models import Service

EXCLUSION_VIOLATION = "23P01"
Status = Booking.Status


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _is_overlap(exc: IntegrityError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == EXCLUSION_VIOLATION


def _taken_by(booking: Booking) -> Booking | None:
    """The earliest committed, non-cancelled booking of the same service overlapping ``booking``."""
    return (
        Booking.objects.filter(
            service_id=booking.service_id, start_time__lt=booking.end_time, end_time__gt=booking.start_time
        )
        .exclude(status=Status.CANCELLED)
        .exclude(pk=booking.pk)
        .order_by("start_time")
        .first()
    )


def _overlap_conflict(booking: Booking, taken: Booking | None = None) -> Conflict:
    """Name the booking that holds the slot (it is committed, or we would not have failed)."""
    taken = taken or _taken_by(booking)
    start, end = (taken.start_time, taken.end_time) if taken else (booking.start_time, booking.end_time)
    return Conflict(f"This service is already booked between {_fmt(start)} and {_fmt(end)}.", code="booking_conflict")


def _save(booking: Booking) -> Booking:
    # Inside a transaction (a change that locked the row first, the admin's form), a
    # savepoint keeps the transaction usable after a violation. Outside one (a new
    # booking from the API), the lone INSERT is atomic by itself: wrapping it would
    # add BEGIN and COMMIT round trips and change nothing.
    try:
        with transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext():
            booking.save()
    except IntegrityError as exc:
        if _is_overlap(exc):
            raise _overlap_conflict(booking) from exc
        raise
    return booking


def _check_times(start_time: datetime, end_time: datetime, *, now: datetime) -> None:
    if start_time <= now:
        raise DomainError("A booking must start in the future.", code="start_in_past", field="start_time")
    if end_time <= start_time:
        raise DomainError("The end time must be after the start time.", code="end_before_start", field="end_time")


def _lock(booking: Booking) -> Booking:
    """Re-read the row under a lock, so two concurrent changes apply one after the other."""
    return Booking.objects.select_for_update().select_related("service").get(pk=booking.pk)


def booking_create(
    *,
    user,
    service: Service,
    start_time: datetime,
    end_time: datetime | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> Booking:
    """Book ``service`` for ``user``: in the future, on an active service, starting as pending.

    ``end_time`` defaults to ``start_time + service.duration_minutes``. Not
    wrapped in a transaction: its only write is one INSERT (see ``_save``).
    """
    now = now or timezone.now()
    if not service.is_active:
        raise DomainError("This service is not available for booking.", code="service_inactive", field="service_id")
    end_time = end_time or start_time + timedelta(minutes=service.duration_minutes)
    _check_times(start_time, end_time, now=now)
    booking = Booking(user=user, service=service, start_time=start_time, end_time=end_time, notes=notes)
    # A slot already held by a committed booking is answered at once. This is not the
    # guard (a booking committed after this read is still caught by the constraint at the
    # INSERT); it keeps a crowd asking for one taken slot from queueing on each other
    # inside the exclusion check, where PostgreSQL breaks the waits as deadlocks (503s
    # after a second each; measured with `make bench`, the all-409 scenario).
    if taken := _taken_by(booking):
        raise _overlap_conflict(booking, taken)
    return _save(booking)


def _check_changeable(booking: Booking, *, now: datetime, action: str) -> None:
    if booking.status not in (Status.PENDING, Status.CONFIRMED):
        raise Conflict(f"A {booking.status} booking cannot be {action}.", code="booking_final")
    if booking.start_time <= now:
        raise Conflict(f"This booking has already started and cannot be {action}.", code="booking_started")


@transaction.atomic
def booking_update(
    *,
    booking: Booking,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    notes: str | None = None,
    now: datetime | None = None,
) -> Booking:
    """Reschedule and/or edit notes of a pending or confirmed booking that has not started.

    Moving only ``start_time`` keeps the booking's length; the new slot is
    checked by the same exclusion constraint as a new booking.
    """
    now = now or timezone.now()
    booking = _lock(booking)
    if start_time is not None or end_time is not None:
        _check_changeable(booking, now=now, action="rescheduled")
        new_start = start_time or booking.start_time
        new_end = end_time or new_start + (booking.end_time - booking.start_time)
        _check_times(new_start, new_end, now=now)
        booking.start_time, booking.end_time = new_start, new_end
    if notes is not None:
        if booking.is_final:
            raise Conflict(f"A {booking.status} booking cannot be changed.", code="booking_final")
        booking.notes = notes
    return _save(booking)


@transaction.atomic
def booking_cancel(*, booking: Booking, reason: str = "", now: datetime | None = None) -> Booking:
    """Cancel a pending or confirmed booking that has not started; its slot is free again."""
    now = now or timezone.now()
    booking = _lock(booking)
    _check_changeable(booking, now=now, action="cancelled")
    return _set_status(booking, Status.CANCELLED, reason=reason, now=now)


@transaction.atomic
def booking_set_status(*, booking: Booking, status: str, reason: str = "", now: datetime | None = None) -> Booking:
    """Move a booking along the workflow (staff).

    pending -> confirmed | cancelled; confirmed -> completed | cancelled;
    cancelled and completed are final. ``completed`` only once the booking has ended.
    """
    booking = _lock(booking)
    return _set_status(booking, status, reason=reason, now=now or timezone.now())


def _set_status(booking: Booking, status: str, *, reason: str, now: datetime) -> Booking:
    if not booking.can_move_to(status):
        raise Conflict(f"A {booking.status} booking cannot become {status}.", code="invalid_transition")
    if status == Status.COMPLETED and booking.end_time > now:
        raise Conflict("A booking can be completed only after it has ended.", code="not_ended")
    booking.status = status
    if status == Status.CANCELLED:
        booking.cancelled_at = now
        booking.cancellation_reason = reason
    return _save(booking)


@transaction.atomic
def booking_delete(*, booking: Booking, by_staff: bool) -> None:
    """Owners may delete pending or cancelled bookings; staff any booking without a review."""
    booking = _lock(booking)
    if not by_staff and booking.status not in (Status.PENDING, Status.CANCELLED):
        raise Conflict(
            f"A {booking.status} booking cannot be deleted; only pending or cancelled ones can.",
            code="booking_not_deletable",
        )
    try:
        booking.delete()
    except ProtectedError as exc:
        raise Conflict("This booking has a review and cannot be deleted.", code="booking_has_review") from exc


BATCH_SIZE = 5000
EXPIRED_REASON = "Not confirmed before its start time."


def _update_in_batches(bookings: QuerySet[Booking], **changes) -> int:
    """UPDATE the rows of ``bookings`` a batch at a time, each batch its own transaction; returns the count.

    Batches keep a large backlog from holding many row locks for long. The
    UPDATE repeats the queryset's conditions, and PostgreSQL re-checks them on
    a row another transaction changed meanwhile, so a booking cancelled in
    between is left alone.
    """
    total = 0
    while ids := list(bookings.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE]):
        total += bookings.filter(pk__in=ids).update(**changes)
    return total


def bookings_complete_past(*, now: datetime | None = None) -> int:
    """Confirmed bookings that have ended become completed (confirmed -> completed, only after end_time)."""
    now = now or timezone.now()
    return _update_in_batches(
        selectors.booking_list_ended_confirmed(now=now), status=Status.COMPLETED, updated_at=timezone.now()
    )


def bookings_expire_pending(*, now: datetime | None = None, reason: str = EXPIRED_REASON) -> int:
    """Pending bookings whose start has passed become cancelled with ``reason`` (pending -> cancelled)."""
    now = now or timezone.now()
    return _update_in_batches(
        selectors.booking_list_expired_pending(now=now),
        status=Status.CANCELLED,
        cancelled_at=now,
        cancellation_reason=reason,
        updated_at=timezone.now(),
    )

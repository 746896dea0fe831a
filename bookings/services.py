"""Booking rules. The API, the admin and the management commands all write through here.

The database is the judge of double booking: an exclusion constraint
(``bookings_booking_no_overlap``) rejects two non-cancelled bookings of one
service whose ``[start, end)`` ranges overlap. We never pre-check with a SELECT
(two requests could both pass it); we write inside a transaction (a savepoint
when nested) and turn the violation (SQLSTATE 23P01) into a ``ConflictError`` that
names the taken slot.

Writers of one service queue on a transaction-level advisory lock before they
write. Without it, concurrent inserts of overlapping periods find each other's
uncommitted index entries inside the exclusion check and wait for each other;
PostgreSQL breaks such waits as deadlocks only after ``deadlock_timeout`` (1 s).
The lock decides nothing: it only orders the writers, and the constraint still
judges each write.
"""

import contextlib
import re
from datetime import datetime, timedelta

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone

from bookings import selectors
from bookings.models import Booking
from bookit.db.sqlstate import DEADLOCK_DETECTED, EXCLUSION_VIOLATION, sqlstate
from bookit.db.updates import model_update
from bookit.domain_errors import ConflictError, DomainError, NotFoundError
from bookit.utc import iso_z
from catalog.models import Service

Status = Booking.Status
# First key of pg_advisory_xact_lock(namespace, hashint8(service_id)): "BK" in ASCII.
LOCK_NAMESPACE = 0x424B


# PostgreSQL's DETAIL of an exclusion violation names the row it clashed with:
# ... conflicts with existing key (service_id, tstzrange(...))=(7, ["2030-01-01 10:00:00+00","2030-01-01 11:00:00+00")).
EXISTING_PERIOD = re.compile(r'conflicts with existing key \(.*\)=\(\d+, \["?([^",]+)"?,"?([^",)]+)"?\)\)')


def _taken_period(exc: IntegrityError, booking: Booking) -> tuple[datetime, datetime]:
    """The period of the booking that holds the slot: from the error itself, no extra query."""
    found = EXISTING_PERIOD.search(getattr(getattr(exc.__cause__, "diag", None), "message_detail", None) or "")
    if found:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(found[1]), datetime.fromisoformat(found[2])
    taken = (  # an unexpected DETAIL: ask the database (the holder is committed, or we would not have failed)
        Booking.objects.filter(
            service_id=booking.service_id, start_time__lt=booking.end_time, end_time__gt=booking.start_time
        )
        .exclude(status=Status.CANCELLED)
        .exclude(pk=booking.pk)
        .order_by("start_time")
        .first()
    )
    return (taken.start_time, taken.end_time) if taken else (booking.start_time, booking.end_time)


def _overlap_conflict(exc: IntegrityError, booking: Booking) -> ConflictError:
    start, end = _taken_period(exc, booking)
    return ConflictError(
        f"This service is already booked between {iso_z(start)} and {iso_z(end)}.", code="booking_conflict"
    )


def _write_under_service_lock(booking: Booking, changes: dict | None = None, *, attempts: int = 3) -> Booking:
    """INSERT ``booking`` (``changes`` None) or UPDATE the columns in ``changes``, under the service's lock.

    The write runs in a transaction (a savepoint when nested) after the
    service's advisory lock. An overlap becomes a ``ConflictError``. Should
    PostgreSQL still abort the write with ``deadlock_detected`` (a status change
    racing a write it does not queue behind), rolling back releases its locks
    and the retry sees the winner committed: a clean 409 instead of an error.
    """
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, hashint8(%s))", [LOCK_NAMESPACE, booking.service_id]
                    )
                if changes is None:
                    booking.save(force_insert=True)
                else:
                    model_update(instance=booking, data=changes, validate=False)
            return booking
        except IntegrityError as exc:
            if sqlstate(exc) == EXCLUSION_VIOLATION:
                raise _overlap_conflict(exc, booking) from exc
            raise
        except OperationalError as exc:
            if sqlstate(exc) != DEADLOCK_DETECTED or attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _locked_copy(booking: Booking) -> Booking:
    """A fresh copy of ``booking``'s row, locked (FOR UPDATE) until the transaction ends.

    Two concurrent changes of one booking then apply one after the other, each
    to what the other left. A booking deleted meanwhile is a ``NotFoundError``.
    """
    try:
        return Booking.objects.select_for_update(of=("self",)).select_related("service").get(pk=booking.pk)
    except Booking.DoesNotExist:
        raise NotFoundError("This booking no longer exists.") from None


def _end(start_time: datetime, length: timedelta) -> datetime:
    try:
        return start_time + length
    except OverflowError:
        raise DomainError(
            "This booking would end after the year 9999.", code="out_of_range", field="end_time"
        ) from None


def _check_times(start_time: datetime, end_time: datetime, *, now: datetime) -> None:
    if start_time <= now:
        raise DomainError("A booking must start in the future.", code="start_in_past", field="start_time")
    if end_time <= start_time:
        raise DomainError("The end time must be after the start time.", code="end_before_start", field="end_time")


def check_bookable(service: Service) -> None:
    """Only an active service takes a new booking or a move of an existing one.

    A 409 on both paths: the request itself is sound; it clashes with the
    service's current state (staff may reactivate it), as a taken slot does.
    """
    if not service.is_active:
        raise ConflictError(
            "This service is not available for booking; its bookings cannot be made or moved.",
            code="service_inactive",
            field="service_id",
        )


def check_cancellation_reason(*, cancelling: bool, reason: str | None) -> None:
    """A cancellation reason is given only when cancelling (the API, the admin form and its actions)."""
    if reason and not cancelling:
        raise DomainError(
            "A reason is given only when cancelling.", code="reason_without_cancel", field="cancellation_reason"
        )


def _check_changeable(booking: Booking, *, now: datetime, action: str) -> None:
    if booking.status not in (Status.PENDING, Status.CONFIRMED):
        raise ConflictError(f"A {booking.status} booking cannot be {action}.", code="booking_final")
    if booking.start_time <= now:
        raise ConflictError(f"This booking has already started and cannot be {action}.", code="booking_started")


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

    ``end_time`` defaults to ``start_time + service.duration_minutes``. Its one
    write is ``_write_under_service_lock``'s transaction; the conflict message is read after it.
    """
    now = now or timezone.now()
    check_bookable(service)
    end_time = end_time or _end(start_time, timedelta(minutes=service.duration_minutes))
    _check_times(start_time, end_time, now=now)
    booking = Booking(user=user, service=service, start_time=start_time, end_time=end_time, notes=notes)
    return _write_under_service_lock(booking)


@transaction.atomic
def booking_reschedule(
    *,
    booking: Booking,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    now: datetime | None = None,
) -> Booking:
    """Move a pending or confirmed booking that has not started, on an active service, to a new period.

    Moving only ``start_time`` keeps the booking's length; the new slot is
    judged by the same exclusion constraint as a new booking. A moved
    confirmed booking is pending again: staff confirmed the old time, not the new one.
    """
    now = now or timezone.now()
    booking = _locked_copy(booking)
    _check_changeable(booking, now=now, action="rescheduled")
    check_bookable(booking.service)
    new_start = start_time or booking.start_time
    new_end = end_time or _end(new_start, booking.end_time - booking.start_time)
    _check_times(new_start, new_end, now=now)
    changes = {"start_time": new_start, "end_time": new_end, "status": Status.PENDING}
    return _write_under_service_lock(booking, changes)


@transaction.atomic
def booking_edit_notes(*, booking: Booking, notes: str) -> Booking:
    """Change the notes of a booking that is not cancelled or completed (started ones too)."""
    booking = _locked_copy(booking)
    if booking.is_final:
        raise ConflictError(f"A {booking.status} booking cannot be changed.", code="booking_final")
    return _write_under_service_lock(booking, {"notes": notes})


@transaction.atomic
def booking_change_by_owner(
    *,
    booking: Booking,
    cancel: bool = False,
    reason: str | None = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    notes: str | None = None,
) -> Booking:
    """The owner's one request (``PATCH /bookings/{id}``): reschedule and/or edit notes, or cancel; all or nothing."""
    if cancel and (start_time is not None or end_time is not None):
        raise DomainError("Cancel or reschedule, not both in one request.", code="cancel_and_move")
    check_cancellation_reason(cancelling=cancel, reason=reason)
    if start_time is not None or end_time is not None:
        booking = booking_reschedule(booking=booking, start_time=start_time, end_time=end_time)
    if notes is not None:
        booking = booking_edit_notes(booking=booking, notes=notes)
    if cancel:
        booking = booking_cancel(booking=booking, reason=reason or "")
    return booking


@transaction.atomic
def booking_cancel(*, booking: Booking, reason: str = "", now: datetime | None = None) -> Booking:
    """Cancel a pending or confirmed booking that has not started; its slot is free again."""
    now = now or timezone.now()
    booking = _locked_copy(booking)
    _check_changeable(booking, now=now, action="cancelled")
    return _move_status(booking, Status.CANCELLED, reason=reason, now=now)


@transaction.atomic
def booking_set_status(*, booking: Booking, status: str, reason: str = "", now: datetime | None = None) -> Booking:
    """Move a booking along the workflow (staff).

    pending -> confirmed | cancelled; confirmed -> completed | cancelled;
    cancelled and completed are final. ``completed`` only once the booking has ended.
    """
    booking = _locked_copy(booking)
    return _move_status(booking, status, reason=reason, now=now or timezone.now())


def _move_status(booking: Booking, status: str, *, reason: str, now: datetime) -> Booking:
    check_cancellation_reason(cancelling=status == Status.CANCELLED, reason=reason)
    if not booking.can_move_to(status):
        raise ConflictError(f"A {booking.status} booking cannot become {status}.", code="invalid_transition")
    if status == Status.COMPLETED and booking.end_time > now:
        raise ConflictError("A booking can be completed only after it has ended.", code="not_ended")
    changes = {"status": status}
    if status == Status.CANCELLED:
        changes.update(cancelled_at=now, cancellation_reason=reason)
    return _write_under_service_lock(booking, changes)


@transaction.atomic
def booking_delete(*, booking: Booking, by_staff: bool) -> None:
    """Owners may delete pending or cancelled bookings; staff any booking without a review."""
    booking = _locked_copy(booking)
    if not by_staff and booking.status not in (Status.PENDING, Status.CANCELLED):
        raise ConflictError(
            f"A {booking.status} booking cannot be deleted; only pending or cancelled ones can.",
            code="booking_not_deletable",
        )
    try:
        booking.delete()
    except ProtectedError as exc:
        raise ConflictError("This booking has a review and cannot be deleted.", code="booking_has_review") from exc


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

"""How a booking row is written: under its service's advisory lock, judged by the exclusion constraint.

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
from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, OperationalError, connection, transaction

from bookings import history
from bookings.models import Booking
from bookit.db.sqlstate import DEADLOCK_DETECTED, EXCLUSION_VIOLATION, sqlstate
from bookit.db.updates import model_update
from bookit.domain_errors import ConflictError, NotFoundError
from bookit.utc import iso_z

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


def write_under_service_lock(
    booking: Booking,
    changes: dict | None = None,
    *,
    action: str,
    actor_id: int | None,
    check: Callable[[], None] | None = None,
    attempts: int = 3,
) -> Booking:
    """INSERT ``booking`` (``changes`` None) or UPDATE the columns in ``changes``, under the service's lock.

    The write and its history event (``action`` by ``actor_id``, None for the
    system) run in one transaction (a savepoint when nested) after the
    service's advisory lock; ``check`` runs under the lock just before it, so a
    rule that counts rows (the per-user cap) sees every earlier writer's
    committed result and no later one. An overlap becomes a ``ConflictError``. Should
    PostgreSQL still abort the write with ``deadlock_detected`` (a status change
    racing a write it does not queue behind), rolling back releases its locks
    and the retry sees the winner committed: a clean 409 instead of an error.
    """
    before = None if changes is None else history.snapshot(booking)
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, hashint8(%s))", [LOCK_NAMESPACE, booking.service_id]
                    )
                if check is not None:
                    check()
                if changes is None:
                    booking.save(force_insert=True)
                else:
                    model_update(instance=booking, data=changes, validate=False)
                history.record(booking, action, actor_id=actor_id, before=before)
            return booking
        except IntegrityError as exc:
            if sqlstate(exc) == EXCLUSION_VIOLATION:
                raise _overlap_conflict(exc, booking) from exc
            raise
        except OperationalError as exc:
            if sqlstate(exc) != DEADLOCK_DETECTED or attempt == attempts:
                raise
    raise AssertionError("unreachable")


def locked_copy(booking: Booking) -> Booking:
    """A fresh copy of ``booking``'s row, locked (FOR UPDATE) until the transaction ends.

    Two concurrent changes of one booking then apply one after the other, each
    to what the other left. A booking deleted meanwhile is a ``NotFoundError``.
    """
    try:
        return Booking.objects.select_for_update(of=("self",)).select_related("service").get(pk=booking.pk)
    except Booking.DoesNotExist:
        raise NotFoundError("This booking no longer exists.") from None

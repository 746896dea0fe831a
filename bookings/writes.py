"""How a booking row is written: judged by the exclusion constraint, never by a SELECT before it.

The database is the judge of double booking: an exclusion constraint
(``bookings_booking_no_overlap``) rejects two non-cancelled bookings of one
service whose ``[start, end)`` ranges overlap. We never pre-check with a SELECT
(two requests could both pass it); the write itself finds out.

A new booking is one statement: ``INSERT ... ON CONFLICT DO NOTHING`` (which
PostgreSQL applies to exclusion constraints too) and its history event,
inserted from the same statement's ``RETURNING``, so both commit together or
not at all. No row back means the slot is taken; the same statement reads the
holder's period for the 409's message. Speculative insertion is what makes
this safe under load: concurrent inserters of overlapping periods do not wait
on each other's uncommitted index entries until PostgreSQL breaks the wait as
a deadlock (after ``deadlock_timeout``, 1 s), as plain INSERTs do; one wins,
the others see the winner and insert nothing. One round trip, no transaction
to open and close, no exception, no savepoint.

Every other write (moves, notes, status changes, and a new booking under a
rule that counts rows, the per-user cap) runs in a transaction (a savepoint
when nested) that first takes the service's advisory lock: writers of one
service queue there instead of deadlocking in the index, and the counting rule
sees every earlier writer's committed result and no later one. The lock
decides nothing: the constraint still judges each write, and its violation
(SQLSTATE 23P01) becomes a ``ConflictError`` that names the taken slot.
"""

import contextlib
import functools
import re
from collections.abc import Callable
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, IntegrityError, OperationalError, connection, connections, transaction

from bookings import history
from bookings.models import Booking, BookingEvent
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


def _taken_period(exc: IntegrityError | None, booking: Booking) -> tuple[datetime, datetime]:
    """The period of the booking that holds the slot: from the error itself, no extra query."""
    cause = exc.__cause__ if exc is not None else None
    found = EXISTING_PERIOD.search(getattr(getattr(cause, "diag", None), "message_detail", None) or "")
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
    return _conflict(*_taken_period(exc, booking))


def _conflict(start: datetime, end: datetime) -> ConflictError:
    return ConflictError(
        f"This service is already booked between {iso_z(start)} and {iso_z(end)}.", code="booking_conflict"
    )


def write_booking(
    booking: Booking,
    changes: dict | None = None,
    *,
    action: str,
    actor_id: int | None,
    check: Callable[[], None] | None = None,
    still_bookable: Callable[..., None] | None = None,
    attempts: int = 3,
) -> Booking:
    """INSERT ``booking`` (``changes`` None) or UPDATE the columns in ``changes``, with its history event.

    The write and its event (``action`` by ``actor_id``, None for the system)
    commit together. A new booking with ``still_bookable`` (and no ``check``) is
    one speculative INSERT that holds its service while the service is active;
    ``still_bookable(active=False)`` raises the answer when it is not. Anything
    else runs under the service's advisory lock, ``check`` just before the
    write, so a rule that counts rows (the per-user cap) sees every earlier
    writer's committed result and no later one. An overlap becomes a
    ``ConflictError``. Should PostgreSQL still abort the write with
    ``deadlock_detected`` (a status change racing a write it does not queue
    behind), rolling back releases its locks and the retry sees the winner
    committed: a clean 409 instead of an error.
    """
    before = None if changes is None else history.snapshot(booking)
    for attempt in range(1, attempts + 1):
        try:
            if changes is None and check is None and still_bookable is not None:
                _insert_with_event(booking, action=action, actor_id=actor_id, still_bookable=still_bookable)
                return booking
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


def _insert_fields(model) -> list:
    """The concrete fields an INSERT of ``model`` writes: all but the primary key (an event's booking_id
    comes from the booking's INSERT)."""
    return [field for field in model._meta.concrete_fields if not field.primary_key and field.attname != "booking_id"]


def _values(instance, db) -> list:
    """The INSERT's values of ``instance``, as Django would save them (``auto_now`` times set now)."""
    return [field.get_db_prep_save(field.pre_save(instance, True), db) for field in _FIELDS[type(instance)]]


# The booking and its event in one statement, if the service is active: the share lock on its
# row makes a deactivation wait for this statement's transaction, and one that committed first
# is seen (READ COMMITTED re-checks a locked row's latest version); concurrent bookers share it.
# Then the holder of the slot when nothing was inserted
# (read with the statement's snapshot: a holder that committed while we waited on it is not
# seen, and _taken_period asks again). The holder is found through the constraint's GiST index
# on the period: `service_id + 0` and `start_time + interval '0'` keep PostgreSQL off the
# btree indexes on service_id and start_time, which it otherwise walks (it underestimates how
# few rows overlap one slot): 50,000 rows of the service, or every booking from the oldest,
# 60-400 ms at a million bookings instead of 1 ms.
INSERT_WITH_EVENT = """
WITH service AS (
    SELECT id FROM catalog_service WHERE id = %s AND is_active FOR SHARE
), booking AS (
    INSERT INTO bookings_booking ({booking_columns}) SELECT {booking_values} FROM service
    ON CONFLICT DO NOTHING
    RETURNING id
), event AS (
    INSERT INTO bookings_bookingevent (booking_id, {event_columns})
    SELECT id, {event_values} FROM booking
)
SELECT EXISTS (SELECT FROM service), (SELECT id FROM booking), holder.start_time, holder.blocked_until
FROM (SELECT 1) AS one LEFT JOIN LATERAL (
    SELECT start_time, bookings_blocked_until(end_time, buffer_minutes) AS blocked_until
    FROM bookings_booking
    WHERE service_id + 0 = %s AND status <> 'cancelled'
      AND tstzrange(start_time, bookings_blocked_until(end_time, buffer_minutes), '[)')
       && tstzrange(%s, bookings_blocked_until(%s, %s), '[)')
      AND NOT EXISTS (SELECT FROM booking)
    ORDER BY start_time + interval '0'
    LIMIT 1
) AS holder ON true
"""


_FIELDS = {Booking: _insert_fields(Booking), BookingEvent: _insert_fields(BookingEvent)}


@functools.cache
def _insert_sql() -> str:
    columns = {
        model: ", ".join(connections[DEFAULT_DB_ALIAS].ops.quote_name(field.column) for field in fields)
        for model, fields in _FIELDS.items()
    }
    return INSERT_WITH_EVENT.format(
        booking_columns=columns[Booking],
        booking_values=", ".join(["%s"] * len(_FIELDS[Booking])),
        event_columns=columns[BookingEvent],
        event_values=", ".join(["%s"] * len(_FIELDS[BookingEvent])),
    )


def _insert_with_event(booking: Booking, *, action: str, actor_id: int | None, still_bookable) -> None:
    """INSERT ``booking`` and its ``action`` event in one statement, or raise the ConflictError of the taken slot
    (or ``still_bookable``'s answer for a service that is not active)."""
    db = connections[DEFAULT_DB_ALIAS]
    event = history.event_of(booking, action, actor_id=actor_id, before=None)
    params = [booking.service_id, *_values(booking, db), *_values(event, db)]
    params += [booking.service_id, booking.start_time, booking.end_time, booking.buffer_minutes]
    # One statement is its own transaction; inside a caller's, a savepoint keeps that usable after an error.
    savepoint = transaction.atomic() if db.in_atomic_block else contextlib.nullcontext()
    with savepoint, db.cursor() as cursor:
        cursor.execute(_insert_sql(), params)
        active, booking_id, holder_start, holder_end = cursor.fetchone()
    if not active:
        still_bookable(active=False)
        raise AssertionError("still_bookable(active=False) must raise")
    if booking_id is None:
        if holder_start is None:
            holder_start, holder_end = _taken_period(None, booking)
        raise _conflict(holder_start, holder_end)
    booking.pk = booking_id
    booking._state.adding = False


def locked_copy(booking: Booking) -> Booking:
    """A fresh copy of ``booking``'s row, locked (FOR UPDATE) until the transaction ends.

    Two concurrent changes of one booking then apply one after the other, each
    to what the other left. A booking deleted meanwhile is a ``NotFoundError``.
    """
    try:
        return Booking.objects.select_for_update(of=("self",)).select_related("service").get(pk=booking.pk)
    except Booking.DoesNotExist:
        raise NotFoundError("This booking no longer exists.") from None

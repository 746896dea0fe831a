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
import contextvars
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, IntegrityError, OperationalError, connection, connections, transaction

from bookings import history
from bookings.models import Booking, BookingEvent
from bookit.db.sqlstate import DEADLOCK_DETECTED, EXCLUSION_VIOLATION, UNIQUE_VIOLATION, sqlstate
from bookit.db.updates import model_update
from bookit.domain_errors import ConflictError, NotFoundError
from bookit.utc import iso_z
from catalog.models import Resource

Status = Booking.Status
# First key of pg_advisory_xact_lock(namespace, hashint8(service_id)): "BK" in ASCII.
LOCK_NAMESPACE = 0x424B


# PostgreSQL's DETAIL of an exclusion violation names the row it clashed with: ... conflicts with
# existing key (resource_id, bookings_session_key(...), tstzrange(...))
# =(7, -12, ["2030-01-01 10:00:00+00","2030-01-01 11:00:00+00")).
EXISTING_PERIOD = re.compile(r'conflicts with existing key \(.*\)=\(\d+, -?\d+, \["?([^",]+)"?,"?([^",)]+)"?\)\)')


def _taken_period(
    exc: IntegrityError | None, booking: Booking, *, resource_id: int | None = None
) -> tuple[datetime, datetime]:
    """The period of the booking that holds the slot: from the error itself, no extra query."""
    cause = exc.__cause__ if exc is not None else None
    found = EXISTING_PERIOD.search(getattr(getattr(cause, "diag", None), "message_detail", None) or "")
    if found:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(found[1]), datetime.fromisoformat(found[2])
    taken = (  # an unexpected DETAIL: ask the database (the holder is committed, or we would not have failed)
        Booking.objects.filter(
            resource_id=resource_id or booking.resource_id,
            start_time__lt=booking.end_time,
            end_time__gt=booking.start_time,
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


# Whether a new booking's one-statement INSERT inside a caller's transaction takes a savepoint.
_OWN_SAVEPOINT = contextvars.ContextVar("bookings_own_savepoint", default=True)


@contextlib.contextmanager
def in_one_transaction():
    """New bookings written inside this block share the caller's transaction without savepoints of their own.

    For a caller that rolls back as a whole on any database error (a
    recurring series): the INSERT reports a taken slot without an error (ON
    CONFLICT DO NOTHING), so its savepoint only guards errors that end the
    caller anyway, and costs two round trips per booking. A deadlock then
    propagates at once (the caller retries from the start, not the write).
    """
    token = _OWN_SAVEPOINT.set(False)
    try:
        yield
    finally:
        _OWN_SAVEPOINT.reset(token)


@dataclass(frozen=True)
class Placement:
    """Where a booking may go: ``candidates`` (resource ids, each delivering its service and working then).

    The first free one is taken: the caller's order when ``keep_first`` (a
    move stays on its resource when it can), else the fairest (fewest bookings
    that local ``day``, a ``(start, end)`` pair, then id). ``capacity`` above 1:
    a group session's seats, the lowest free one taken.
    """

    candidates: tuple[int, ...]
    day: tuple[datetime, datetime]
    capacity: int = 1
    keep_first: bool = False


def write_booking(
    booking: Booking,
    changes: dict | None = None,
    *,
    action: str,
    actor_id: int | None,
    placement: Placement | None = None,
    check: Callable[[], None] | None = None,
    still_bookable: Callable[..., None] | None = None,
    attempts: int = 3,
) -> Booking:
    """INSERT ``booking`` (``changes`` None) or UPDATE the columns in ``changes``, with its history event.

    The write and its event (``action`` by ``actor_id``, None for the system)
    commit together. With a ``placement`` (a new or moved booking) its resource
    and seat are picked in SQL (``Placement``). A new booking with
    ``still_bookable`` (and no ``check``) is one speculative INSERT that holds
    its service while the service is active; ``still_bookable(active=False)``
    raises the answer when it is not. Anything else runs under the service's
    advisory lock, ``check`` just before the write, so a rule that counts rows
    (the per-user cap) sees every earlier writer's committed result and no
    later one. An overlap becomes a ``ConflictError``. Should PostgreSQL still
    abort the write with ``deadlock_detected`` (a status change racing a write
    it does not queue behind), rolling back releases its locks and the retry
    sees the winner committed: a clean 409 instead of an error.
    """
    before = None if changes is None else history.snapshot(booking)
    for attempt in range(1, attempts + 1):
        try:
            if changes is None and check is None and still_bookable is not None:
                _insert_with_event(booking, placement, action=action, actor_id=actor_id, still_bookable=still_bookable)
                return booking
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, hashint8(%s))", [LOCK_NAMESPACE, booking.service_id]
                    )
                if check is not None:
                    check()
                if changes is None:
                    _insert_with_event(booking, placement, action=action, actor_id=actor_id)
                    return booking
                if placement is not None:
                    _update_placed(booking, changes, placement)
                else:
                    model_update(instance=booking, data=changes, validate=False)
                history.record(booking, action, actor_id=actor_id, before=before)
            return booking
        except IntegrityError as exc:
            if sqlstate(exc) == EXCLUSION_VIOLATION:
                raise _overlap_conflict(exc, booking) from exc
            raise
        except OperationalError as exc:
            if sqlstate(exc) != DEADLOCK_DETECTED or attempt == attempts or not _OWN_SAVEPOINT.get():
                raise
    raise AssertionError("unreachable")


def _insert_fields(model) -> list:
    """The concrete fields an INSERT of ``model`` writes: all but the primary key, an event's booking_id
    (from the booking's INSERT) and a booking's resource and seat (picked by the INSERT)."""
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and field.attname not in ("booking_id", "resource_id", "seat")
    ]


def _values(instance, db) -> dict:
    """The INSERT's values of ``instance`` by parameter name, as Django would save them (``auto_now`` set now)."""
    prefix = type(instance)._meta.model_name
    return {
        f"{prefix}_{field.attname}": field.get_db_prep_save(field.pre_save(instance, True), db)
        for field in _FIELDS[type(instance)]
    }


# The first free candidate resource (and seat) for [start, end + buffer): no non-cancelled booking
# of it overlaps, but a seat of the same session; in a session, the lowest seat nobody holds.
# Read with the statement's snapshot: a racer's uncommitted booking is not seen, and the INSERT's
# ON CONFLICT (or the UPDATE's constraint) finds it instead; the caller then picks again.
_PICK = """
SELECT c.id, {seat} AS seat
FROM unnest(%(candidates)s::bigint[]) WITH ORDINALITY AS c(id, ord){seats}
WHERE NOT EXISTS (
    SELECT FROM bookings_booking AS b
    WHERE b.resource_id = c.id AND b.status <> 'cancelled' AND b.id <> %(moving)s
      AND tstzrange(b.start_time, bookings_blocked_until(b.end_time, b.buffer_minutes), '[)')
       && tstzrange(%(start)s, bookings_blocked_until(%(end)s, %(buffer)s), '[)'){other_sessions}
){seat_found}
ORDER BY {order}c.id
LIMIT 1
"""
_SEATS = """
CROSS JOIN LATERAL (
    SELECT min(n) AS seat FROM generate_series(1, %(capacity)s) AS n
    WHERE NOT EXISTS (
        SELECT FROM bookings_booking AS s
        WHERE s.resource_id = c.id AND s.service_id = %(service)s AND s.start_time = %(start)s AND s.seat = n
          AND s.status <> 'cancelled' AND s.id <> %(moving)s
    )
) AS free"""
_FEWEST_THAT_DAY = """(
    SELECT count(*) FROM bookings_booking AS d
    WHERE d.resource_id = c.id AND d.status <> 'cancelled'
      AND d.start_time >= %(day_start)s AND d.start_time < %(day_end)s
), """


@functools.cache
def _pick_sql(*, seats: bool, fair: bool, keep_first: bool) -> str:
    return _PICK.format(
        seat="free.seat" if seats else "NULL::smallint",
        seats=_SEATS if seats else "",
        other_sessions=(
            "\n      AND NOT (b.seat IS NOT NULL AND b.service_id = %(service)s AND b.start_time = %(start)s)"
            if seats
            else ""
        ),
        seat_found="\n  AND free.seat IS NOT NULL" if seats else "",
        order=("c.ord > 1, " if keep_first else "") + (_FEWEST_THAT_DAY if fair else ""),
    )


def _pick_params(booking: Booking, placement: Placement, *, moving: int = 0) -> dict:
    return {
        "candidates": list(placement.candidates),
        "moving": moving,
        "start": booking.start_time,
        "end": booking.end_time,
        "buffer": booking.buffer_minutes,
        "service": booking.service_id,
        "capacity": placement.capacity,
        "day_start": placement.day[0],
        "day_end": placement.day[1],
    }


# One resource, no seats: nothing to choose. The INSERT's ON CONFLICT alone judges it, as before resources.
_THE_ONE = "SELECT (%(candidates)s::bigint[])[1] AS id, NULL::smallint AS seat"


def _is_direct(placement: Placement) -> bool:
    return len(placement.candidates) == 1 and placement.capacity == 1


def _pick_of(placement: Placement, *, insert: bool = False) -> str:
    if insert and _is_direct(placement):
        return _THE_ONE
    return _pick_sql(seats=placement.capacity > 1, fair=len(placement.candidates) > 1, keep_first=placement.keep_first)


# The booking and its event in one statement, if the service is active: the share lock on its
# row makes a deactivation wait for this statement's transaction, and one that committed first
# is seen (READ COMMITTED re-checks a locked row's latest version); concurrent bookers share it.
# The resource (and seat) is picked in the same statement (_PICK); the event's changes gain them.
# Then, when nothing was inserted and there is one candidate, the holder of the slot on it (read
# with the statement's snapshot; a holder that committed while we waited on it is not seen, and
# _taken_period asks again), found through the constraint's GiST index: `start_time + interval
# '0'` keeps PostgreSQL off the btree index on (resource_id, start_time), which it otherwise
# walks (it underestimates how few rows overlap one slot).
INSERT_WITH_EVENT = """
WITH service AS (
    SELECT id FROM catalog_service WHERE id = %(service)s AND is_active FOR SHARE
), pick AS ({pick}), booking AS (
    INSERT INTO bookings_booking ({booking_columns}, resource_id, seat)
    SELECT {booking_values}, pick.id, pick.seat FROM service, pick
    ON CONFLICT DO NOTHING
    RETURNING id, resource_id, seat
), event AS (
    INSERT INTO bookings_bookingevent (booking_id, {event_columns})
    SELECT id, {event_values} FROM booking
)
SELECT EXISTS (SELECT FROM service), EXISTS (SELECT FROM pick), booking.id, booking.resource_id, booking.seat,
    (SELECT name FROM catalog_resource WHERE id = booking.resource_id), holder.start_time, holder.blocked_until
FROM (SELECT 1) AS one LEFT JOIN booking ON true LEFT JOIN LATERAL (
    SELECT start_time, bookings_blocked_until(end_time, buffer_minutes) AS blocked_until
    FROM bookings_booking
    WHERE resource_id = (%(candidates)s::bigint[])[1] AND cardinality(%(candidates)s::bigint[]) = 1
      AND status <> 'cancelled'
      AND tstzrange(start_time, bookings_blocked_until(end_time, buffer_minutes), '[)')
       && tstzrange(%(start)s, bookings_blocked_until(%(end)s, %(buffer)s), '[)')
      AND NOT EXISTS (SELECT FROM booking)
    ORDER BY start_time + interval '0'
    LIMIT 1
) AS holder ON true
"""
# The event's changes gain the picked resource and seat, [null, after] as for every field of a new booking.
_PLACED_CHANGES = (
    "%(bookingevent_changes)s::jsonb || jsonb_build_object('resource_id', jsonb_build_array(NULL, booking.resource_id))"
    " || CASE WHEN booking.seat IS NULL THEN '{}'::jsonb"
    " ELSE jsonb_build_object('seat', jsonb_build_array(NULL, booking.seat)) END"
)


_FIELDS = {Booking: _insert_fields(Booking), BookingEvent: _insert_fields(BookingEvent)}


@functools.cache
def _insert_sql(pick: str) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = {model: ", ".join(quote(field.column) for field in fields) for model, fields in _FIELDS.items()}
    values = {
        model: ", ".join(
            _PLACED_CHANGES if field.attname == "changes" else f"%({model._meta.model_name}_{field.attname})s"
            for field in fields
        )
        for model, fields in _FIELDS.items()
    }
    return INSERT_WITH_EVENT.format(
        pick=pick,
        booking_columns=columns[Booking],
        booking_values=values[Booking],
        event_columns=columns[BookingEvent],
        event_values=values[BookingEvent],
    )


def _insert_with_event(
    booking: Booking, placement: Placement, *, action: str, actor_id: int | None, still_bookable=None
) -> None:
    """INSERT ``booking`` and its ``action`` event in one statement on the first free candidate, or raise the
    ConflictError of the taken slot (or ``still_bookable``'s answer for a service that is not active).

    A racer can take the picked resource (or seat) between the pick and the
    INSERT: then nothing is inserted and the pick runs again, seeing the
    racer's booking. Each such round is lost to a booking that took a place,
    so the places bound the rounds; the answer is a 409 only once the pick
    finds every candidate taken.
    """
    db = connections[DEFAULT_DB_ALIAS]
    event = history.event_of(booking, action, actor_id=actor_id, before=None)
    params = {**_pick_params(booking, placement), **_values(booking, db), **_values(event, db)}
    sql = _insert_sql(_pick_of(placement, insert=True))
    for _ in range(len(placement.candidates) * placement.capacity + 1):
        # One statement is its own transaction; inside a caller's, a savepoint keeps that usable after an error.
        own = db.in_atomic_block and _OWN_SAVEPOINT.get()
        with transaction.atomic() if own else contextlib.nullcontext(), db.cursor() as cursor:
            cursor.execute(sql, params)
            active, picked, booking_id, resource_id, seat, resource_name, holder_start, holder_end = cursor.fetchone()
        if not active:
            still_bookable(active=False)
            raise AssertionError("still_bookable(active=False) must raise")
        if booking_id is not None:
            booking.pk, booking.seat = booking_id, seat
            booking.resource = Resource(pk=resource_id, name=resource_name)  # what the answer shows of it
            booking._state.adding = False
            return
        if not picked or _is_direct(placement):  # every candidate taken, or the one there is
            break
    raise _placement_conflict(booking, placement, holder_start, holder_end)


def _update_placed(booking: Booking, changes: dict, placement: Placement) -> None:
    """UPDATE ``booking`` with ``changes`` on the first free candidate (a move): its own resource first
    when ``keep_first``; a racer's booking found by the constraint makes it pick again."""
    probe = Booking(
        service_id=booking.service_id,
        start_time=changes["start_time"],
        end_time=changes["end_time"],
        buffer_minutes=changes["buffer_minutes"],
    )
    params = _pick_params(probe, placement, moving=booking.pk)
    for _ in range(len(placement.candidates) * placement.capacity + 1):
        with connection.cursor() as cursor:
            cursor.execute(_pick_of(placement), params)
            found = cursor.fetchone()
        if found is None:
            raise _placement_conflict(probe, placement, None, None)
        try:
            with transaction.atomic():
                model_update(
                    instance=booking, data={**changes, "resource_id": found[0], "seat": found[1]}, validate=False
                )
            return
        except IntegrityError as exc:
            if sqlstate(exc) not in (EXCLUSION_VIOLATION, UNIQUE_VIOLATION):
                raise
    raise _placement_conflict(probe, placement, None, None)


def _placement_conflict(booking: Booking, placement: Placement, start, end) -> ConflictError:
    """The 409 when every candidate is taken: the holder's period when there was one candidate."""
    if len(placement.candidates) > 1:
        return ConflictError(
            "Every resource that delivers this service is booked at an overlapping time.", code="booking_conflict"
        )
    if placement.capacity > 1:
        return ConflictError("This session is full, or its resource is booked then.", code="booking_conflict")
    if start is None:
        start, end = _taken_period(None, booking, resource_id=placement.candidates[0])
    return _conflict(start, end)


def locked_copy(booking: Booking) -> Booking:
    """A fresh copy of ``booking``'s row, locked (FOR UPDATE) until the transaction ends.

    Two concurrent changes of one booking then apply one after the other, each
    to what the other left. A booking deleted meanwhile is a ``NotFoundError``.
    """
    try:
        return Booking.objects.select_for_update(of=("self",)).select_related("service", "resource").get(pk=booking.pk)
    except Booking.DoesNotExist:
        raise NotFoundError("This booking no longer exists.") from None

"""Reads of bookings."""

import bisect
import functools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg
from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Extract, JSONObject

from bookings import rules
from bookings.calendar import token_digest
from bookings.models import Booking, BookingEvent, BookingSeries, CalendarFeed
from bookit.db.replicas import read_connection
from bookit.domain_errors import NotFoundError
from catalog.localtime import LocalDate, utc_window
from catalog.models import Resource, Service
from catalog.schedule import Schedule, local_instant

# The columns of a row of GET /bookings: BookingSerializer's fields. The service's name is a
# subquery, not a join, so the page's count() leaves it out.
BOOKING_ROW = (
    *("id", "user_id", "service_id", "seat", "series_id", "start_time", "end_time", "status", "notes"),
    *("cancelled_at", "cancellation_reason", "created_at", "updated_at"),
)
SERVICE_NAME = Subquery(Service.objects.filter(pk=OuterRef("service_id")).order_by().values("name"))
RESOURCE = Subquery(
    Resource.objects.filter(pk=OuterRef("resource_id")).order_by().values(json=JSONObject(id="id", name="name"))
)


def booking_list(*, user) -> QuerySet[Booking]:
    """Bookings the caller may see: their own, or everyone's for staff."""
    return _visible_to(user).select_related("service", "resource")


def _visible_to(user) -> QuerySet[Booking]:
    return Booking.objects.all() if user.is_staff else Booking.objects.filter(user=user)


def booking_rows(*, user) -> QuerySet:
    """``booking_list`` as the list endpoint's rows: dicts with BookingSerializer's keys."""
    return _visible_to(user).values(*BOOKING_ROW, service_name=SERVICE_NAME, resource=RESOURCE)


# GET /bookings: the page and its total in one fixed statement. Built with the ORM, the list's
# query cost more to build than to run; this is the same read: BOOKING_ROW with the service's
# name, the caller's visibility, the filters, and the order of bookings.filters.BookingFilter.
# With a window (`from`/`to`) the rows are few (the window's): one scan counts them too
# (`count(*) OVER ()`), and `start_time + interval '0'` keeps PostgreSQL from walking the
# start_time index from the oldest booking. Without one the total is a count of its own (the
# page then walks that index and stops after the page), in the same statement.
_BOOKING_PAGE = """
SELECT page_total.total, {columns}
FROM (SELECT count(*) AS total FROM bookings_booking AS b WHERE {where}) AS page_total
LEFT JOIN LATERAL (
    SELECT b.*, (SELECT name FROM catalog_service WHERE id = b.service_id) AS service_name, {resource} AS resource
    FROM bookings_booking AS b WHERE {where} ORDER BY b.start_time, b.id LIMIT %s OFFSET %s
) AS page ON true
"""
_WINDOW_PAGE = """
SELECT count(*) OVER () AS total, {columns}, (SELECT name FROM catalog_service WHERE id = b.service_id), {resource}
FROM bookings_booking AS b WHERE {where}
ORDER BY b.start_time + interval '0', b.id LIMIT %s OFFSET %s
"""
_PAGE_COLUMNS = (*BOOKING_ROW, "service_name", "resource")
# A row's resource as {"id", "name"}.
_RESOURCE = "(SELECT json_build_object('id', id, 'name', name) FROM catalog_resource WHERE id = b.resource_id)"


def booking_page(
    *,
    user,
    limit: int,
    offset: int,
    status: str | None = None,
    service: int | None = None,
    resource: int | None = None,
    owner: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[list[dict], int]:
    """A page of ``booking_rows`` (dicts with BookingSerializer's keys) filtered as GET /bookings is, and the total.

    ``start``/``end`` select the bookings overlapping ``[start, end)`` (either may be open).
    """
    where, params = ["true"], []
    visible = None if user.is_staff else user.pk
    # Ids as bigint: psycopg sends a small int as smallint, and btree_gist's `=` (the GiST indexes on
    # (user_id, period) and (service_id, period)) has no int8 = int2.
    filters = (("user_id", visible), ("status", status), ("service_id", service), ("resource_id", resource))
    for column, value in (*filters, ("user_id", owner)):
        if value is not None:
            where.append(f"b.{column} = %s" + ("" if column == "status" else "::bigint"))
            params.append(value)
    windowed = start is not None or end is not None
    if windowed:
        # The overlap as plain comparisons too: cheap per row where PostgreSQL scans, while the
        # range condition lets it use the GiST index on the period where that is cheaper.
        where.append("tstzrange(b.start_time, b.end_time, '[)') && tstzrange(%s, %s, '[)')")
        params += [start, end]
        for condition, bound in (("b.start_time < %s", end), ("b.end_time > %s", start)):
            if bound is not None:
                where.append(condition)
                params.append(bound)
        columns = ", ".join(f"b.{column}" for column in BOOKING_ROW)
        sql = _WINDOW_PAGE.format(columns=columns, where=" AND ".join(where), resource=_RESOURCE)
        params = [*params, limit, offset]
    else:
        columns = ", ".join(f"page.{column}" for column in _PAGE_COLUMNS)
        sql = _BOOKING_PAGE.format(columns=columns, where=" AND ".join(where), resource=_RESOURCE)
        params = [*params, *params, limit, offset]
    with read_connection(Booking).cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    total = rows[0][0] if rows else 0  # no row at all: a window with none, or a page past its end
    return [dict(zip(_PAGE_COLUMNS, row[1:], strict=True)) for row in rows if row[1] is not None], total


# Pairs of non-cancelled bookings on one resource whose periods (with buffers) overlap, unless they are
# different seats of one session: what the exclusion constraint (the session key, compared WITH <>)
# and the one-booking-per-seat index refuse, judged again by a query.
OVERLAPPING_PAIRS_SQL = """
    SELECT a.id, b.id FROM bookings_booking a
    JOIN bookings_booking b
      ON a.resource_id = b.resource_id AND a.id < b.id
     AND (bookings_session_key(a.id, a.service_id, a.seat, a.start_time)
          <> bookings_session_key(b.id, b.service_id, b.seat, b.start_time) OR a.seat = b.seat)
     AND tstzrange(a.start_time, bookings_blocked_until(a.end_time, a.buffer_minutes), '[)')
      && tstzrange(b.start_time, bookings_blocked_until(b.end_time, b.buffer_minutes), '[)')
    WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
"""


def overlapping_pairs(*, service_id: int | None = None, resource_id: int | None = None) -> list[tuple[int, int]]:
    """Pairs of non-cancelled bookings on one resource whose periods overlap, but different seats of one
    session; with ``service_id``, the pairs that include a booking of that service; with ``resource_id``, its.

    Always empty while the exclusion constraint and the seat index hold; tests
    and the stress script use it to check the database directly, not through
    the API (system tests that bring their own database run
    ``OVERLAPPING_PAIRS_SQL`` there).
    """
    sql = OVERLAPPING_PAIRS_SQL
    params = []
    if service_id is not None:
        sql += " AND %s IN (a.service_id, b.service_id)"
        params.append(service_id)
    if resource_id is not None:
        sql += " AND a.resource_id = %s"
        params.append(resource_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def booking_list_ended_confirmed(*, now: datetime) -> QuerySet[Booking]:
    """Confirmed bookings whose end has passed: ready to become completed."""
    return Booking.objects.filter(status=Booking.Status.CONFIRMED, end_time__lte=now)


def booking_list_expired_pending(*, now: datetime) -> QuerySet[Booking]:
    """Pending bookings whose start has passed without a confirmation."""
    return Booking.objects.filter(status=Booking.Status.PENDING, start_time__lte=now)


# The non-cancelled bookings of the candidate resources whose period with its buffer overlaps a
# window, as Unix times (start, end of the buffer), by resource and start: for each resource, the
# constraint's GiST index finds them (resource_id and the period: the index takes both conditions
# in the lateral join, where `resource_id = ANY(...)` would be a filter after it). The seats of one
# group session (same service, same start, a seat: the constraint's session key) are one row, with
# how many of this service's seats up to its capacity they hold; -1 for any other row, which
# blocks a slot it overlaps whatever its service (a resource is never in two bookings at once).
# So each resource's rows never overlap and their ends are in order, as the slots' sweep needs.
# A busy month is thousands of rows; floats load at a fraction of the cost of timestamps. The
# buffer's end is the end plus the buffer's seconds, what bookings_blocked_until gives, at a
# third of the cost per row (date_part gives float8 directly; extract goes through numeric). The
# ids are bigints for the constraint's index to take them (see booking_page).
_BUSY = """
SELECT c.id, busy.start, busy.blocked_until, busy.held
FROM unnest(%(resources)s::bigint[]) AS c(id)
CROSS JOIN LATERAL (
    SELECT date_part('epoch', b.start_time) AS start,
           max(date_part('epoch', b.end_time) + b.buffer_minutes * 60) AS blocked_until,
           CASE WHEN b.seat IS NOT NULL AND b.service_id = %(service)s::bigint
                THEN count(*) FILTER (WHERE b.seat <= %(capacity)s::int) ELSE -1 END AS held
    FROM bookings_booking AS b
    WHERE b.resource_id = c.id AND b.status <> 'cancelled'
      AND tstzrange(b.start_time, bookings_blocked_until(b.end_time, b.buffer_minutes), '[)')
       && tstzrange(%(start)s, %(end)s, '[)')
    GROUP BY b.start_time, b.service_id, b.seat IS NOT NULL
) AS busy
ORDER BY c.id, busy.start
"""


def _busy_moments(
    service: Service, resource_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[tuple[float, float, int]]]:
    """Each resource's busy periods in ``[start, end)``: (start, end of the buffer, seats held of
    ``service``'s session there, or -1), sorted, never overlapping; one query for all of them."""
    busy: dict[int, list[tuple[float, float, int]]] = {pk: [] for pk in resource_ids}
    params = {"resources": resource_ids, "service": service.pk, "capacity": service.capacity}
    with read_connection(Booking).cursor() as cursor:
        if not isinstance(cursor.cursor, psycopg.ClientCursor):  # server-side binding (settings), as it should
            cursor.cursor.format = psycopg.pq.Format.BINARY  # floats as 8 bytes each: no text either side
        cursor.execute(_BUSY, {**params, "start": start, "end": end})
        for resource_id, *period in cursor.fetchall():
            busy[resource_id].append(tuple(period))
    return busy


@dataclass(frozen=True)
class FreeSlots:
    """The free slots of a service: their starts (Unix times, in order), how many resources are free
    at each, and, for a group session service (capacity above 1), the seats left at each (the sum
    over those resources; None for other services)."""

    starts: tuple[float, ...]
    free: tuple[int, ...]
    seats_left: tuple[int, ...] | None

    def cut(self, first: int, last: int) -> "FreeSlots":
        seats = self.seats_left[first:last] if self.seats_left is not None else None
        return FreeSlots(self.starts[first:last], self.free[first:last], seats)


def service_availability(
    *, service: Service, start: datetime, end: datetime, now: datetime, resource_id: int | None = None
) -> list[datetime]:
    """Starts of the free slots of ``service`` that begin in ``[start, end)``, in order (UTC).

    ``service_free_moments``'s starts as datetimes.
    """
    return [
        datetime.fromtimestamp(moment, UTC)
        for moment in service_free_moments(
            service=service, start=start, end=end, now=now, resource_id=resource_id
        ).starts
    ]


def service_free_moments(
    *, service: Service, start: datetime, end: datetime, now: datetime, resource_id: int | None = None
) -> FreeSlots:
    """The free slots of ``service`` that begin in ``[start, end)``, in order, as Unix times.

    A slot lasts the service's duration, starts on its schedule's steps inside
    working hours (``catalog.schedule``), not before the notice or after the
    horizon (``bookings.rules``), and is free when at least one resource can
    take it (``rules.delivering_resources``; only ``resource_id`` when given):
    one working then by its own hours, with no non-cancelled booking of any
    service on it within the slot and buffers, its own buffer included, as the
    exclusion constraint will judge it. For a group session service a resource
    holding this very session (same start) is free while it has seats left.
    What ``booking_create`` then does: every slot offered books, ``free`` times
    over (``seats_left`` for sessions). One query reads the window's bookings of
    every candidate resource through the constraint's GiST index; the rest is
    arithmetic here. ``service`` has its hours, exceptions and resources loaded
    (``catalog.selectors.service_by_id_with_schedule``; else one more query).

    The window's free slots are a pure function of the schedules, the policy
    and the bookings just read, so they are remembered under exactly those (a
    booking, an hour or a policy changed is another key: never stale); only the
    cut by now's notice and horizon is done on every request.
    """
    resources = rules.delivering_resources(service, resource_id=resource_id)
    occupied = timedelta(minutes=service.duration_minutes + service.buffer_minutes)
    busy = _busy_moments(service, [resource.id for resource in resources], start, end + occupied)
    schedule = Schedule.of(service)
    free = _window_free_moments(
        schedule,
        (start.astimezone(schedule.zone).date(), end.astimezone(schedule.zone).date()),
        (start.timestamp(), end.timestamp()),
        (service.slot_step, service.duration_minutes, occupied.total_seconds(), service.capacity),
        tuple((resource.schedule, tuple(busy[resource.id])) for resource in resources),
    )
    earliest = max(rules.earliest_start(service, now=now), now).timestamp()
    horizon = rules.latest_start(service, now=now)
    starts = free.starts
    first = max(bisect.bisect_left(starts, earliest), bisect.bisect_right(starts, now.timestamp()))
    last = bisect.bisect_right(starts, horizon.timestamp()) if horizon is not None else len(starts)
    return free.cut(first, last)


@functools.lru_cache(maxsize=32)  # a busy month's key and answer are a few hundred kB
def _window_free_moments(
    schedule: Schedule,
    days: tuple[date, date],
    window: tuple[float, float],
    slot: tuple[int, int, float, int],
    resources: tuple[tuple[Schedule, tuple[tuple[float, float, int], ...]], ...],
) -> FreeSlots:
    """Slots in ``window`` (Unix times) on ``schedule``'s steps from ``days[0]`` to ``days[1]`` (local dates),
    ``slot`` being (step, length in minutes, seconds occupied with the buffer, capacity), that at least one of
    ``resources`` can take: each is (its own hours, its busy periods as ``_busy_moments`` gives them)."""
    (since, until), (step, length, occupied, capacity) = window, slot
    sessions = capacity > 1
    checks = [(_works_at(own, schedule, length * 60), busy, len(busy)) for own, busy in resources]
    positions = [0] * len(checks)
    starts, free, seats = [], [], []
    for moment in schedule.slot_moments(*days, step=step, length=length):
        if moment < since:
            continue
        if moment >= until:
            break
        count = left = 0
        for which, (works, busy, taken) in enumerate(checks):
            index = positions[which]
            while index < taken and busy[index][1] <= moment:  # ended (buffer included) before the slot
                index += 1
            positions[which] = index
            if works is not None and not works(moment):
                continue
            room = capacity
            if index < taken and busy[index][0] < moment + occupied:  # something overlaps the slot
                booked, _, held = busy[index]
                # Only this very session may, with seats left, and nothing after it.
                if not sessions or booked != moment or held < 0 or held >= capacity:
                    continue
                if index + 1 < taken and busy[index + 1][0] < moment + occupied:
                    continue
                room -= held
            count += 1
            left += room
        if count:
            starts.append(moment)
            free.append(count)
            seats.append(left)
    return FreeSlots(tuple(starts), tuple(free), tuple(seats) if sessions else None)


def _works_at(own: Schedule, service_schedule: Schedule, seconds: float):
    """Whether a resource with hours ``own`` works ``[moment, moment + seconds)`` (a Unix time), as
    ``Schedule.allows`` judges it; None when every slot of ``service_schedule`` passes (no hours of its
    own, or the service's very hours: a resource carrying them adds no check). A day's intervals are
    worked out once, as numbers: a month of slots on five resources asks thousands of times."""
    if own == service_schedule or not (own.weekly or own.exceptions):
        return None
    zone, days = own.zone, {}
    always = ((-math.inf, math.inf),)

    def works(moment: float) -> bool:
        day = datetime.fromtimestamp(moment, zone).date()
        windows = days.get(day)
        if windows is None:
            walls = own.wall_intervals(day)
            windows = days[day] = (
                always
                if walls is None
                else tuple(
                    (local_instant(day, begin, zone).timestamp(), local_instant(day, end, zone).timestamp() - seconds)
                    for begin, end in walls
                )
            )
        return any(low <= moment <= last for low, last in windows)

    return works


def booking_history(*, booking_id: int, user) -> QuerySet[BookingEvent]:
    """The events of one booking, oldest first: for its owner while it exists, for staff always.

    Anyone else, and a booking without events, is a ``NotFoundError`` (as for a booking they cannot see).
    """
    events = BookingEvent.objects.filter(booking_id=booking_id).order_by("at", "id")
    bookings = Booking.objects.filter(pk=booking_id)
    visible = (events.exists() or bookings.exists()) if user.is_staff else bookings.filter(user=user).exists()
    if not visible:
        raise NotFoundError("No booking of yours with this id.", code="not_found")
    return events


def calendar_feed_bookings(*, token: str) -> QuerySet[Booking] | None:
    """The bookings of the active user whose feed ``token`` opens (their services loaded), or None."""
    feed = CalendarFeed.objects.filter(token_hash=token_digest(token), user__is_active=True).values_list(
        "user_id", flat=True
    )
    user_id = feed.first()
    if user_id is None:
        return None
    return Booking.objects.filter(user_id=user_id).select_related("service", "resource").order_by("start_time", "id")


# A booking's local date: the date its service's clocks show at its start.
START_LOCAL_DATE = LocalDate("start_time", "service__timezone")


def booking_filter_local_dates(queryset: QuerySet[Booking], *, first: date, last: date) -> QuerySet[Booking]:
    """The bookings of ``queryset`` that start on a local date from ``first`` to ``last``, each in its service's zone.

    The admin's date filters mean the dates the service's staff see on their
    clocks, so one list can hold Berlin's and New York's "7 Dec" together.
    The UTC window lets the start_time index do most of the work.
    """
    low, high = utc_window(first, last)
    return (
        queryset.filter(start_time__gte=low, start_time__lt=high)
        .alias(start_local_date=START_LOCAL_DATE)
        .filter(start_local_date__gte=first, start_local_date__lte=last)
    )


def booking_filter_local_days_from_today(
    queryset: QuerySet[Booking], *, first: int, last: int, now: datetime
) -> QuerySet[Booking]:
    """``booking_filter_local_dates`` counted from each service's own today: ``first=0, last=0`` is today there.

    "Today" is not one date when services sit in several zones: at 23:30 UTC
    it is already tomorrow in Berlin and still today in New York.
    """
    today_utc = now.astimezone(UTC).date()  # every zone's today is within a day of it
    low, high = utc_window(today_utc + timedelta(days=first - 1), today_utc + timedelta(days=last + 1))
    return (
        queryset.filter(start_time__gte=low, start_time__lt=high)
        .alias(start_local_date=START_LOCAL_DATE)
        .filter(
            start_local_date__gte=LocalDate(Value(now), "service__timezone", plus_days=first),
            start_local_date__lte=LocalDate(Value(now), "service__timezone", plus_days=last),
        )
    )


def booking_start_periods(queryset: QuerySet[Booking], *, kind: str) -> list[date]:
    """The years, months or days (``kind``) on which bookings of ``queryset`` start, locally: their first dates.

    What the admin's date hierarchy offers; one query.
    """
    parts = {"year": ("year",), "month": ("year", "month"), "day": ("year", "month", "day")}[kind]
    rows = (
        queryset.order_by()
        .annotate(**{f"local_{part}": Extract(START_LOCAL_DATE, part) for part in parts})
        .values_list(*(f"local_{part}" for part in parts))
        .distinct()
    )
    return sorted(date(*(int(number) for number in row), *(1,) * (3 - len(row))) for row in rows)


@dataclass(frozen=True)
class StaffDay:
    """What staff act on first (the admin's start page)."""

    pending_count: int  # bookings waiting for confirmation
    today: list[Booking]  # today's bookings in their services' zones, service and user loaded, at most the limit
    more_today: bool  # whether there are more than ``today`` holds


def booking_staff_day(*, now: datetime, limit: int = 20) -> StaffDay:
    """The bookings waiting for confirmation and today's bookings: two queries, however many there are."""
    pending_count = Booking.objects.filter(status=Booking.Status.PENDING).count()
    today = Booking.objects.select_related("service", "user").order_by("start_time", "id")
    rows = list(booking_filter_local_days_from_today(today, first=0, last=0, now=now)[: limit + 1])
    return StaffDay(pending_count=pending_count, today=rows[:limit], more_today=len(rows) > limit)


def booking_series_get(*, pk: int, user) -> BookingSeries:
    """A series its owner (or staff) may see; anyone else gets the 404 of one that does not exist."""
    series = _series_visible_to(user).select_related("service").filter(pk=pk).first()
    if series is None:
        raise NotFoundError("No booking series with this id.")
    return series


def _series_visible_to(user) -> QuerySet[BookingSeries]:
    return BookingSeries.objects.all() if user.is_staff else BookingSeries.objects.filter(user=user)

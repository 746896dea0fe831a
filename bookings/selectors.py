"""Reads of bookings."""

from datetime import datetime, timedelta

from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import OuterRef, QuerySet, Subquery

from bookings import rules
from bookings.calendar import token_digest
from bookings.models import BlockedUntil, Booking, BookingEvent, CalendarFeed, TsTzRange
from bookit.domain_errors import NotFoundError
from catalog.models import Service
from catalog.schedule import Schedule

# The columns of a row of GET /bookings: BookingSerializer's fields. The service's name is a
# subquery, not a join, so the page's count() leaves it out.
BOOKING_ROW = (
    *("id", "user_id", "service_id", "start_time", "end_time", "status", "notes"),
    *("cancelled_at", "cancellation_reason", "created_at", "updated_at"),
)
SERVICE_NAME = Subquery(Service.objects.filter(pk=OuterRef("service_id")).values("name"))


def booking_list(*, user) -> QuerySet[Booking]:
    """Bookings the caller may see: their own, or everyone's for staff."""
    return _visible_to(user).select_related("service")


def _visible_to(user) -> QuerySet[Booking]:
    return Booking.objects.all() if user.is_staff else Booking.objects.filter(user=user)


def booking_rows(*, user) -> QuerySet:
    """``booking_list`` as the list endpoint's rows: dicts with BookingSerializer's keys."""
    return _visible_to(user).values(*BOOKING_ROW, service_name=SERVICE_NAME)


# Pairs of non-cancelled bookings of one service whose periods (each with its buffer) overlap.
OVERLAPPING_PAIRS_SQL = """
    SELECT a.id, b.id FROM bookings_booking a
    JOIN bookings_booking b
      ON a.service_id = b.service_id AND a.id < b.id
     AND tstzrange(a.start_time, bookings_blocked_until(a.end_time, a.buffer_minutes), '[)')
      && tstzrange(b.start_time, bookings_blocked_until(b.end_time, b.buffer_minutes), '[)')
    WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
"""


def overlapping_pairs(*, service_id: int | None = None) -> list[tuple[int, int]]:
    """Pairs of non-cancelled bookings of one service whose periods (each with its buffer) overlap.

    Always empty while the exclusion constraint holds; tests and the stress
    script use it to check the database directly, not through the API (system
    tests that bring their own database run ``OVERLAPPING_PAIRS_SQL`` there).
    """
    sql = OVERLAPPING_PAIRS_SQL
    params = []
    if service_id is not None:
        sql += " AND a.service_id = %s"
        params.append(service_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def booking_list_ended_confirmed(*, now: datetime) -> QuerySet[Booking]:
    """Confirmed bookings whose end has passed: ready to become completed."""
    return Booking.objects.filter(status=Booking.Status.CONFIRMED, end_time__lte=now)


def booking_list_expired_pending(*, now: datetime) -> QuerySet[Booking]:
    """Pending bookings whose start has passed without a confirmation."""
    return Booking.objects.filter(status=Booking.Status.PENDING, start_time__lte=now)


def service_availability(*, service: Service, start: datetime, end: datetime, now: datetime) -> list[datetime]:
    """Starts of the free slots of ``service`` that begin in ``[start, end)``, in order (UTC).

    A slot lasts the service's duration, starts on its schedule's steps inside
    working hours (``catalog.schedule``), not before the notice or after the
    horizon (``bookings.rules``), and keeps clear of every non-cancelled booking
    and buffer, its own buffer included, as the exclusion constraint will judge
    it. One query reads the window's bookings through the constraint's GiST
    index; the rest is arithmetic here. ``service`` has its hours and exceptions loaded.
    """
    length = timedelta(minutes=service.duration_minutes)
    occupied = length + timedelta(minutes=service.buffer_minutes)
    busy = list(
        Booking.objects.filter(service=service)
        .exclude(status=Booking.Status.CANCELLED)
        .alias(blocked=TsTzRange("start_time", BlockedUntil("end_time", "buffer_minutes")))
        .filter(blocked__overlap=DateTimeTZRange(start, end + occupied, "[)"))
        .annotate(blocked_until=BlockedUntil("end_time", "buffer_minutes"))
        .order_by("start_time")
        .values_list("start_time", "blocked_until")
    )
    earliest = max(start, rules.earliest_start(service, now=now))
    horizon = rules.latest_start(service, now=now)
    schedule = Schedule.of(service)
    first_day = start.astimezone(schedule.zone).date()
    last_day = end.astimezone(schedule.zone).date()
    slots, index = [], 0
    for slot in schedule.slot_starts(first_day, last_day, step=service.slot_step, length=service.duration_minutes):
        if slot < earliest or slot <= now:
            continue
        if slot >= end or (horizon is not None and slot > horizon):
            break
        while index < len(busy) and busy[index][1] <= slot:  # ended (buffer included) before the slot
            index += 1
        # Bookings are sorted by start and never overlap each other, so their blocked ends are sorted too.
        if index < len(busy) and busy[index][0] < slot + occupied:
            continue
        slots.append(slot)
    return slots


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
    return Booking.objects.filter(user_id=user_id).select_related("service").order_by("start_time", "id")

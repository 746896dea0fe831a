"""Reads of bookings."""

from datetime import datetime

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from bookings.models import Booking
from catalog.models import Service

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


def overlapping_pairs(*, service_id: int | None = None) -> list[tuple[int, int]]:
    """Pairs of non-cancelled bookings of one service whose periods overlap.

    Always empty while the exclusion constraint holds; tests and the stress
    script use it to check the database directly, not through the API.
    """
    sql = """
        SELECT a.id, b.id FROM bookings_booking a
        JOIN bookings_booking b
          ON a.service_id = b.service_id AND a.id < b.id
         AND tstzrange(a.start_time, a.end_time, '[)') && tstzrange(b.start_time, b.end_time, '[)')
        WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
    """
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

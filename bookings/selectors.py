"""Reads of bookings."""

from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from bookings.models import Booking


def booking_list(*, user) -> QuerySet[Booking]:
    """Bookings the caller may see: their own, or everyone's for staff."""
    bookings = Booking.objects.select_related("service")
    if not user.is_staff:
        bookings = bookings.filter(user=user)
    return bookings


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

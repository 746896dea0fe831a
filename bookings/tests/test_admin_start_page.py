"""The admin's start page: what staff act on first, above the app list, in a constant number of queries."""

import zoneinfo
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from bookings.models import Booking
from bookings.tests.factories import BookingFactory, zone_at_midday
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
Status = Booking.Status


def today_bookings(count: int, service, *, status=Status.PENDING, after: int = 0) -> list[Booking]:
    """``count`` bookings from ``after`` ten-minute steps on, in the next hours of ``service``'s today (about noon)."""
    now = timezone.now() + timedelta(minutes=10 * after)
    return [
        BookingFactory(
            service=service,
            status=status,
            start_time=now + timedelta(minutes=10 * n),
            end_time=now + timedelta(minutes=10 * n + 5),
        )
        for n in range(count)
    ]


@pytest.fixture
def service():
    return ServiceFactory(name="Sauna", timezone=zone_at_midday(timezone.now()))


def test_index_shows_pending_count_and_todays_bookings_above_the_apps(staff_client, service):
    [first, *_] = today_bookings(2, service)
    today_bookings(1, service, status=Status.CONFIRMED, after=2)
    BookingFactory(start_time=timezone.now() + timedelta(days=3), end_time=timezone.now() + timedelta(days=3, hours=1))
    page = staff_client.get("/admin/").content.decode()
    panel = page[page.index('id="bookings-start-page"') : page.index('id="content-related"')]
    assert '<a href="/admin/bookings/booking/?status__exact=pending" id="pending-bookings">' in panel
    assert "<strong>3</strong>" in panel  # two pending today, one later
    assert "/admin/bookings/booking/?start_local=today" in panel
    assert panel.count('class="today-booking"') == 3
    local = first.start_time.astimezone(zoneinfo.ZoneInfo(service.timezone))
    assert f'<a href="/admin/bookings/booking/{first.pk}/change/">{local:%H:%M} UTC' in panel
    assert page.index("bookings-start-page") < page.index('class="app-accounts')


def test_index_queries_do_not_grow_with_the_bookings(staff_client, service):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get("/admin/").status_code == 200
        return len(captured)

    today_bookings(1, service)
    few = queries()
    today_bookings(30, ServiceFactory(timezone=service.timezone))  # more than the panel lists, of another service
    assert queries() == few
    assert "All of today's bookings" in staff_client.get("/admin/").content.decode()


def test_staff_without_the_bookings_permission_see_no_panel(client, service):
    today_bookings(1, service)
    client.force_login(UserFactory(is_staff=True))
    page = client.get("/admin/").content.decode()
    assert "bookings-start-page" not in page

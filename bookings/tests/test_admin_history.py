"""The booking's history in the admin, as staff read it: who, when and what, in the service's zone."""

import html
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from bookings import history, services
from bookings.models import Booking, BookingEvent
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
YEAR = datetime.now(UTC).year + 1
WINTER = datetime(YEAR, 1, 15, 9, 0, tzinfo=UTC)
DAY = f"{WINTER:%a} {WINTER.day} {WINTER:%b %Y}"


def history_rows(client, booking: Booking) -> list[str]:
    """The inline's rows as the page shows them: each row's cells' text, joined."""
    response = client.get(f"/admin/bookings/booking/{booking.pk}/change/")
    [inline] = response.context["inline_admin_formsets"]
    return [
        " | ".join(html.unescape(str(field.contents())) for fieldset in form for line in fieldset for field in line)
        for form in inline
    ]


@pytest.fixture
def booked(user):
    staff = UserFactory(is_staff=True, full_name="Sam Staff", email="sam@example.com")
    service = ServiceFactory(timezone="Europe/Berlin")
    booking = services.booking_create(user=user, service=service, start_time=WINTER, actor=staff)
    return services.booking_reschedule(booking=booking, start_time=WINTER + timedelta(minutes=30), actor=staff), staff


def test_changes_read_as_field_before_after_lines_in_the_services_zone(staff_client, booked):
    booking, _ = booked
    created, moved = history_rows(staff_client, booking)
    assert f"start: (none) -> {DAY}, 10:00 CET" in created
    assert "status: (none) -> pending" in created
    assert "notes" not in created  # nothing to an empty text is no news
    assert f"start: {DAY}, 10:00 CET -> {DAY}, 10:30 CET" in moved
    assert f"end: {DAY}, 11:00 CET -> {DAY}, 11:30 CET" in moved
    assert "{" not in moved  # no raw JSON


def test_who_acted_by_name_and_email_linked_to_the_user(staff_client, booked):
    booking, staff = booked
    _, moved = history_rows(staff_client, booking)
    assert f'<a href="/admin/accounts/user/{staff.pk}/change/">Sam Staff (sam@example.com)</a>' in moved


def test_maintenance_jobs_are_the_system_and_a_deleted_user_keeps_an_id(staff_client, booked):
    booking, _ = booked
    history.record_system_moves(
        [(booking.pk, booking.service_id, booking.user_id)],
        action="status_changed",
        changes={"status": ["pending", "cancelled"]},
    )
    gone = UserFactory()
    BookingEvent.objects.create(
        booking_id=booking.pk,
        service_id=booking.service_id,
        owner_id=booking.user_id,
        actor_id=gone.pk,
        action="notes_changed",
        changes={"notes": ["", "x"]},
    )
    gone_id = gone.pk
    gone.delete()
    *_, system, deleted = history_rows(staff_client, booking)
    assert " | system | status: pending -> cancelled" in system
    assert f"user #{gone_id} (deleted) | notes: (empty) -> x" in deleted


def test_the_history_is_one_query_however_long(staff_client, booked):
    booking, _ = booked

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            history_rows(staff_client, booking)
        return len(captured)

    few = queries()
    for minutes in range(60, 300, 60):
        booking = services.booking_reschedule(
            booking=booking, start_time=WINTER + timedelta(minutes=minutes), actor=UserFactory(is_staff=True)
        )
    assert queries() == few


def test_the_api_history_keeps_its_shape(booked):
    booking, _ = booked
    _, moved = BookingEvent.objects.filter(booking=booking).order_by("id")
    assert moved.changes["start_time"] == [f"{YEAR}-01-15T09:00:00Z", f"{YEAR}-01-15T09:30:00Z"]


def test_describe_changes_shortens_long_texts():
    [line] = history.describe_changes({"notes": ["", "x" * 200]}, "UTC")
    assert line == "notes: (empty) -> " + "x" * 77 + "..."

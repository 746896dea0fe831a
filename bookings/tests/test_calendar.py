"""Calendar export: one booking as ICS, and a secret feed calendar apps subscribe to."""

from datetime import timedelta

import pytest
from icalendar import Calendar

from bookings import services
from bookings.tests.factories import future
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def events(content: bytes) -> list:
    return [component for component in Calendar.from_ical(content).walk() if component.name == "VEVENT"]


@pytest.fixture
def booking(user):
    return services.booking_create(
        user=user, service=ServiceFactory(name="Deep tissue massage"), start_time=future(30), actor=user
    )


def test_one_booking_as_an_rfc5545_event(user_client, booking):
    response = user_client.get(f"/bookings/{booking.id}/ics", HTTP_ACCEPT="text/calendar")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    [event] = events(response.content)
    assert str(event["uid"]) == f"booking-{booking.id}@bookit"
    assert str(event["summary"]) == "Deep tissue massage"
    assert event.decoded("dtstart") == booking.start_time
    assert event.decoded("dtstart").utcoffset() == timedelta(0) and event["dtstart"].to_ical().endswith(b"Z")
    assert event.decoded("dtend") == booking.end_time
    assert int(event["sequence"]) == 0 and str(event["status"]) == "TENTATIVE"


def test_sequence_grows_on_each_reschedule_and_cancelled_shows(user, user_client, booking):
    uid = str(events(user_client.get(f"/bookings/{booking.id}/ics").content)[0]["uid"])
    moved = services.booking_reschedule(booking=booking, start_time=booking.start_time + timedelta(hours=3), actor=user)
    services.booking_reschedule(booking=moved, start_time=moved.start_time + timedelta(hours=3), actor=user)
    [event] = events(user_client.get(f"/bookings/{booking.id}/ics").content)
    assert (str(event["uid"]), int(event["sequence"])) == (uid, 2)
    services.booking_cancel(booking=booking, actor=user)
    [event] = events(user_client.get(f"/bookings/{booking.id}/ics").content)
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 3


def test_only_owner_and_admin_read_a_bookings_ics(other_client, admin_client, anon, booking):
    assert other_client.get(f"/bookings/{booking.id}/ics").status_code == 404
    assert anon.get(f"/bookings/{booking.id}/ics").status_code == 401
    assert admin_client.get(f"/bookings/{booking.id}/ics").status_code == 200
    missing = other_client.get("/bookings/999999/ics", HTTP_ACCEPT="text/calendar")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"  # errors stay JSON


def test_the_feed_serves_all_of_the_users_bookings_without_other_auth(user, user_client, anon, booking):
    second = services.booking_create(user=user, service=ServiceFactory(name="Sauna"), start_time=future(60))
    url = user_client.post("/me/calendar-token").json()["url"]
    assert url.startswith("http://testserver/calendar/") and url.endswith(".ics")
    response = anon.get(url.removeprefix("http://testserver"), HTTP_ACCEPT="text/calendar")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    uids = {str(event["uid"]) for event in events(response.content)}
    assert uids == {f"booking-{booking.id}@bookit", f"booking-{second.id}@bookit"}


def test_rotating_the_token_kills_the_old_url_and_unknown_tokens_are_404(user_client, anon, booking):
    old = user_client.post("/me/calendar-token").json()["url"].removeprefix("http://testserver")
    new = user_client.post("/me/calendar-token").json()["url"].removeprefix("http://testserver")
    assert old != new
    assert anon.get(old).status_code == 404
    assert anon.get(new).status_code == 200
    assert anon.get("/calendar/" + "x" * 43 + ".ics").status_code == 404


def test_a_feed_of_another_user_shows_nothing_of_mine(user_client, other_client, anon, booking):
    url = other_client.post("/me/calendar-token").json()["url"].removeprefix("http://testserver")
    assert events(anon.get(url).content) == []


def test_the_token_is_not_stored_in_clear(user_client):
    from bookings.models import CalendarFeed

    token = user_client.post("/me/calendar-token").json()["url"].rsplit("/", 1)[1].removesuffix(".ics")
    assert token not in CalendarFeed.objects.get().token_hash

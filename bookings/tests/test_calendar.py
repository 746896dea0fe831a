"""Calendar export: one booking as ICS, and a secret feed calendar apps subscribe to."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from icalendar import Calendar

from accounts.models import User
from accounts.tests import test_revocation as revocation
from accounts.tests.factories import UserFactory
from bookings import services
from bookings.models import CalendarFeed
from bookings.tests.factories import future
from catalog.tests.factories import ServiceFactory
from conftest import client_for

pytestmark = pytest.mark.django_db
FEED_MIGRATION = "0008_feed_ends_with_password"


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


@pytest.mark.parametrize(
    "ask",
    [
        {"HTTP_ACCEPT": "application/json"},  # a generated client's habit
        {"HTTP_ACCEPT": "text/html"},  # a browser without */*
        {"HTTP_ACCEPT": "text/calendar;q=0.1, application/json"},
        {"format": "json"},
        {},
    ],
    ids=["json", "html", "json-preferred", "format-json", "none"],
)
def test_the_calendars_answer_text_calendar_whatever_the_client_accepts(user_client, anon, booking, ask):
    """One representation, the one the schema declares: never JSON, never a 406 (bookings.calendar)."""
    query = "?format=json" if ask.pop("format", None) else ""
    feed = user_client.post("/me/calendar-token").json()["url"].removeprefix("http://testserver")
    for client, url in ((user_client, f"/bookings/{booking.id}/ics"), (anon, feed)):
        response = client.get(url + query, **ask)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "text/calendar; charset=utf-8"
        assert [str(event["uid"]) for event in events(response.content)] == [f"booking-{booking.id}@bookit"]


def test_calendar_errors_are_json_whatever_the_client_accepts(user_client, anon, booking):
    for client, url in ((user_client, "/bookings/999999/ics"), (anon, "/calendar/" + "x" * 43 + ".ics")):
        for accept in ("text/calendar", "application/json", "text/html"):
            response = client.get(url, HTTP_ACCEPT=accept)
            assert (response.status_code, response["Content-Type"]) == (404, "application/json"), (url, accept)
            assert response.json()["code"] == "not_found"
    response = anon.get(f"/bookings/{booking.id}/ics", HTTP_ACCEPT="text/calendar")
    assert (response.status_code, response["Content-Type"]) == (401, "application/json")


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
    token = user_client.post("/me/calendar-token").json()["url"].rsplit("/", 1)[1].removesuffix(".ics")
    assert token not in CalendarFeed.objects.get().token_hash


class TestTheFeedEnds:
    """A feed lives only as long as the password and the account it was made under, or until its owner ends it."""

    @pytest.fixture
    def feed(self, user, anon):
        url = client_for(user).post("/me/calendar-token").json()["url"].removeprefix("http://testserver")
        assert anon.get(url).status_code == 200
        return url

    @pytest.mark.parametrize(
        "set_new_password",
        [revocation.patch_me, revocation.set_password_and_save, revocation.queryset_update],
        ids=lambda path: path.__name__,
    )
    def test_a_new_password_ends_it(self, user, anon, feed, set_new_password):
        set_new_password(user)
        assert anon.get(feed).status_code == 404
        assert not CalendarFeed.objects.exists()
        fresh = anon.post("/auth/login", {"email": user.email, "password": revocation.NEW_PASSWORD}).json()["access"]
        assert anon.get("/me", HTTP_AUTHORIZATION=f"Bearer {fresh}").json()["calendar_feed"] is False

    def test_a_deactivation_ends_it_and_a_reactivation_revives_nothing(self, user, anon, feed):
        User.objects.filter(pk=user.pk).update(is_active=False)
        User.objects.filter(pk=user.pk).update(is_active=True)
        assert anon.get(feed).status_code == 404
        assert not CalendarFeed.objects.exists()

    def test_other_changes_leave_it_alone(self, user, anon, feed):
        user.full_name = "Renamed"
        user.save()  # every column written back, the password hash unchanged
        assert client_for(user).patch("/me", {"full_name": "Again"}).status_code == 200
        User.objects.filter(pk=user.pk).update(is_active=True)
        assert anon.get(feed).status_code == 200

    def test_only_the_users_own_feed_ends(self, user, other_user, anon, feed):
        others = client_for(other_user).post("/me/calendar-token").json()["url"].removeprefix("http://testserver")
        revocation.queryset_update(user)
        assert anon.get(others).status_code == 200

    def test_delete_ends_it_and_me_says_so(self, user, anon, feed):
        client = client_for(user)
        assert client.get("/me").json()["calendar_feed"] is True
        response = client.delete("/me/calendar-token")
        assert response.status_code == 204 and response.content == b""
        assert anon.get(feed).status_code == 404
        assert client.get("/me").json()["calendar_feed"] is False
        assert client.delete("/me/calendar-token").status_code == 204  # none left: still what the caller wants
        url = client.post("/me/calendar-token").json()["url"].removeprefix("http://testserver")
        assert anon.get(url).status_code == 200 and client.get("/me").json()["calendar_feed"] is True

    def test_delete_needs_a_user_and_ends_only_their_feed(self, other_user, anon, feed):
        assert anon.delete("/me/calendar-token").status_code == 401
        assert client_for(other_user).delete("/me/calendar-token").status_code == 204
        assert anon.get(feed).status_code == 200

    def test_the_service_says_whether_there_was_one(self, user, feed):
        assert services.calendar_feed_end(user=user) is True
        assert services.calendar_feed_end(user=user) is False


def feed_ends_with_password() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'accounts_revoke_refresh_tokens'")
        [[source]] = cursor.fetchall()
    return "bookings_calendarfeed" in source


@pytest.mark.django_db(transaction=True)
def test_the_feed_migration_runs_backward_and_forward_again():
    """Back to 0007: accounts' function as 0003 made it (a new password keeps the feed); forward: it ends it."""
    assert feed_ends_with_password()
    try:
        MigrationExecutor(connection).migrate([("bookings", "0007_user_period_gist")])
        assert not feed_ends_with_password()
        user = UserFactory()
        services.calendar_token_rotate(user=user)
        revocation.queryset_update(user)
        assert CalendarFeed.objects.filter(user=user).exists()
        MigrationExecutor(connection).migrate([("bookings", FEED_MIGRATION)])
        assert feed_ends_with_password()
        revocation.set_password_and_save(User.objects.get(pk=user.pk))
        assert not CalendarFeed.objects.filter(user=user).exists()
    finally:
        call_command("migrate", verbosity=0)
    assert feed_ends_with_password()

"""Every change to a booking leaves an immutable event, whoever makes it and by whichever path."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, transaction

from bookings import services
from bookings.models import Booking, BookingEvent
from bookings.tests.factories import BookingFactory, future
from bookit.domain_errors import ConflictError
from bookit.utc import iso_z
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def history(client, booking_id):
    response = client.get(f"/bookings/{booking_id}/history")
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_the_api_writes_one_event_per_change_with_before_and_after(user, user_client, admin_user, admin_client):
    service = ServiceFactory()
    start = future(48)
    created = user_client.post("/bookings", {"service_id": service.id, "start_time": iso_z(start)}).json()
    url = f"/bookings/{created['id']}"
    assert user_client.patch(url, {"start_time": iso_z(start + timedelta(hours=3))}).status_code == 200
    assert user_client.patch(url, {"notes": "Window seat"}).status_code == 200
    assert admin_client.patch(f"{url}/status", {"status": "confirmed"}).status_code == 200
    assert user_client.patch(url, {"status": "cancelled", "cancellation_reason": "Ill"}).status_code == 200

    events = history(user_client, created["id"])
    assert [e["action"] for e in events] == ["created", "rescheduled", "notes_changed", "status_changed", "cancelled"]
    assert [e["actor_id"] for e in events] == [user.id, user.id, user.id, admin_user.id, user.id]
    assert events[0]["changes"]["start_time"] == [None, iso_z(start)]
    assert events[1]["changes"]["start_time"] == [iso_z(start), iso_z(start + timedelta(hours=3))]
    assert events[2]["changes"] == {"notes": ["", "Window seat"]}
    assert events[3]["changes"] == {"status": ["pending", "confirmed"]}
    assert events[4]["changes"]["status"] == ["confirmed", "cancelled"]
    assert events[4]["changes"]["cancellation_reason"] == ["", "Ill"]
    assert set(events[0]) == {"action", "at", "actor_id", "changes"}
    assert events == sorted(events, key=lambda e: e["at"])


def test_who_may_read_it(user_client, other_client, anon, admin_client):
    booking_id = user_client.post(
        "/bookings", {"service_id": ServiceFactory().id, "start_time": iso_z(future(30))}
    ).json()["id"]
    assert other_client.get(f"/bookings/{booking_id}/history").status_code == 404
    assert anon.get(f"/bookings/{booking_id}/history").status_code == 401
    assert len(history(admin_client, booking_id)) == 1
    assert user_client.get("/bookings/999999/history").status_code == 404
    assert user_client.get("/bookings/abc/history").status_code == 404
    assert user_client.get("/bookings/²/history").status_code == 404  # a digit, but not an id


def test_a_deleted_bookings_events_stay_for_admins(user, user_client, admin_client):
    booking_id = user_client.post(
        "/bookings", {"service_id": ServiceFactory().id, "start_time": iso_z(future(30))}
    ).json()["id"]
    assert user_client.delete(f"/bookings/{booking_id}").status_code == 204
    assert user_client.get(f"/bookings/{booking_id}/history").status_code == 404  # no longer theirs to read
    events = history(admin_client, booking_id)
    assert [e["action"] for e in events] == ["created", "deleted"]
    assert events[1]["actor_id"] == user.id
    assert events[1]["changes"]["status"] == ["pending", None]
    assert not Booking.objects.filter(pk=booking_id).exists()


def test_history_is_paginated_like_every_list(user_client, user):
    booking = services.booking_create(user=user, service=ServiceFactory(), start_time=future(30), actor=user)
    for n in range(24):
        services.booking_edit_notes(booking=booking, notes=f"note {n}", actor=user)
    page = user_client.get(f"/bookings/{booking.id}/history").json()
    assert (page["count"], len(page["results"])) == (25, 20)
    assert page["next"]


def test_maintenance_commands_write_events_as_the_system():
    ended = BookingFactory(start_time=future(-5), end_time=future(-4), status=Booking.Status.CONFIRMED)
    stale = BookingFactory(start_time=future(-3), end_time=future(-2))
    call_command("complete_past_bookings", stdout=None)
    call_command("expire_pending_bookings", stdout=None)
    done, expired = BookingEvent.objects.get(booking_id=ended.id), BookingEvent.objects.get(booking_id=stale.id)
    assert (done.action, done.actor_id, done.changes) == (
        "status_changed",
        None,
        {"status": ["confirmed", "completed"]},
    )
    assert (expired.action, expired.actor_id) == ("cancelled", None)
    assert expired.changes["status"] == ["pending", "cancelled"]


def test_the_admin_writes_events_and_shows_them_read_only(staff_client, staff):
    booking = BookingFactory()
    response = staff_client.post("/admin/bookings/booking/", {"action": "confirm", "_selected_action": [booking.pk]})
    assert response.status_code == 302
    event = BookingEvent.objects.get(booking_id=booking.id)
    assert (event.action, event.actor_id) == ("status_changed", staff.id)
    page = staff_client.get(f"/admin/bookings/booking/{booking.pk}/change/")
    assert b"status_changed" in page.content
    assert b'name="events-0-action"' not in page.content  # shown, never editable


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE bookings_bookingevent SET action = 'created'",
        "DELETE FROM bookings_bookingevent",
        # A statement-level trigger: row triggers never see a TRUNCATE.
        "TRUNCATE bookings_bookingevent",
        "TRUNCATE bookings_bookingevent RESTART IDENTITY",
    ],
)
def test_events_are_immutable_in_the_database(user, change):
    from django.db import connection

    from bookit.db.sqlstate import sqlstate

    services.booking_create(user=user, service=ServiceFactory(), start_time=future(30), actor=user)
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(change)
    assert sqlstate(refused.value) == "23001"  # restrict_violation: the triggers' own refusal
    assert "never changed or deleted" in str(refused.value)
    assert BookingEvent.objects.count() == 1


def test_a_failed_change_leaves_no_event(user):
    service = ServiceFactory()
    services.booking_create(user=user, service=service, start_time=future(30))
    with pytest.raises(ConflictError):
        services.booking_create(user=user, service=service, start_time=future(30))
    assert BookingEvent.objects.count() == 1

"""Concurrency proven, not assumed: many clients race through a live server, each with its own connection."""

from datetime import timedelta

import pytest

from accounts.tests.factories import UserFactory
from bookings.models import Booking
from bookings.selectors import overlapping_pairs
from bookings.tests.factories import future
from bookit.tests.http import race, request, token_for
from bookit.utc import iso_z as iso
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db(transaction=True)
CLIENTS = 16


@pytest.fixture
def tokens(transactional_db):
    return [token_for(UserFactory()) for _ in range(CLIENTS)]


def test_same_slot_many_clients_exactly_one_wins(live_server, tokens):
    service = ServiceFactory(duration_minutes=60)
    body = {"service_id": service.id, "start_time": iso(future())}
    results = race([lambda t=t: request("POST", f"{live_server.url}/bookings", token=t, body=body) for t in tokens])
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (CLIENTS - 1)
    assert all(payload["code"] == "booking_conflict" for status, payload in results if status == 409)
    assert Booking.objects.filter(service=service).count() == 1


def post_at_once(live_server, tokens, bodies) -> list[int]:
    """POST /bookings of each body by the token beside it, all at the same instant; the statuses."""
    url = f"{live_server.url}/bookings"
    calls = [lambda t=t, b=b: request("POST", url, token=t, body=b) for t, b in zip(tokens, bodies, strict=True)]
    return [status for status, _ in race(calls)]


def test_overlapping_slots_never_double_book(live_server, tokens):
    service = ServiceFactory(duration_minutes=60)
    base = future()
    # Sixteen one-hour slots starting 20 minutes apart: each overlaps its neighbours.
    bodies = [{"service_id": service.id, "start_time": iso(base + timedelta(minutes=20 * i))} for i in range(CLIENTS)]
    statuses = post_at_once(live_server, tokens, bodies)
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) == Booking.objects.filter(service=service).count() >= 1
    assert overlapping_pairs(service_id=service.id) == []


def test_racing_reschedules_and_cancellations_keep_the_guarantee(live_server, tokens):
    service = ServiceFactory(duration_minutes=60)
    base = future()
    users_bookings = []
    for i, token in enumerate(tokens):
        status, body = request(
            "POST",
            f"{live_server.url}/bookings",
            token=token,
            body={"service_id": service.id, "start_time": iso(base + timedelta(hours=2 * i))},
        )
        assert status == 201
        users_bookings.append((token, body["id"]))
    target = iso(base + timedelta(hours=2 * CLIENTS + 5))
    calls = []
    for i, (token, booking_id) in enumerate(users_bookings):
        url = f"{live_server.url}/bookings/{booking_id}"
        change = {"status": "cancelled"} if i % 4 == 0 else {"start_time": target}
        calls.append(lambda url=url, token=token, change=change: request("PATCH", url, token=token, body=change))
    statuses = [status for status, _ in race(calls)]
    reschedules = [s for i, s in enumerate(statuses) if i % 4]
    assert reschedules.count(200) == 1 and set(reschedules) == {200, 409}
    assert all(s == 200 for i, s in enumerate(statuses) if i % 4 == 0)
    assert overlapping_pairs(service_id=service.id) == []


def test_buffers_hold_under_a_race(live_server, tokens):
    """Sixteen bookings that touch only through their buffers: PostgreSQL, not Python, keeps the buffers free."""
    service = ServiceFactory(duration_minutes=60, buffer_minutes=30)
    base = future()
    # One hour each, 75 minutes apart: free of each other, but each one's buffer reaches the next.
    bodies = [{"service_id": service.id, "start_time": iso(base + timedelta(minutes=75 * i))} for i in range(CLIENTS)]
    statuses = post_at_once(live_server, tokens, bodies)
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert statuses.count(201) == Booking.objects.filter(service=service).count()
    assert overlapping_pairs(service_id=service.id) == []


def test_the_per_user_cap_holds_under_a_race(live_server):
    """One user, sixteen simultaneous bookings of free slots, a cap of two: exactly two get in."""
    service = ServiceFactory(duration_minutes=60, max_active_bookings_per_user=2)
    token = token_for(UserFactory())
    base = future()
    bodies = [{"service_id": service.id, "start_time": iso(base + timedelta(hours=2 * i))} for i in range(CLIENTS)]
    results = race([lambda b=b: request("POST", f"{live_server.url}/bookings", token=token, body=b) for b in bodies])
    assert sorted(status for status, _ in results) == [201, 201] + [400] * (CLIENTS - 2)
    assert {payload["code"] for status, payload in results if status == 400} == {"too_many_active"}
    assert Booking.objects.filter(service=service).count() == 2

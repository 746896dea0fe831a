"""Resources and seats under races: real threads through a live server, each request with its own connection.

The promise of issue 20, proven rather than assumed: the last seat of a
session goes to one person, "any available" never gives two people one
resource nor picks one that is off work, never answers 409 while one is still
free, and a stylist who delivers two services is never in two bookings at
once. Every check of the outcome reads the database itself (SQL), not the API.
"""

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from bookings.models import Booking
from bookings.selectors import overlapping_pairs
from bookit.tests.http import race, request, token_for
from bookit.utc import iso_z as iso
from catalog.models import Resource, WorkingHours
from catalog.selectors import bookable_resources
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db(transaction=True)
CAPACITY = 5
K = 4  # resources of an "any available" service


def slot_start() -> datetime:
    """10:00 UTC three days ahead: on every service's session grid (hourly from midnight) and inside the hours below."""
    day = (timezone.now() + timedelta(days=3)).date()
    return datetime.combine(day, time(10), tzinfo=UTC)


def staffed_service(*, working: int, off: int = 0, **fields):
    """A service delivered by ``working`` resources who work at ``slot_start()`` and ``off`` resources who do not.

    The service's own resource (the trigger's) stops delivering it. The off ones
    are created first, so they have the lowest ids and fewest bookings: the
    fairest pick if hours were ignored.
    """
    service = ServiceFactory(duration_minutes=60, **fields)
    service.resources.clear()
    weekday = slot_start().isoweekday()
    resources = {}
    for kind, count, hours in (("off", off, (time(13), time(17))), ("working", working, (time(9), time(17)))):
        resources[kind] = []
        for n in range(count):
            resource = Resource.objects.create(name=f"{kind} {n}")
            resource.services.add(service)
            WorkingHours.objects.create(resource=resource, weekday=weekday, start=hours[0], end=hours[1])
            resources[kind].append(resource.id)
    return service, resources["working"], resources["off"]


def post_bookings(live_server, bodies) -> list[tuple[int, dict]]:
    """POST /bookings of each body, each by a user of its own, all at the same instant."""
    url = f"{live_server.url}/bookings"
    tokens = [token_for(UserFactory()) for _ in bodies]
    return race([lambda t=t, b=b: request("POST", url, token=t, body=b) for t, b in zip(tokens, bodies, strict=True)])


def statuses(results) -> list[int]:
    return sorted(status for status, _ in results)


def conflict_codes(results) -> set[str]:
    return {payload.get("code") for status, payload in results if status == 409}


def session_rows(service, start) -> list[tuple]:
    """(resource_id, seat) of the session's active bookings, read in SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT resource_id, seat FROM bookings_booking"
            " WHERE service_id = %s AND start_time = %s AND status <> 'cancelled' ORDER BY seat",
            [service.id, start],
        )
        return cursor.fetchall()


class SessionWatch:
    """Reads the session's active bookings in SQL, again and again, in a thread of its own while a race runs:
    the largest count and any seat held twice seen at any instant, not only at the end."""

    def __init__(self, service, start):
        self.service, self.start = service, start
        self.most, self.duplicate_seats = 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self):
        try:
            while not self._stop.is_set():
                rows = session_rows(self.service, self.start)
                self.most = max(self.most, len(rows))
                seats = [seat for _, seat in rows]
                if len(seats) != len(set(seats)):
                    self.duplicate_seats.append(seats)
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_twenty_racers_for_a_session_of_five_get_seats_one_to_five(live_server):
    service = ServiceFactory(duration_minutes=60, capacity=CAPACITY)
    start = slot_start()
    results = post_bookings(live_server, [{"service_id": service.id, "start_time": iso(start)}] * 20)
    assert statuses(results) == [201] * CAPACITY + [409] * 15
    assert conflict_codes(results) == {"booking_conflict"}
    assert sorted(payload["seat"] for status, payload in results if status == 201) == [1, 2, 3, 4, 5]
    assert [seat for _, seat in session_rows(service, start)] == [1, 2, 3, 4, 5]
    assert overlapping_pairs(service_id=service.id) == []


def test_cancels_racing_rebookings_never_overfill_a_session(live_server):
    """Rounds of cancellations of seated bookings racing new bookings of the same session (each newcomer tries
    twice, so some try after a cancellation went through): whatever wins, the session never holds more than its
    capacity nor a seat twice, at any instant, and nothing answers 5xx. Then the freed seats all book again."""
    service = ServiceFactory(duration_minutes=60, capacity=CAPACITY)
    start = slot_start()
    url = f"{live_server.url}/bookings"
    body = {"service_id": service.id, "start_time": iso(start)}
    seated = []  # (token, booking id) of the active bookings
    for _ in range(CAPACITY):
        token = token_for(UserFactory())
        status, payload = request("POST", url, token=token, body=body)
        assert status == 201
        seated.append((token, payload["id"]))

    def cancel(token, pk):
        return [request("PATCH", f"{url}/{pk}", token=token, body={"status": "cancelled"})]

    def book(token):
        first = request("POST", url, token=token, body=body)
        return [first] if first[0] == 201 else [first, request("POST", url, token=token, body=body)]

    answers = []
    with SessionWatch(service, start) as watch:
        for _ in range(4):
            cancelling, seated = seated[:3], seated[3:]
            newcomers = [token_for(UserFactory()) for _ in range(12)]
            calls = [lambda t=t, pk=pk: cancel(t, pk) for t, pk in cancelling]
            calls += [lambda t=t: book(t) for t in newcomers]
            results = race(calls)
            answers += [status for attempts in results for status, _ in attempts]
            assert [attempts[0][0] for attempts in results[: len(cancelling)]] == [200] * len(cancelling)
            seated += [
                (token, attempts[-1][1]["id"])
                for token, attempts in zip(newcomers, results[len(cancelling) :], strict=True)
                if attempts[-1][0] == 201
            ]
            assert len(seated) <= CAPACITY
            assert sorted(pk for _, pk in seated) == sorted(
                Booking.objects.filter(service=service).exclude(status="cancelled").values_list("pk", flat=True)
            )
    assert set(answers) <= {200, 201, 409}
    assert watch.most <= CAPACITY and watch.duplicate_seats == []
    seats = [seat for _, seat in session_rows(service, start)]
    assert len(seats) == len(set(seats)) and set(seats) <= set(range(1, CAPACITY + 1))
    # Every seat a cancellation freed books again, and then the session is full.
    free = CAPACITY - len(seated)
    tries = [request("POST", url, token=token_for(UserFactory()), body=body)[0] for _ in range(free + 1)]
    assert tries == [201] * free + [409]
    assert sorted(seat for _, seat in session_rows(service, start)) == list(range(1, CAPACITY + 1))
    assert overlapping_pairs(service_id=service.id) == []


def test_twice_as_many_racers_as_resources_each_resource_taken_once_all_working(live_server):
    service, working, off = staffed_service(working=K, off=1)
    start = slot_start()
    results = post_bookings(live_server, [{"service_id": service.id, "start_time": iso(start)}] * (2 * K))
    assert statuses(results) == [201] * K + [409] * K
    assert conflict_codes(results) == {"booking_conflict"}
    taken = [payload["resource"]["id"] for status, payload in results if status == 201]
    assert sorted(taken) == sorted(working)  # each a different resource, and never the one off work
    rows = Booking.objects.filter(service=service).values_list("resource_id", flat=True)
    assert sorted(rows) == sorted(working) and off[0] not in rows
    schedules = {resource.id: resource.schedule for resource in bookable_resources(service)}
    assert all(schedules[pk].allows(start, start + timedelta(hours=1)) for pk in rows)
    assert overlapping_pairs(service_id=service.id) == []


def test_as_many_racers_as_free_resources_all_get_one(live_server):
    """ "Any available" never answers 409 while one of them is still free: K racers, K resources, K bookings."""
    service, working, _ = staffed_service(working=K, off=1)
    results = post_bookings(live_server, [{"service_id": service.id, "start_time": iso(slot_start())}] * K)
    assert statuses(results) == [201] * K
    assert sorted(payload["resource"]["id"] for _, payload in results) == sorted(working)
    assert overlapping_pairs(service_id=service.id) == []


def test_as_many_racers_as_seats_on_several_resources_all_get_one(live_server):
    """Two resources running sessions of three: six racers, six seats, six bookings, three on each."""
    service, working, _ = staffed_service(working=2, capacity=3)
    start = slot_start()
    results = post_bookings(live_server, [{"service_id": service.id, "start_time": iso(start)}] * 6)
    assert statuses(results) == [201] * 6
    rows = session_rows(service, start)
    assert sorted(rows) == sorted((pk, seat) for pk in working for seat in (1, 2, 3))
    assert overlapping_pairs(service_id=service.id) == []


def test_one_stylist_two_services_at_once_one_wins(live_server):
    """A stylist who cuts and colours: sixteen racers, half for each service, one slot. One booking."""
    stylist = Resource.objects.create(name="Alex")
    services = [ServiceFactory(duration_minutes=60), ServiceFactory(duration_minutes=90)]
    for service in services:
        service.resources.clear()
        stylist.services.add(service)
    start = slot_start()
    bodies = [
        {"service_id": services[n % 2].id, "start_time": iso(start + timedelta(minutes=30 * (n % 2)))}
        for n in range(16)
    ]
    results = post_bookings(live_server, bodies)
    assert statuses(results) == [201] + [409] * 15
    assert conflict_codes(results) == {"booking_conflict"}
    assert Booking.objects.filter(resource=stylist).count() == 1
    assert overlapping_pairs(resource_id=stylist.id) == []


def test_direct_and_any_available_racers_share_the_resources(live_server):
    """Racers naming a resource and racers taking any: no resource twice, and each named one that won got its own."""
    service, working, _ = staffed_service(working=2)
    start = slot_start()
    bodies = [{"service_id": service.id, "start_time": iso(start), "resource_id": working[n % 2]} for n in range(4)]
    bodies += [{"service_id": service.id, "start_time": iso(start)}] * 4
    results = post_bookings(live_server, bodies)
    assert statuses(results) == [201, 201] + [409] * 6
    assert sorted(payload["resource"]["id"] for status, payload in results if status == 201) == sorted(working)
    for body, (status, payload) in zip(bodies, results, strict=True):
        if status == 201 and "resource_id" in body:
            assert payload["resource"]["id"] == body["resource_id"]
    assert overlapping_pairs(service_id=service.id) == []


def book_one_by_one(live_server, bodies) -> list[tuple[str, int]]:
    """POST each body in turn, each by a user of its own (all must book): (token, booking id) of each."""
    booked = []
    for body in bodies:
        token = token_for(UserFactory())
        status, payload = request("POST", f"{live_server.url}/bookings", token=token, body=body)
        assert status == 201, payload
        booked.append((token, payload["id"]))
    return booked


def move_at_once(live_server, booked, start) -> list[tuple[int, dict]]:
    """PATCH every booking to ``start`` at the same instant, each by its owner."""
    url = f"{live_server.url}/bookings"
    return race(
        [
            lambda t=t, pk=pk: request("PATCH", f"{url}/{pk}", token=t, body={"start_time": iso(start)})
            for t, pk in booked
        ]
    )


def test_moves_of_two_services_onto_one_stylist_one_wins(live_server):
    """Eight bookings of a stylist's two services, at eight other hours, all moved to one hour at once."""
    stylist = Resource.objects.create(name="Alex")
    services = [ServiceFactory(duration_minutes=60), ServiceFactory(duration_minutes=60)]
    for service in services:
        service.resources.clear()
        stylist.services.add(service)
    start = slot_start()
    bodies = [{"service_id": services[n % 2].id, "start_time": iso(start + timedelta(hours=n + 1))} for n in range(8)]
    results = move_at_once(live_server, book_one_by_one(live_server, bodies), start)
    assert statuses(results) == [200] + [409] * 7
    assert conflict_codes(results) == {"booking_conflict"}
    assert Booking.objects.filter(resource=stylist, start_time=start).count() == 1
    assert overlapping_pairs(resource_id=stylist.id) == []


def test_moves_onto_one_slot_take_each_working_resource_once(live_server):
    """Two bookings on each of three resources, at 11:00 and 12:00, all moved to 10:00 at once: three move, each
    to a different resource that works then (the one off until 13:00 never), the rest are 409."""
    service, working, off = staffed_service(working=3, off=1)
    start = slot_start()
    bodies = [{"service_id": service.id, "start_time": iso(start + timedelta(hours=1 + n // 3))} for n in range(6)]
    results = move_at_once(live_server, book_one_by_one(live_server, bodies), start)
    assert statuses(results) == [200] * 3 + [409] * 3
    assert conflict_codes(results) == {"booking_conflict"}
    moved = Booking.objects.filter(service=service, start_time=start).values_list("resource_id", flat=True)
    assert sorted(moved) == sorted(working) and off[0] not in moved
    assert overlapping_pairs(service_id=service.id) == []

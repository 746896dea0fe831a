"""The overlap checker (``OVERLAPPING_PAIRS_SQL``) judges what the constraint judges: overlaps on a resource.

Tests, the stress script and the system tests trust it to say "no double
booking" on their own databases, so it must find a stylist in two services'
bookings at once, and must not call a group session's seats a clash.

Each test drops the constraint (and, where a seat is held twice, the seat
index) in a transaction rolled back at the end, writes bookings that must
never coexist, and checks that ``overlapping_pairs`` names them; what the
rule allows (seats of one session, other resources) it does not.
"""

from datetime import timedelta

import pytest
from django.db import connection, transaction

from bookings.selectors import overlapping_pairs
from bookings.tests.factories import BookingFactory
from catalog.models import Resource
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def without_the_constraint():
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE bookings_booking DROP CONSTRAINT bookings_booking_no_overlap")


def test_one_resource_in_two_services_bookings_at_once_is_a_pair():
    with transaction.atomic():
        without_the_constraint()
        haircut = BookingFactory()
        stylist = haircut.resource
        colouring = ServiceFactory()
        stylist.services.add(colouring)
        clash = BookingFactory(
            service=colouring, resource=stylist, start_time=haircut.start_time + timedelta(minutes=30)
        )
        assert overlapping_pairs() == [(haircut.id, clash.id)]
        transaction.set_rollback(True)


def test_seats_of_one_session_are_not_a_pair_but_a_one_to_one_booking_beside_them_is():
    with transaction.atomic():
        without_the_constraint()
        yoga = ServiceFactory(capacity=3)
        first = BookingFactory(service=yoga, seat=1)
        second = BookingFactory(service=yoga, seat=2, start_time=first.start_time)
        assert overlapping_pairs() == []
        intruder = BookingFactory(service=yoga, start_time=first.start_time)  # no seat: not of the session
        assert sorted(overlapping_pairs()) == [(first.id, intruder.id), (second.id, intruder.id)]
        transaction.set_rollback(True)


@pytest.fixture
def unguarded():
    """The bookings table without its no-overlap constraint and its one-booking-per-seat index, until the test
    ends (rolled back)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE bookings_booking DROP CONSTRAINT bookings_booking_no_overlap")
            cursor.execute("DROP INDEX bookings_booking_one_per_seat")
        yield
        transaction.set_rollback(True)


def test_two_services_of_one_resource_at_once_are_a_pair(unguarded):
    stylist = Resource.objects.create(name="Alex")
    cut, colour = ServiceFactory(), ServiceFactory()
    first = BookingFactory(service=cut, resource=stylist)
    second = BookingFactory(
        service=colour, resource=stylist, start_time=first.start_time + timedelta(minutes=30), end_time=first.end_time
    )
    assert overlapping_pairs(resource_id=stylist.id) == [(first.id, second.id)]
    assert overlapping_pairs(service_id=colour.id) == [(first.id, second.id)]


def test_one_service_on_two_resources_at_once_is_no_pair(unguarded):
    service = ServiceFactory()
    other = Resource.objects.create(name="Second room")
    first = BookingFactory(service=service)
    BookingFactory(service=service, resource=other, start_time=first.start_time, end_time=first.end_time)
    assert overlapping_pairs(service_id=service.id) == []


def test_seats_of_one_session_are_no_pair_but_one_seat_twice_is(unguarded):
    service = ServiceFactory(capacity=3)
    first = BookingFactory(service=service, seat=1)
    same_session = {"service": service, "start_time": first.start_time, "end_time": first.end_time}
    BookingFactory(**same_session, seat=2)
    assert overlapping_pairs(service_id=service.id) == []
    twice = BookingFactory(**same_session, seat=2)
    assert len(overlapping_pairs(service_id=service.id)) == 1 and twice.id in overlapping_pairs()[0]


def test_overlapping_sessions_of_one_resource_are_a_pair(unguarded):
    service = ServiceFactory(capacity=3)
    first = BookingFactory(service=service, seat=1)
    later = BookingFactory(
        service=service, seat=1, start_time=first.start_time + timedelta(minutes=30), end_time=first.end_time
    )
    assert overlapping_pairs(service_id=service.id) == [(first.id, later.id)]


def test_a_one_to_one_booking_beside_a_session_is_a_pair(unguarded):
    session, single = ServiceFactory(capacity=3), ServiceFactory()
    room = session.resources.get()
    room.services.add(single)
    seated = BookingFactory(service=session, seat=1)
    alone = BookingFactory(service=single, resource=room, start_time=seated.start_time, end_time=seated.end_time)
    assert overlapping_pairs(resource_id=room.id) == [(seated.id, alone.id)]

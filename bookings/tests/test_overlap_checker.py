"""The overlap checker (``OVERLAPPING_PAIRS_SQL``) judges what the constraint judges: overlaps on a resource.

Tests, the stress script and the system tests trust it to say "no double
booking" on their own databases, so it must find a stylist in two services'
bookings at once, and must not call a group session's seats a clash.
"""

from datetime import timedelta

import pytest
from django.db import connection, transaction

from bookings.selectors import overlapping_pairs
from bookings.tests.factories import BookingFactory
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

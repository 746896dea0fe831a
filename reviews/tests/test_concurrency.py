import pytest

from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from bookit.tests.http import race, request, token_for
from reviews.models import Review

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_simultaneous_reviews_of_one_booking(live_server):
    booking = BookingFactory(status=Booking.Status.COMPLETED)
    token = token_for(booking.user)
    body = {"booking_id": booking.id, "rating": 5}
    for _ in range(3):  # a few rounds, since a race is a matter of chance
        Review.objects.all().delete()
        results = race([lambda: request("POST", f"{live_server.url}/reviews", token=token, body=body)] * 4)
        assert sorted(status for status, _ in results) == [201, 409, 409, 409]
        assert Review.objects.filter(booking=booking).count() == 1

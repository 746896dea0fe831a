import factory

from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from reviews.models import Review


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    booking = factory.SubFactory(BookingFactory, status=Booking.Status.COMPLETED)
    user = factory.SelfAttribute("booking.user")
    service = factory.SelfAttribute("booking.service")
    rating = 4
    comment = "Good."

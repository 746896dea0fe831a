"""Every list endpoint renders ``.values()`` rows (``bookit.api.rows.RowRenderer``), not its serializer.

One table: for each list endpoint, the JSON a client gets is byte for byte what
the endpoint's serializer makes of the same objects, in the same order, with
the awkward values (microseconds, unicode, nulls, large decimals) included.
"""

import json
from decimal import Decimal

import pytest
from django.db.models import F
from rest_framework.renderers import JSONRenderer

from bookings.models import Booking
from bookings.selectors import booking_list
from bookings.serializers import BookingSerializer
from bookings.tests.factories import BookingFactory, future
from catalog.selectors import service_list
from catalog.serializers import ServiceSerializer
from catalog.tests.factories import ServiceFactory
from conftest import client_for
from reviews.models import Review
from reviews.serializers import PublicReviewSerializer
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db


def services_world(admin):
    rated = ServiceFactory(name="Rated", price=Decimal("1234567.05"), description="")
    for rating in (5, 4, 4):
        ReviewFactory(booking__service=rated, rating=rating)
    ReviewFactory(booking__service=ServiceFactory(name="Whole", price=Decimal("0.00")), rating=3)
    ServiceFactory(name="Unrated", description="Ünïcode \u2028 too")
    by_rating = service_list(user=None).order_by(F("average_rating").desc(nulls_last=True), "id")
    return [
        (None, "/services", ServiceSerializer, service_list(user=None)),
        (None, "/services?ordering=-average_rating", ServiceSerializer, by_rating),
    ]


def bookings_world(admin):
    BookingFactory(notes="Window seat, ünïcode")
    BookingFactory(
        status=Booking.Status.CANCELLED,
        cancelled_at=future(1).replace(microsecond=123456),
        cancellation_reason="Changed plans.",
    )
    BookingFactory(start_time=future(100).replace(second=7, microsecond=5), service__name="Studio")
    return [(admin, "/bookings", BookingSerializer, booking_list(user=admin))]


def reviews_world(admin):
    service = ServiceFactory()
    ReviewFactory(booking__service=service, rating=5, comment="Great, ünïcode \u2028 too", user__full_name="")
    ReviewFactory(booking__service=service, rating=1, comment="")
    reviews = Review.objects.filter(service=service).select_related("user")
    return [(None, f"/reviews/services/{service.id}", PublicReviewSerializer, reviews)]


@pytest.mark.parametrize("world", [services_world, bookings_world, reviews_world], ids=lambda w: w.__name__)
def test_list_rows_are_the_serializers_output(world, admin_user):
    for caller, path, serializer, objects in world(admin_user):
        results = client_for(caller).get(path).json()["results"]
        assert results, path
        assert results == json.loads(JSONRenderer().render(serializer(objects, many=True).data)), path

from datetime import UTC, timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from bookings.models import Booking
from catalog.tests.factories import ServiceFactory


def future(hours: float = 24) -> "timezone.datetime":
    """A moment `hours` from now, on a whole minute (as clients send them)."""
    return (timezone.now() + timedelta(hours=hours)).replace(second=0, microsecond=0)


class BookingFactory(factory.django.DjangoModelFactory):
    """Non-overlapping by default: each booking gets its own two-hour slot."""

    class Meta:
        model = Booking

    user = factory.SubFactory(UserFactory)
    service = factory.SubFactory(ServiceFactory)
    # The service's own resource (made with it) unless given: one service, one calendar.
    resource = factory.LazyAttribute(lambda b: b.service.resources.order_by("id").first())
    start_time = factory.Sequence(lambda n: future(24 + 2 * n))
    end_time = factory.LazyAttribute(lambda b: b.start_time + timedelta(hours=1))


def zone_at_midday(now: "timezone.datetime") -> str:
    """An IANA zone (``Etc/GMT-12`` ... ``Etc/GMT+11``) where it is about noon at ``now``: its "today" is
    hours away from either midnight, so a test of today's bookings cannot fall across a date change."""
    offset = 12 - now.astimezone(UTC).hour  # hours ahead of UTC; Etc/ names count the other way
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}")

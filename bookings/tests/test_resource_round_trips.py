"""What "any available" costs in round trips to PostgreSQL, against a booking that names its resource.

The issue allows at most 2 extra round trips for a service of three resources
of which the first two are busy. The pick lives inside the booking's single
INSERT (``bookings.writes``), so without a racer there are none: the same
statements, one of them a little longer. (A racer that takes the pick first
costs one more INSERT per place it took; ``test_resource_races`` proves those.)
``make bench`` measures the throughput of both.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.tests.factories import BookingFactory, future
from bookit.utc import iso_z as iso
from catalog.models import Resource
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trio():
    """A service of three resources (its own first), the first two busy at ``future(48)``; the third's id."""
    service = ServiceFactory(duration_minutes=60)
    for n in (2, 3):
        Resource.objects.create(name=f"Stylist {n}").services.add(service)
    first, second, third = service.resources.order_by("pk").values_list("pk", flat=True)
    for busy in (first, second):
        BookingFactory(service=service, resource_id=busy, start_time=future(47), end_time=future(50))
    return service, third


def statements(client, body) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/bookings", body, format="json")
    assert response.status_code == 201, response.data
    return [query["sql"] for query in queries.captured_queries]


def test_any_available_past_two_busy_resources_costs_no_extra_round_trip(user_client, trio):
    service, free = trio
    start = future(48)
    direct = statements(user_client, {"service_id": service.id, "start_time": iso(future(72)), "resource_id": free})
    anyone = statements(user_client, {"service_id": service.id, "start_time": iso(start)})
    assert len(anyone) == len(direct)  # the target: at most len(direct) + 2
    assert service.bookings.get(start_time=start).resource_id == free


def test_the_pick_is_inside_the_insert(user_client, trio):
    service, _ = trio
    sql = statements(user_client, {"service_id": service.id, "start_time": iso(future(48) + timedelta(hours=1))})
    inserts = [statement for statement in sql if "INSERT INTO" in statement]
    assert len(inserts) == 1 and "unnest" in inserts[0]

"""Queries per request, pinned: the same small number whatever the page size (authentication included).

One table for every list endpoint (and /me), so a change that adds a query
anywhere shows here. Each endpoint is asked for a page of 5 and a page of 40
out of 40+ rows with reviews, bookings and users behind them.
"""

import pytest

from bookings import services as booking_services
from bookings.tests.factories import BookingFactory, future
from bookit.utc import iso_z
from catalog.tests.factories import ServiceFactory
from conftest import client_for
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

WINDOW = "from={}&to={}"


@pytest.fixture
def world(user, admin_user):
    service = ServiceFactory()
    ServiceFactory.create_batch(39)
    ReviewFactory.create_batch(40, booking__service=service)  # 40 reviewers, 40 bookings
    BookingFactory.create_batch(40, user=user)
    noted = booking_services.booking_create(user=user, service=service, start_time=future(9000), actor=user)
    for n in range(40):  # 41 history events
        booking_services.booking_edit_notes(booking=noted, notes=str(n), actor=user)
    window = WINDOW.format(iso_z(future(0)), iso_z(future(10_000)))
    days = f"from={iso_z(future(0))}&to={iso_z(future(31 * 24 - 1))}"
    return {
        "anon": None,
        "user": user,
        "admin": admin_user,
        "service": service.id,
        "window": window,
        "days": days,
        "booking": noted.id,
    }


# fmt: off
PINNED = [
    # caller  path                                   queries  what they are
    # A page and its count are one query (bookit.api.pagination); ratings are stored on the service.
    ("anon",  "/services",                              2),  # the catalog version, the page with its count
    ("anon",  "/resources",                             2),  # the same; each row's service ids are in the page
    ("admin", "/resources",                             3),  # the JWT's user besides
    ("user",  "/me",                                    2),  # the JWT's user, whether a calendar feed exists
    ("user",  "/bookings",                              2),  # the JWT's user, the page with its count
    ("admin", "/bookings?{window}",                     2),
    ("anon",  "/reviews/services/{service}",            3),  # catalog version, the service exists, the page
    ("anon",  "/services/{service}/availability?{days}", 2),  # service with its hours and exceptions, bookings
    ("user",  "/bookings/{booking}/history",            3),  # the JWT's user, the booking is theirs, the page
]
# fmt: on


@pytest.mark.parametrize(("caller", "path", "queries"), PINNED, ids=[f"{c} {p}" for c, p, _ in PINNED])
@pytest.mark.parametrize("page_size", [5, 40])
def test_queries_per_request_are_pinned(world, django_assert_num_queries, caller, path, queries, page_size):
    client = client_for(world[caller])
    url = path.format(**world)
    separator = "&" if "?" in url else "?"
    with django_assert_num_queries(queries):
        response = client.get(f"{url}{separator}page_size={page_size}")
    assert response.status_code == 200
    if "results" in response.json():
        assert len(response.json()["results"]) == page_size


# A booking's write is one statement (the booking, its history event and, on a 409, the
# holder's period). Inside the test's transaction it runs in a savepoint (two more
# statements); a request in production runs it on its own, with no BEGIN or COMMIT.
BOOKING_WRITES = [
    # status  queries: the JWT's user, the service with its hours and exceptions, savepoint, the write, release
    (201, 5),
    (409, 5),
]


@pytest.mark.parametrize(("status", "queries"), BOOKING_WRITES)
def test_queries_per_booking_are_pinned(user, django_assert_num_queries, status, queries):
    service = ServiceFactory()
    client = client_for(user)
    body = {"service_id": service.id, "start_time": iso_z(future(1))}
    if status == 409:
        assert client.post("/bookings", body, format="json").status_code == 201
    with django_assert_num_queries(queries):
        response = client.post("/bookings", body, format="json")
    assert response.status_code == status

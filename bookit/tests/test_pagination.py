"""?page= and ?page_size= on every list: ASCII digits only; anything else is DRF's answer to an invalid value."""

import pytest

from bookings import services as booking_services
from bookings.tests.factories import BookingFactory, future
from catalog.tests.factories import ServiceFactory
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

# Digits of other scripts: str.isdigit() says yes to all of them, int() to all but the superscript.
NOT_ASCII = ["²", "1²", "٣", "\u0661", "۲", "३", "\uff12", "\U0001d7d0"]  # ..., Arabic-Indic 1, full-width 2, bold 2
NOT_NUMBERS = [*NOT_ASCII, "0", "-1", "+1", " 1", "1 ", "1_0", "1.0", "x", "", "1e3"]
TOO_FAR = ["99999999999999999999", "9" * 40, "9" * 5000]  # no SQL OFFSET holds these: past the last page


@pytest.fixture
def lists(user, anon, user_client):
    """(client, path) of each kind of list: kept catalog answers, the bookings' own SQL, DRF's own paginator."""
    service = ServiceFactory()
    ReviewFactory(booking__service=service)
    booking = booking_services.booking_create(user=user, service=service, start_time=future(30), actor=user)
    BookingFactory(user=user)
    return [
        (anon, "/services"),
        (anon, f"/reviews/services/{service.id}"),
        (user_client, "/bookings"),
        (user_client, f"/bookings/{booking.id}/history"),
    ]


@pytest.mark.parametrize("page", [*(n for n in NOT_NUMBERS if n), *TOO_FAR])
def test_a_page_that_is_not_an_ascii_number_is_404(lists, page):
    for client, path in lists:
        response = client.get(path, {"page": page})
        assert response.status_code == 404, (path, page, response.content)
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("page", ["1", "01", "last", ""])
def test_page_one_in_ascii_digits_or_last(lists, page):
    for client, path in lists:
        response = client.get(path, {"page": page})
        assert response.status_code == 200, (path, page)
        assert response.json()["results"]


@pytest.mark.parametrize("size", NOT_NUMBERS)
def test_a_page_size_that_is_not_an_ascii_number_is_ignored(lists, size, user, user_client):
    BookingFactory.create_batch(25, user=user)
    for client, path in [*lists, (user_client, "/bookings")]:
        response = client.get(path, {"page_size": size})
        assert response.status_code == 200, (path, size)
    assert len(user_client.get("/bookings", {"page_size": size}).json()["results"]) == 20  # the default


def test_a_page_size_in_ascii_digits_counts(user, user_client):
    BookingFactory.create_batch(25, user=user)
    assert len(user_client.get("/bookings", {"page_size": "3"}).json()["results"]) == 3
    assert len(user_client.get("/bookings", {"page_size": "003"}).json()["results"]) == 3
    assert len(user_client.get("/bookings", {"page_size": "٣"}).json()["results"]) == 20
    for huge in TOO_FAR:
        assert len(user_client.get("/bookings", {"page_size": huge}).json()["results"]) == 25  # capped at 100

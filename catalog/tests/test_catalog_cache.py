"""GET /services is kept per URL under the catalog's version: proven never stale once a change commits.

Transactional tests: every change really commits, as in production, and every
read after it goes through the cache that the read before it filled.
"""

from datetime import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog import selectors, services
from catalog.models import Service
from catalog.tests.factories import ServiceFactory
from conftest import client_for
from reviews import services as review_services
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db(transaction=True)


def listed(client) -> dict:
    response = client.get("/services")
    assert response.status_code == 200
    return {row["id"]: row for row in response.json()["results"]}


@pytest.fixture
def service():
    return ServiceFactory(name="Sauna", price=Decimal("10.00"))


def test_a_second_read_is_the_version_query_only(service, anon):
    listed(anon)
    with CaptureQueriesContext(connection) as queries:
        assert listed(anon)[service.id]["name"] == "Sauna"
    assert [query["sql"] for query in queries] == ["SELECT version FROM catalog_version"]


CHANGES = {
    "the service": lambda s: services.service_update(service=s, name="Steam room"),
    "its policy": lambda s: services.service_update(service=s, buffer_minutes=15),
    "its hours": lambda s: services.service_update(
        service=s, working_hours=[{"weekday": 1, "start": time(9), "end": time(17)}]
    ),
    "its exceptions": lambda s: services.service_update(service=s, exceptions=[{"date": "2031-01-01"}]),
    "a deactivation": lambda s: services.service_set_active(services=Service.objects.filter(pk=s.pk), is_active=False),
    "raw SQL": lambda s: connection.cursor().execute("UPDATE catalog_service SET price = 99 WHERE id = %s", [s.pk]),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES)
def test_every_change_is_seen_by_the_next_read(service, anon, change):
    before = selectors.catalog_version()
    cached = listed(anon)
    change(service)
    assert selectors.catalog_version() != before
    fresh = {row["id"]: row for row in anon.get("/services").json()["results"]}
    expected = {
        row["id"]: row for row in client_for(None).get("/services?page_size=21").json()["results"]
    }  # another URL: never cached before the change
    assert fresh == expected
    if service.pk in cached and service.pk in fresh:
        assert fresh[service.pk] == expected[service.pk]


def test_ratings_written_by_the_reviews_trigger_are_seen_at_once(service, anon, user):
    assert listed(anon)[service.id]["review_count"] == 0
    review = ReviewFactory(booking__service=service, rating=2)
    row = listed(anon)[service.id]
    assert (row["review_count"], row["average_rating"]) == (1, 2.0)
    review_services.review_update(review=review, user=review.user, rating=4)
    assert listed(anon)[service.id]["average_rating"] == 4.0
    review_services.review_delete(review=review)
    assert listed(anon)[service.id]["review_count"] == 0


def test_staff_and_the_public_never_share_an_answer(service, anon, admin_client):
    services.service_set_active(services=Service.objects.filter(pk=service.pk), is_active=False)
    assert service.id not in listed(anon)
    assert service.id in listed(admin_client)
    assert service.id not in listed(anon)


def test_if_none_match_is_a_304_until_the_catalog_changes(service, anon):
    etag = anon.get("/services").headers["ETag"]
    assert anon.get("/services").headers["Cache-Control"] == "public, no-cache"
    not_modified = anon.get("/services", HTTP_IF_NONE_MATCH=etag)
    assert (not_modified.status_code, not_modified.content) == (304, b"")
    services.service_update(service=service, name="Steam room")
    changed = anon.get("/services", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert listed(anon)[service.id]["name"] == "Steam room"


def test_a_change_is_never_served_before_it_commits(service, anon):
    listed(anon)
    with transaction.atomic():
        services.service_update(service=service, name="Never committed")
        assert listed(anon)[service.id]["name"] == "Never committed"  # this transaction sees its own change
        transaction.set_rollback(True)
    assert listed(anon)[service.id]["name"] == "Sauna"
    services.service_update(service=service, name="Steam room")
    assert listed(anon)[service.id]["name"] == "Steam room"

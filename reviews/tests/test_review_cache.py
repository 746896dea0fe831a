"""GET /reviews/services/{id} is kept per URL under the catalog's version: never stale once a change commits."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from accounts.tests.interleave import paused_after
from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.models import Service
from conftest import client_for
from reviews import services
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db(transaction=True)


def reviews_of(client, service) -> list[dict]:
    response = client.get(f"/reviews/services/{service.pk}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def review():
    return ReviewFactory(comment="Good.", booking__user__full_name="Ada")


def test_a_second_read_is_the_version_query_only(review, anon):
    reviews_of(anon, review.service)
    with CaptureQueriesContext(connection) as queries:
        assert reviews_of(anon, review.service)[0]["comment"] == "Good."
    assert len(queries) == 1


def test_a_comment_edit_is_seen_by_the_next_read(review, anon):
    reviews_of(anon, review.service)
    services.review_update(review=review, user=review.user, comment="Changed my mind.")
    assert reviews_of(anon, review.service)[0]["comment"] == "Changed my mind."


def test_a_reviewers_new_name_is_seen_by_the_next_read(review, anon):
    assert reviews_of(anon, review.service)[0]["reviewer_name"] == "Ada"
    account_services.user_update(user=review.user, full_name="Ada Lovelace")
    assert reviews_of(anon, review.service)[0]["reviewer_name"] == "Ada Lovelace"


def test_new_and_deleted_reviews_are_seen_by_the_next_read(review, anon):
    assert len(reviews_of(anon, review.service)) == 1
    second = ReviewFactory(booking__service=review.service)
    assert len(reviews_of(anon, review.service)) == 2
    services.review_delete(review=second)
    assert len(reviews_of(anon, review.service)) == 1


def test_a_deactivated_service_hides_its_reviews_at_once(review, anon, admin_client):
    reviews_of(anon, review.service)
    catalog_services.service_set_active(services=Service.objects.filter(pk=review.service_id), is_active=False)
    assert anon.get(f"/reviews/services/{review.service_id}").status_code == 404
    assert len(reviews_of(admin_client, review.service)) == 1


class TestRenames:
    """Only a name that is shown moves the version: otherwise any account could empty every worker's
    kept answers by renaming itself in a loop (reviews migration 0005)."""

    def test_a_rename_without_reviews_keeps_the_version_and_the_etag(self, user, anon):
        ReviewFactory()  # someone else's
        etag = anon.get("/services").headers["ETag"]
        before = catalog_selectors.catalog_version()
        for name in ("Mallory", "Mallory 2", "Mallory 3"):
            assert client_for(user).patch("/me", {"full_name": name}).status_code == 200
        assert catalog_selectors.catalog_version() == before
        assert anon.get("/services", HTTP_IF_NONE_MATCH=etag).status_code == 304

    def test_a_reviewers_rename_moves_it_and_is_seen(self, review, anon):
        etag = anon.get(f"/reviews/services/{review.service_id}").headers["ETag"]
        before = catalog_selectors.catalog_version()
        assert client_for(review.user).patch("/me", {"full_name": "Ada Lovelace"}).status_code == 200
        assert catalog_selectors.catalog_version() != before
        fresh = anon.get(f"/reviews/services/{review.service_id}", HTTP_IF_NONE_MATCH=etag)
        assert fresh.status_code == 200 and fresh.json()["results"][0]["reviewer_name"] == "Ada Lovelace"

    def test_a_first_review_waits_for_a_rename_in_flight(self, user, anon):
        """The rename's check runs at its commit; a first review committing just before that commit
        would go unseen by it, so a review waits for its reviewer's rename to commit."""
        booking = BookingFactory(user=user, status=Booking.Status.COMPLETED)
        assert reviews_of(anon, booking.service) == []
        with paused_after(Steps, "renamed", lambda: rename_in_a_transaction(user, "Ada Lovelace")) as renaming:
            services.review_create(user=user, booking_id=booking.pk, rating=5)
        assert renaming.error is None and renaming.blocked_someone
        assert reviews_of(anon, booking.service)[0]["reviewer_name"] == "Ada Lovelace"


class Steps:
    @staticmethod
    def renamed():
        """Reached inside the rename's transaction, after its UPDATE: ``paused_after`` holds it here."""


def rename_in_a_transaction(user, name: str):
    with transaction.atomic():
        account_services.user_update(user=user, full_name=name)
        Steps.renamed()

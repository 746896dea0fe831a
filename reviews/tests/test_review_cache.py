"""GET /reviews/services/{id} is kept per URL under the catalog's version: never stale once a change commits."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from catalog import services as catalog_services
from catalog.models import Service
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

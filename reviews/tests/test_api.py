import json
from decimal import Decimal

import pytest
from rest_framework.renderers import JSONRenderer

from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from catalog.tests.factories import ServiceFactory
from reviews.models import Review
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db
Status = Booking.Status


@pytest.fixture
def completed(user):
    return BookingFactory(user=user, status=Status.COMPLETED)


class TestCreate:
    def test_owner_reviews_completed_booking(self, user_client, user, completed):
        response = user_client.post("/reviews", {"booking_id": completed.id, "rating": 5, "comment": "Great"})
        assert response.status_code == 201
        body = response.json()
        assert (body["booking_id"], body["service_id"], body["rating"]) == (completed.id, completed.service_id, 5)
        assert body["reviewer_name"] == user.full_name
        review = Review.objects.get()
        assert (review.user, review.service) == (user, completed.service)

    @pytest.mark.parametrize("status", [Status.PENDING, Status.CONFIRMED, Status.CANCELLED])
    def test_unfinished_booking_is_409_explaining_why(self, user_client, user, status):
        booking = BookingFactory(user=user, status=status)
        response = user_client.post("/reviews", {"booking_id": booking.id, "rating": 5})
        assert response.status_code == 409
        assert status in response.json()["detail"]
        assert not Review.objects.exists()

    def test_someone_elses_booking_is_404(self, other_client, completed):
        assert other_client.post("/reviews", {"booking_id": completed.id, "rating": 5}).status_code == 404

    def test_unknown_booking_is_404(self, user_client):
        assert user_client.post("/reviews", {"booking_id": 999999, "rating": 5}).status_code == 404

    def test_second_review_is_409(self, user_client, completed):
        user_client.post("/reviews", {"booking_id": completed.id, "rating": 5})
        response = user_client.post("/reviews", {"booking_id": completed.id, "rating": 1})
        assert response.status_code == 409
        assert response.json()["code"] == "already_reviewed"
        assert Review.objects.get().rating == 5

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"rating": 0}, "rating"),
            ({"rating": 6}, "rating"),
            ({"rating": "x"}, "rating"),
            ({}, "rating"),
            ({"rating": 3, "comment": "x" * 5001}, "comment"),
        ],
    )
    def test_bad_input_is_400(self, user_client, completed, body, field):
        response = user_client.post("/reviews", {"booking_id": completed.id, **body})
        assert response.status_code == 400
        assert field in response.json()["errors"]

    def test_anonymous_is_401(self, anon, completed):
        assert anon.post("/reviews", {"booking_id": completed.id, "rating": 5}).status_code == 401

    def test_database_checks_rating(self, completed):
        from django.db import IntegrityError, transaction

        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.bulk_create(
                [Review(booking=completed, user=completed.user, service=completed.service, rating=6)]
            )


def rendered(data):
    """What the API's renderer makes of serializer output, as the client reads it."""
    return json.loads(JSONRenderer().render(data))


class TestServiceReviews:
    def test_public_newest_first_with_name_never_email(self, anon):
        service = ServiceFactory()
        old = ReviewFactory(booking__service=service)
        new = ReviewFactory(booking__service=service)
        ReviewFactory()  # another service
        response = anon.get(f"/reviews/services/{service.id}")
        assert response.status_code == 200
        body = response.json()
        assert [r["id"] for r in body["results"]] == [new.id, old.id]
        assert "@" not in str(body)

    def test_the_public_list_shows_no_booking_ids(self, anon):
        service = ServiceFactory()
        ReviewFactory(booking__service=service)
        [row] = anon.get(f"/reviews/services/{service.id}").json()["results"]
        assert set(row) == {"id", "service_id", "reviewer_name", "rating", "comment", "created_at", "updated_at"}
        schema = anon.get("/openapi.json").json()
        listed = schema["paths"]["/reviews/services/{service_id}"]["get"]["responses"]["200"]["content"]
        page = listed["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        item = schema["components"]["schemas"][page]["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[-1]
        assert "booking_id" not in schema["components"]["schemas"][item]["properties"]

    def test_unknown_or_inactive_service_is_404(self, anon):
        assert anon.get("/reviews/services/999999").status_code == 404
        assert anon.get(f"/reviews/services/{ServiceFactory(is_active=False).id}").status_code == 404


class TestChange:
    def test_owner_patches(self, user_client, user):
        review = ReviewFactory(booking__user=user)
        response = user_client.patch(f"/reviews/{review.id}", {"rating": 2, "comment": "meh"})
        assert response.status_code == 200
        review.refresh_from_db()
        assert (review.rating, review.comment) == (2, "meh")

    def test_others_get_404_and_admin_403_on_patch(self, other_client, admin_client, user):
        review = ReviewFactory(booking__user=user)
        assert other_client.patch(f"/reviews/{review.id}", {"rating": 1}).status_code == 404
        assert admin_client.patch(f"/reviews/{review.id}", {"rating": 1}).status_code == 403
        review.refresh_from_db()
        assert review.rating == 4

    def test_patch_cannot_move_review(self, user_client, user):
        review = ReviewFactory(booking__user=user)
        other = BookingFactory(user=user, status=Status.COMPLETED)
        response = user_client.patch(
            f"/reviews/{review.id}", {"booking_id": other.id, "service_id": other.service_id, "rating": 3}
        )
        assert response.status_code == 200
        review.refresh_from_db()
        assert (review.booking_id, review.rating) == (review.booking.id, 3)
        assert review.booking_id != other.id and review.service_id != other.service_id

    def test_bad_rating_on_patch_is_400(self, user_client, user):
        review = ReviewFactory(booking__user=user)
        assert user_client.patch(f"/reviews/{review.id}", {"rating": 9}).status_code == 400

    def test_delete_by_owner_or_admin(self, user_client, other_client, admin_client, user):
        mine = ReviewFactory(booking__user=user)
        another = ReviewFactory(booking__user=user)
        assert other_client.delete(f"/reviews/{mine.id}").status_code == 404
        assert user_client.delete(f"/reviews/{mine.id}").status_code == 204
        assert admin_client.delete(f"/reviews/{another.id}").status_code == 204
        assert not Review.objects.exists()

    def test_booking_with_review_cannot_be_deleted_by_admin(self, admin_client):
        review = ReviewFactory()
        response = admin_client.delete(f"/bookings/{review.booking_id}")
        assert response.status_code == 409
        assert response.json()["code"] == "booking_has_review"


class TestServiceRatings:
    def test_average_and_count_on_list_and_detail(self, anon):
        rated = ServiceFactory(name="Rated")
        for rating in (5, 4, 4):
            ReviewFactory(booking__service=rated, rating=rating)
        ServiceFactory(name="Unrated")
        rows = {r["name"]: r for r in anon.get("/services").json()["results"]}
        assert rows["Rated"]["average_rating"] == 4.33
        assert rows["Rated"]["review_count"] == 3
        assert (rows["Unrated"]["average_rating"], rows["Unrated"]["review_count"]) == (None, 0)
        detail = anon.get(f"/services/{rated.id}").json()
        assert Decimal(str(detail["average_rating"])) == Decimal("4.33")

    def test_order_by_average_rating_puts_unrated_last(self, anon):
        low, high, none = ServiceFactory(name="Low"), ServiceFactory(name="High"), ServiceFactory(name="None")
        ReviewFactory(booking__service=low, rating=2)
        ReviewFactory(booking__service=high, rating=5)
        names = [r["name"] for r in anon.get("/services?ordering=-average_rating").json()["results"]]
        assert names == [high.name, low.name, none.name]


def test_review_author_and_service_come_from_the_booking(user_client, user, other_user, completed):
    other_service = ServiceFactory()
    response = user_client.post(
        "/reviews",
        {
            "booking_id": completed.id,
            "rating": 4,
            "user_id": other_user.id,
            "user": other_user.id,
            "service_id": other_service.id,
        },
    )
    assert response.status_code == 201
    review = Review.objects.get()
    assert (review.user, review.service_id) == (user, completed.service_id)


def test_rating_totals_follow_every_review_change(user_client, admin_client, user):
    """The trigger keeps review_count and rating_sum in step with inserts, rating changes and deletes."""
    service = ServiceFactory()
    mine = ReviewFactory(booking__user=user, booking__service=service, rating=5)
    ReviewFactory(booking__service=service, rating=2)

    def totals():
        service.refresh_from_db()
        return service.review_count, service.rating_sum, user_client.get(f"/services/{service.id}").json()

    count, total, body = totals()
    assert (count, total, body["average_rating"], body["review_count"]) == (2, 7, 3.5, 2)
    assert user_client.patch(f"/reviews/{mine.id}", {"rating": 3}).status_code == 200
    assert totals()[:2] == (2, 5)
    assert admin_client.delete(f"/reviews/{mine.id}").status_code == 204
    count, total, body = totals()
    assert (count, total, body["average_rating"]) == (1, 2, 2.0)


class TestPartialUpdates:
    """Updates write only the columns they change (bookit.db.updates.model_update)."""

    def test_a_review_written_between_an_admins_read_and_save_still_counts(self):
        from catalog import services as catalog_services
        from catalog.models import Service

        service = ServiceFactory(name="Before")
        read_by_admin = Service.objects.get(pk=service.pk)  # the admin's form reads the service
        ReviewFactory(booking__service=service, rating=4)  # the ratings trigger updates the totals
        catalog_services.service_update(service=read_by_admin, name="After")  # the admin saves
        service.refresh_from_db()
        assert (service.name, service.review_count, service.rating_sum) == ("After", 1, 4)

    def test_updating_a_deleted_review_is_a_404_and_does_not_bring_it_back(self):
        from bookit.domain_errors import NotFoundError
        from reviews import services as review_services

        review = ReviewFactory()
        stale = Review.objects.get(pk=review.pk)
        review_services.review_delete(review=review)
        with pytest.raises(NotFoundError) as error:
            review_services.review_update(review=stale, user=stale.user, rating=1)
        assert error.value.status_code == 404
        assert not Review.objects.exists()

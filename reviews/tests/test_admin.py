"""The review admin, and the admin screens that need reviews: service ratings, protected deletes."""

from decimal import Decimal

import pytest
from django.contrib.admin import site
from django.db.models import DateTimeField

from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from catalog.models import Service
from catalog.tests.factories import ServiceFactory
from reviews.models import Review
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db
REVIEWS = "/admin/reviews/review/"
SERVICES = "/admin/catalog/service/"
BOOKED_PERIOD = {"start_time", "end_time"}  # what a booking is about, not when it was written


class TestServiceStats:
    def test_booking_count_and_average_rating_columns(self, staff_client):
        rated = ServiceFactory(name="Rated")
        for rating in (4, 5, 5):
            ReviewFactory(booking__service=rated, rating=rating)
        BookingFactory(service=rated)
        ServiceFactory(name="New")
        rows = {s.name: s for s in staff_client.get(SERVICES).context["cl"].result_list}
        assert (rows["Rated"].booking_count, rows["Rated"].average_rating) == (4, Decimal("4.67"))
        assert (rows["New"].booking_count, rows["New"].average_rating) == (0, None)

    def test_order_by_average_rating(self, staff_client):
        for name, rating in (("Low", 2), ("High", 5)):
            ReviewFactory(booking__service=ServiceFactory(name=name), rating=rating)
        rows = staff_client.get(SERVICES, {"o": "-6"}).context["cl"].result_list  # 6th column, descending
        assert [s.name for s in rows] == ["High", "Low"]

    def test_a_page_of_100_services_takes_a_constant_number_of_queries(
        self, staff_client, django_assert_max_num_queries
    ):
        ReviewFactory.create_batch(2)
        with django_assert_max_num_queries(20) as few:
            assert staff_client.get(SERVICES).status_code == 200
        ReviewFactory.create_batch(98)
        with django_assert_max_num_queries(len(few.captured_queries)):
            rows = staff_client.get(SERVICES).context["cl"].result_list
        assert len(rows) == 100
        assert all((s.booking_count, s.average_rating) == (1, 4) for s in rows)


class TestProtectedDeletes:
    def test_service_with_bookings_is_not_deleted(self, staff_client):
        booking = BookingFactory()
        response = staff_client.post(f"{SERVICES}{booking.service_id}/delete/", {"post": "yes"})
        assert response.status_code == 200
        assert "would require deleting the following protected related objects" in response.content.decode()
        assert Service.objects.exists()

    def test_reviewed_booking_is_not_deleted(self, staff_client):
        review = ReviewFactory()
        response = staff_client.post(f"/admin/bookings/booking/{review.booking_id}/delete/", {"post": "yes"})
        assert response.status_code == 200
        assert Booking.objects.exists()


class TestReviewAdmin:
    def test_list_filter_and_search(self, staff_client):
        ReviewFactory(rating=5, comment="Lovely staff", booking__service__name="Sauna")
        ReviewFactory(rating=2, comment="Too cold")
        page = staff_client.get(REVIEWS)
        assert "Sauna" in page.content.decode()

        def comments(**params):
            return [r.comment for r in staff_client.get(REVIEWS, params).context["cl"].result_list]

        assert comments(rating__exact=5) == ["Lovely staff"]
        assert comments(q="cold") == ["Too cold"]

    def test_staff_read_but_never_write_reviews(self, staff_client):
        review = ReviewFactory(comment="Mine")
        assert staff_client.get(REVIEWS + "add/").status_code == 403
        url = f"{REVIEWS}{review.pk}/change/"
        page = staff_client.get(url)
        assert page.status_code == 200
        assert page.context["adminform"].form.fields == {}
        staff_client.post(url, {"rating": 1, "comment": "Changed"})
        review.refresh_from_db()
        assert (review.rating, review.comment) == (4, "Mine")

    def test_staff_delete_a_review(self, staff_client):
        review = ReviewFactory()
        assert staff_client.post(f"{REVIEWS}{review.pk}/delete/", {"post": "yes"}).status_code == 302
        assert not Review.objects.exists()


class TestEveryAdminPage:
    """Across the whole admin site: pages render, and no timestamp is ever an input."""

    @pytest.fixture
    def model_admins(self):
        return [(model, model_admin) for model, model_admin in site._registry.items()]

    def test_changelist_add_and_change_pages_render(self, staff_client, staff, model_admins):
        ReviewFactory()
        for model, _ in model_admins:
            base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            assert staff_client.get(base).status_code == 200, base
            assert staff_client.get(base + "add/").status_code in (200, 403), base
            obj = model._default_manager.first()
            if obj is not None:
                assert staff_client.get(f"{base}{obj.pk}/change/").status_code == 200, base

    def test_timestamps_are_never_form_inputs(self, rf, staff, model_admins):
        request = rf.get("/admin/")
        request.user = staff
        for model, model_admin in model_admins:
            if not (model_admin.has_add_permission(request) or model_admin.has_change_permission(request)):
                continue  # read-only screens (the job queue's, the webhook log) have no form inputs at all
            timestamps = {
                field.name
                for field in model._meta.fields
                if isinstance(field, DateTimeField) and field.name not in BOOKED_PERIOD
            }
            for obj in (None, model()):
                fields = model_admin.get_form(request, obj).base_fields
                assert not timestamps & set(fields), (model, obj)

from decimal import Decimal

import pytest

from catalog.models import Service
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

NEW_SERVICE = {"name": "Massage", "description": "Relaxing", "price": "40.00", "duration_minutes": 50}


def names(response):
    return [row["name"] for row in response.json()["results"]]


class TestList:
    def test_public_list_shows_active_services_only(self, anon):
        ServiceFactory(name="Open")
        ServiceFactory(name="Closed", is_active=False)
        response = anon.get("/services")
        assert response.status_code == 200
        assert names(response) == ["Open"]
        assert set(response.json()) == {"count", "next", "previous", "results"}

    def test_admin_sees_inactive_and_can_filter_on_it(self, admin_client):
        ServiceFactory(name="Open")
        ServiceFactory(name="Closed", is_active=False)
        assert names(admin_client.get("/services")) == ["Closed", "Open"]
        assert names(admin_client.get("/services?is_active=false")) == ["Closed"]

    def test_full_text_search_over_name_and_description(self, anon):
        ServiceFactory(name="Haircut", description="Wash and style")
        ServiceFactory(name="Tennis court", description="Outdoor court with rackets")
        assert names(anon.get("/services?q=rackets")) == ["Tennis court"]
        assert names(anon.get("/services?q=haircuts")) == ["Haircut"]  # stemmed

    def test_price_and_duration_filters(self, anon):
        ServiceFactory(name="Cheap", price=Decimal("10.00"), duration_minutes=30)
        ServiceFactory(name="Mid", price=Decimal("50.00"), duration_minutes=90)
        ServiceFactory(name="Dear", price=Decimal("100.00"), duration_minutes=30)
        assert names(anon.get("/services?min_price=20&max_price=60")) == ["Mid"]
        assert names(anon.get("/services?max_duration=30")) == ["Cheap", "Dear"]

    def test_ordering(self, anon):
        ServiceFactory(name="B", price=Decimal("30.00"))
        ServiceFactory(name="A", price=Decimal("20.00"))
        ServiceFactory(name="C", price=Decimal("10.00"))
        assert names(anon.get("/services?ordering=price")) == ["C", "A", "B"]
        assert names(anon.get("/services?ordering=-price")) == ["B", "A", "C"]
        assert names(anon.get("/services?ordering=-name")) == ["C", "B", "A"]

    @pytest.mark.parametrize("query", ["min_price=abc", "ordering=secret_field", "max_duration=x"])
    def test_bad_filter_is_400(self, anon, query):
        response = anon.get(f"/services?{query}")
        assert response.status_code == 400
        assert response.json()["errors"]

    def test_pagination_defaults_and_page_size_cap(self, anon):
        ServiceFactory.create_batch(25)
        first = anon.get("/services").json()
        assert (first["count"], len(first["results"])) == (25, 20)
        assert first["next"] and first["previous"] is None
        assert len(anon.get("/services?page=2").json()["results"]) == 5
        assert len(anon.get("/services?page_size=500").json()["results"]) == 25


class TestDetail:
    def test_inactive_service_is_404_unless_admin(self, anon, user_client, admin_client):
        service = ServiceFactory(is_active=False)
        assert anon.get(f"/services/{service.id}").status_code == 404
        assert user_client.get(f"/services/{service.id}").status_code == 404
        assert admin_client.get(f"/services/{service.id}").json()["id"] == service.id

    def test_detail_fields(self, anon):
        service = ServiceFactory(price=Decimal("12.50"))
        body = anon.get(f"/services/{service.id}").json()
        assert body["price"] == "12.50"
        assert {"id", "name", "description", "duration_minutes", "is_active", "created_at", "updated_at"} <= set(body)

    @pytest.mark.parametrize("pk", ["999999", "abc", "99999999999999999999999"])
    def test_unknown_service_is_404(self, anon, pk):
        assert anon.get(f"/services/{pk}").status_code == 404


class TestWrites:
    def test_admin_creates_a_service(self, admin_client):
        response = admin_client.post("/services", NEW_SERVICE)
        assert response.status_code == 201
        assert response.json()["price"] == "40.00"
        assert Service.objects.get(pk=response.json()["id"]).name == "Massage"

    def test_writes_are_401_anonymous_and_403_for_users(self, anon, user_client):
        service = ServiceFactory()
        for client, expected in ((anon, 401), (user_client, 403)):
            assert client.post("/services", NEW_SERVICE).status_code == expected
            assert client.patch(f"/services/{service.id}", {"name": "X"}).status_code == expected
            assert client.delete(f"/services/{service.id}").status_code == expected
        assert Service.objects.count() == 1
        service.refresh_from_db()
        assert service.name != "X"

    @pytest.mark.parametrize(
        ("field", "value"),
        [("price", "-1"), ("price", "1.234"), ("duration_minutes", 0), ("duration_minutes", 1441), ("name", "")],
    )
    def test_invalid_values_are_field_errors(self, admin_client, field, value):
        response = admin_client.post("/services", {**NEW_SERVICE, field: value})
        assert response.status_code == 400
        assert field in response.json()["errors"]
        assert not Service.objects.exists()

    def test_admin_patches_only_given_fields(self, admin_client):
        service = ServiceFactory(price=Decimal("10.00"))
        response = admin_client.patch(f"/services/{service.id}", {"price": "15.00"})
        assert response.status_code == 200
        service.refresh_from_db()
        assert service.price == Decimal("15.00") and service.duration_minutes == 60

    def test_admin_deletes_a_service_without_bookings(self, admin_client):
        service = ServiceFactory()
        assert admin_client.delete(f"/services/{service.id}").status_code == 204
        assert not Service.objects.filter(pk=service.id).exists()


def test_database_enforces_price_and_duration_checks():
    from django.db import IntegrityError, transaction

    for bad in ({"price": Decimal("-1")}, {"duration_minutes": 0}, {"duration_minutes": 1441}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Service.objects.bulk_create(
                [Service(**{"name": "x", "price": Decimal("1"), "duration_minutes": 10, **bad})]
            )

"""GET /resources for everyone, admin-only writes through catalog.services, and POST /services' resources."""

import json
from datetime import time

import pytest
from rest_framework.renderers import JSONRenderer

from bookings.tests.factories import BookingFactory
from catalog import selectors, services
from catalog.models import Resource, ScheduleException, Service, WorkingHours
from catalog.serializers import ResourceSerializer, ResourceStaffSerializer
from catalog.tests.factories import ServiceFactory
from conftest import client_for

pytestmark = pytest.mark.django_db

PUBLIC_FIELDS = {"id", "name", "kind", "services"}
STAFF_ROW_FIELDS = PUBLIC_FIELDS | {"is_active", "timezone"}
STAFF_DETAIL_FIELDS = STAFF_ROW_FIELDS | {"working_hours", "exceptions"}
NEW_SERVICE = {"name": "Yoga", "price": "12.00", "duration_minutes": 60}


def own_resource(service: Service) -> Resource:
    """The resource the database gave ``service`` when it was created (catalog migration 0006)."""
    return service.resources.get()


def resource(name: str, *services: Service, **fields) -> Resource:
    made = Resource.objects.create(name=name, **fields)
    made.services.set(services)
    return made


def listed(client, query: str = "") -> dict[str, dict]:
    response = client.get(f"/resources{query}")
    assert response.status_code == 200, response.json()
    return {row["name"]: row for row in response.json()["results"]}


class TestRead:
    def test_the_public_sees_active_resources_with_public_fields_only(self, anon, user_client):
        cut = ServiceFactory(name="Cut")
        colour = ServiceFactory(name="Colour")
        ann = resource("Ann", cut, colour, timezone="Europe/Berlin")
        ann.working_hours.create(weekday=1, start=time(9), end=time(17))
        resource("Retired", cut, is_active=False)
        for client in (anon, user_client):
            rows = listed(client)
            assert set(rows) == {"Ann", "Cut", "Colour"}  # each service's own resource is listed too
            assert rows["Ann"] == {"id": ann.pk, "name": "Ann", "kind": "staff", "services": [cut.pk, colour.pk]}
            detail = client.get(f"/resources/{ann.pk}").json()
            assert detail == rows["Ann"]
            assert client.get(f"/resources/{Resource.objects.get(name='Retired').pk}").status_code == 404

    def test_the_public_never_sees_an_inactive_service_among_the_ids(self, anon, admin_client):
        shown, hidden = ServiceFactory(), ServiceFactory(is_active=False)
        ann = resource("Ann", shown, hidden)
        assert listed(anon)["Ann"]["services"] == [shown.pk]
        assert anon.get(f"/resources/{ann.pk}").json()["services"] == [shown.pk]
        assert set(listed(anon, f"?service={hidden.pk}")) == set()
        assert listed(admin_client)["Ann"]["services"] == sorted([shown.pk, hidden.pk])
        assert set(listed(admin_client, f"?service={hidden.pk}")) == {"Ann", hidden.name}

    def test_staff_see_everything(self, admin_client):
        cut = ServiceFactory(name="Cut")
        ann = resource("Ann", cut, timezone="Europe/Berlin", is_active=False)
        ann.working_hours.create(weekday=1, start=time(9), end=time(17))
        ann.exceptions.create(date="2031-12-24")
        row = listed(admin_client)["Ann"]
        assert set(row) == STAFF_ROW_FIELDS
        assert (row["is_active"], row["timezone"]) == (False, "Europe/Berlin")
        detail = admin_client.get(f"/resources/{ann.pk}").json()
        assert set(detail) == STAFF_DETAIL_FIELDS
        assert detail["working_hours"] == [{"weekday": 1, "start": "09:00", "end": "17:00"}]
        assert detail["exceptions"] == [{"date": "2031-12-24"}]

    def test_filter_by_service_kind_and_state(self, anon, admin_client):
        cut, massage = ServiceFactory(name="Cut"), ServiceFactory(name="Massage")
        resource("Ann", cut)
        resource("Bob", cut, massage, is_active=False)
        resource("Room 1", massage, kind="room")
        assert set(listed(anon, f"?service={cut.pk}")) == {"Ann", "Cut"}
        assert set(listed(admin_client, f"?service={cut.pk}")) == {"Ann", "Bob", "Cut"}
        assert set(listed(anon, "?kind=staff")) == {"Ann"}
        assert set(listed(admin_client, "?is_active=false")) == {"Bob"}

    @pytest.mark.parametrize("query", ["service=abc", "service=2.5", "kind=robot"])
    def test_bad_filter_is_400(self, anon, query):
        response = anon.get(f"/resources?{query}")
        assert response.status_code == 400
        assert response.json()["errors"]

    def test_list_is_paginated_with_and_without_a_trailing_slash(self, anon):
        for n in range(25):
            resource(f"R{n:02}")
        first = anon.get("/resources/").json()
        assert (first["count"], len(first["results"])) == (25, 20)
        assert len(anon.get("/resources?page=2").json()["results"]) == 5

    # The catalog's version and the page with its count; a signed-in caller's user besides.
    @pytest.mark.parametrize(("caller", "queries"), [("anon", 2), ("admin_client", 3)])
    def test_query_count_does_not_grow_with_resources_or_services(
        self, request, caller, queries, django_assert_num_queries
    ):
        client = request.getfixturevalue(caller)
        services = ServiceFactory.create_batch(3)
        resource("R", *services)
        client.get("/resources")  # the release fingerprint, once per process
        with django_assert_num_queries(queries) as few:
            assert client.get("/resources").status_code == 200
        for n in range(15):
            resource(f"R{n}", *ServiceFactory.create_batch(2), *services)
        with django_assert_num_queries(len(few.captured_queries)):
            assert len(client.get("/resources").json()["results"]) == 20

    def test_list_rows_are_the_serializers_output(self, anon, admin_client, admin_user):
        resource("Ann", *ServiceFactory.create_batch(2), timezone="Europe/Berlin")
        resource("Ünïcode \u2028 Bob", kind="equipment", is_active=False)
        for client, user, serializer in (
            (anon, None, ResourceSerializer),
            (admin_client, admin_user, ResourceStaffSerializer),
        ):
            results = client.get("/resources").json()["results"]
            expected = serializer(selectors.resource_list(user=user), many=True).data
            assert results == json.loads(JSONRenderer().render(expected))


class TestWrites:
    def test_admin_creates_changes_and_deletes_a_resource(self, admin_client):
        cut, colour = ServiceFactory(), ServiceFactory()
        body = {
            "name": "Ann",
            "kind": "staff",
            "timezone": "Europe/Berlin",
            "services": [cut.pk],
            "working_hours": [{"weekday": 1, "start": "09:00", "end": "17:00"}],
            "exceptions": [{"date": "2031-12-24"}],
        }
        response = admin_client.post("/resources", body, format="json")
        assert response.status_code == 201, response.json()
        created = response.json()
        assert set(created) == STAFF_DETAIL_FIELDS
        assert (created["services"], created["is_active"]) == ([cut.pk], True)
        ann = Resource.objects.get(pk=created["id"])
        assert ann.working_hours.get().resource_id == ann.pk and ann.exceptions.count() == 1

        changed = admin_client.patch(f"/resources/{ann.pk}/", {"services": [colour.pk, cut.pk]}, format="json")
        assert changed.status_code == 200
        assert changed.json()["services"] == sorted([cut.pk, colour.pk])
        assert changed.json()["working_hours"] == body["working_hours"]  # a list not given is kept

        emptied = admin_client.patch(f"/resources/{ann.pk}", {"working_hours": [], "name": "Ann B."}, format="json")
        assert (emptied.json()["working_hours"], emptied.json()["name"]) == ([], "Ann B.")
        assert emptied.json()["exceptions"] == [{"date": "2031-12-24"}]

        assert admin_client.delete(f"/resources/{ann.pk}").status_code == 204
        assert not Resource.objects.filter(pk=ann.pk).exists()
        assert not WorkingHours.objects.filter(resource_id=ann.pk).exists()
        assert not ScheduleException.objects.filter(resource_id=ann.pk).exists()

    def test_writes_are_401_anonymous_and_403_for_users(self, anon, user_client):
        ann = resource("Ann")
        for client, expected in ((anon, 401), (user_client, 403)):
            assert client.post("/resources", {"name": "X"}).status_code == expected
            assert client.patch(f"/resources/{ann.pk}", {"name": "X"}).status_code == expected
            assert client.delete(f"/resources/{ann.pk}").status_code == expected
        assert list(Resource.objects.values_list("name", flat=True)) == ["Ann"]

    @pytest.mark.parametrize(
        ("changes", "field", "code"),
        [
            ({"name": ""}, "name", "invalid"),
            ({"kind": "robot"}, "kind", "invalid"),
            ({"timezone": "Mars/Olympus"}, "timezone", "invalid"),
            ({"services": [999999]}, "services", "unknown_service"),
            ({"services": ["x"]}, "services", "invalid"),
            ({"working_hours": [{"weekday": 8, "start": "09:00", "end": "10:00"}]}, "working_hours", "invalid"),
            ({"working_hours": [{"weekday": 1, "start": "10:00", "end": "09:00"}]}, "working_hours", None),
            (
                {
                    "working_hours": [
                        {"weekday": 1, "start": "09:00", "end": "12:00"},
                        {"weekday": 1, "start": "11:00", "end": "13:00"},
                    ]
                },
                "working_hours",
                None,
            ),
            ({"exceptions": [{"date": "2031-01-01", "start": "10:00"}]}, "exceptions", None),
        ],
    )
    def test_invalid_values_are_400_naming_the_field(self, admin_client, changes, field, code):
        before = Resource.objects.count()
        response = admin_client.post("/resources", {"name": "Ann", **changes}, format="json")
        assert response.status_code == 400, response.json()
        body = response.json()
        assert field in body["errors"] or field in body["detail"]
        if code:
            assert body["code"] == code
        assert Resource.objects.count() == before
        ann = resource("Ann")
        assert admin_client.patch(f"/resources/{ann.pk}", changes, format="json").status_code == 400
        ann.delete()

    def test_a_resource_with_bookings_cannot_be_deleted(self, admin_client):
        booking = BookingFactory()
        response = admin_client.delete(f"/resources/{booking.resource_id}")
        assert response.status_code == 409
        assert response.json()["code"] == "resource_has_bookings"
        assert Resource.objects.filter(pk=booking.resource_id).exists()

    def test_unknown_resource_is_404(self, admin_client):
        assert admin_client.patch("/resources/999999", {"name": "X"}, format="json").status_code == 404
        assert admin_client.delete("/resources/999999").status_code == 404


class TestServicesResourcesAndCapacity:
    def test_a_service_created_without_resources_gets_its_own(self, admin_client):
        response = admin_client.post("/services", NEW_SERVICE, format="json")
        assert response.status_code == 201
        service = Service.objects.get(pk=response.json()["id"])
        own = own_resource(service)
        assert (own.name, own.kind) == ("Yoga", "room")

    def test_a_service_created_with_resources_is_theirs_alone(self, admin_client):
        ann, bob = resource("Ann"), resource("Bob")
        body = {**NEW_SERVICE, "resource_ids": [bob.pk, ann.pk, ann.pk]}
        response = admin_client.post("/services", body, format="json")
        assert response.status_code == 201, response.json()
        service = Service.objects.get(pk=response.json()["id"])
        assert sorted(service.resources.values_list("name", flat=True)) == ["Ann", "Bob"]
        assert not Resource.objects.filter(name="Yoga").exists()  # its own resource went in the same transaction

    @pytest.mark.parametrize(("resource_ids", "code"), [([999999], "unknown_resource"), ([], "invalid")])
    def test_unknown_or_no_resources_are_400_and_create_nothing(self, admin_client, resource_ids, code):
        response = admin_client.post("/services", {**NEW_SERVICE, "resource_ids": resource_ids}, format="json")
        assert response.status_code == 400
        assert (response.json()["code"], list(response.json()["errors"])) == (code, ["resource_ids"])
        assert not Service.objects.exists() and not Resource.objects.exists()

    def test_capacity_is_shown_and_written_by_admins(self, admin_client, anon):
        response = admin_client.post("/services", {**NEW_SERVICE, "capacity": 12}, format="json")
        assert response.status_code == 201
        pk = response.json()["id"]
        assert anon.get(f"/services/{pk}").json()["capacity"] == 12
        assert admin_client.patch(f"/services/{pk}", {"capacity": 5}, format="json").json()["capacity"] == 5
        for bad in (0, 1001):
            refused = admin_client.patch(f"/services/{pk}", {"capacity": bad}, format="json")
            assert refused.status_code == 400 and "capacity" in refused.json()["errors"]
        assert Service.objects.get(pk=pk).capacity == 5


@pytest.mark.django_db(transaction=True)
def test_the_kept_list_is_never_stale_answers_304_and_keeps_scopes_apart(admin_user):
    """Committed changes, as in production: the list is kept, and a change of a link alone is seen at once."""
    anon, admin = client_for(None), client_for(admin_user)
    ann, cut = resource("Ann"), ServiceFactory(name="Cut")
    first = anon.get("/resources")
    assert anon.get("/resources", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert set(listed(admin)["Ann"]) == STAFF_ROW_FIELDS  # the public's kept page is not the staff's

    services.resource_update(resource=ann, services=[cut.pk])  # only catalog_resource_services changes
    fresh = anon.get("/resources", HTTP_IF_NONE_MATCH=first["ETag"])
    assert fresh.status_code == 200
    assert {row["name"]: row for row in fresh.json()["results"]}["Ann"]["services"] == [cut.pk]


def test_deleting_a_service_removes_its_own_resource_but_not_its_staff(admin_client, anon):
    pk = admin_client.post("/services", NEW_SERVICE, format="json").json()["id"]
    anna = Resource.objects.create(name="Anna")
    anna.services.add(pk)
    assert admin_client.delete(f"/services/{pk}").status_code == 204
    assert "Yoga" not in listed(anon)
    assert Resource.objects.filter(pk=anna.pk).exists()

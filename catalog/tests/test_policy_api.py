"""A service's booking policy through the API: admins write it, everyone reads it on GET /services/{id}."""

import pytest

from catalog.models import Service
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

POLICY = {
    "timezone": "Europe/Berlin",
    "working_hours": [
        {"weekday": 1, "start": "09:00", "end": "12:00"},
        {"weekday": 1, "start": "13:00", "end": "17:00"},
    ],
    "exceptions": [{"date": "2027-12-24", "start": "09:00", "end": "12:00"}, {"date": "2027-12-25"}],
    "min_length_minutes": 60,
    "max_length_minutes": 60,
    "buffer_minutes": 15,
    "min_notice_minutes": 120,
    "max_advance_days": 90,
    "slot_step_minutes": 30,
    "cancellation_cutoff_hours": 24,
    "max_active_bookings_per_user": 3,
}
NEW = {"name": "Massage", "price": "60.00", "duration_minutes": 60}


def test_admin_creates_a_service_with_a_policy_and_everyone_reads_it(admin_client, anon):
    created = admin_client.post("/services", {**NEW, **POLICY})
    assert created.status_code == 201, created.json()
    shown = anon.get(f"/services/{created.json()['id']}").json()
    assert {key: shown[key] for key in POLICY} == POLICY
    assert created.json() == shown


def test_defaults_keep_todays_behaviour(admin_client):
    body = admin_client.post("/services", NEW).json()
    assert {key: body[key] for key in POLICY} == {
        "timezone": "UTC",
        "working_hours": [],
        "exceptions": [],
        "min_length_minutes": None,  # null: the duration
        "max_length_minutes": None,
        "buffer_minutes": 0,
        "min_notice_minutes": 0,
        "max_advance_days": None,
        "slot_step_minutes": None,
        "cancellation_cutoff_hours": 0,
        "max_active_bookings_per_user": None,
    }


def test_patch_replaces_a_whole_list_and_null_clears_a_limit(admin_client):
    service_id = admin_client.post("/services", {**NEW, **POLICY}).json()["id"]
    response = admin_client.patch(
        f"/services/{service_id}",
        {"working_hours": [{"weekday": 7, "start": "10:00", "end": "11:00"}], "max_advance_days": None},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["working_hours"] == [{"weekday": 7, "start": "10:00", "end": "11:00"}]
    assert response.json()["exceptions"] == POLICY["exceptions"]  # not sent: kept
    assert response.json()["max_advance_days"] is None
    assert response.json()["buffer_minutes"] == 15


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {
                "working_hours": [
                    {"weekday": 1, "start": "09:00", "end": "12:00"},
                    {"weekday": 1, "start": "11:00", "end": "13:00"},
                ]
            },
            "working_hours",
        ),
        ({"working_hours": [{"weekday": 2, "start": "22:00", "end": "02:00"}]}, "working_hours"),
        ({"working_hours": [{"weekday": 8, "start": "09:00", "end": "10:00"}]}, "working_hours.0.weekday"),
        ({"exceptions": [{"date": "2027-12-24", "start": "09:00"}]}, "exceptions"),
        (
            {"exceptions": [{"date": "2027-12-24"}, {"date": "2027-12-24", "start": "09:00", "end": "10:00"}]},
            "exceptions",
        ),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"min_length_minutes": 90}, "min_length_minutes"),
        ({"buffer_minutes": -5}, "buffer_minutes"),
        ({"slot_step_minutes": 0}, "slot_step_minutes"),
    ],
)
def test_bad_policies_are_400_and_change_nothing(admin_client, change, field):
    service = ServiceFactory(name="Before")
    response = admin_client.patch(f"/services/{service.id}", {"name": "After", **change})
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    service.refresh_from_db()
    assert (service.name, service.timezone, service.working_hours.count()) == ("Before", "UTC", 0)


def test_only_admins_write_policies(user_client):
    service = ServiceFactory()
    assert user_client.patch(f"/services/{service.id}", {"buffer_minutes": 30}).status_code == 403
    assert Service.objects.get(pk=service.pk).buffer_minutes == 0


def test_the_schema_documents_the_policy_and_availability(anon):
    schema = anon.get("/openapi.json").json()
    detail = schema["components"]["schemas"]["ServiceDetail"]["properties"]
    assert set(POLICY) <= set(detail)
    assert "/services/{id}/availability" in schema["paths"] or "/services/{pk}/availability" in schema["paths"]

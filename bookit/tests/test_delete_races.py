"""A change racing a delete answers 404, never 500, and never brings the row back.

One table of every endpoint that changes or deletes a row. Each row is deleted
right after the view has looked it up (as a concurrent DELETE would), which
is the moment a stale read meets the write; then the same races for real,
through a live server.
"""

import pytest
from rest_framework.generics import GenericAPIView

from accounts.authentication import JWTAuthentication
from accounts.models import User
from bookings.tests.factories import BookingFactory
from bookit.tests.http import race, request, token_for
from catalog import views as catalog_views
from catalog.tests.factories import ServiceFactory
from reviews.tests.factories import ReviewFactory

HOURS = {"working_hours": [{"weekday": 1, "start": "09:00", "end": "17:00"}]}
CHANGES = [  # (case, the row, method, path, body)
    ("PATCH /services/{id}", lambda admin: ServiceFactory(), "patch", "/services/{}", {"name": "Renamed"}),
    ("PATCH /services/{id} hours", lambda admin: ServiceFactory(), "patch", "/services/{}", HOURS),
    ("DELETE /services/{id}", lambda admin: ServiceFactory(), "delete", "/services/{}", None),
    ("PATCH /bookings/{id}", lambda admin: BookingFactory(user=admin), "patch", "/bookings/{}", {"notes": "x"}),
    (
        "PATCH /bookings/{id}/status",
        lambda admin: BookingFactory(),
        "patch",
        "/bookings/{}/status",
        {"status": "confirmed"},
    ),
    ("DELETE /bookings/{id}", lambda admin: BookingFactory(user=admin), "delete", "/bookings/{}", None),
    ("PATCH /reviews/{id}", lambda admin: ReviewFactory(booking__user=admin), "patch", "/reviews/{}", {"rating": 2}),
    ("DELETE /reviews/{id}", lambda admin: ReviewFactory(), "delete", "/reviews/{}", None),
]


def gone(row) -> bool:
    return not type(row)._base_manager.filter(pk=row.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("case", CHANGES, ids=lambda case: case[0])
def test_a_row_deleted_after_the_lookup_is_404_and_stays_deleted(case, admin_user, admin_client, monkeypatch):
    _, make, method, path, body = case
    row = make(admin_user)
    looked_up = GenericAPIView.get_object

    def get_object_then_deleted(view):
        found = looked_up(view)
        type(found)._base_manager.filter(pk=found.pk).delete()
        return found

    monkeypatch.setattr(GenericAPIView, "get_object", get_object_then_deleted)
    response = getattr(admin_client, method)(path.format(row.pk), body)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert gone(row)


@pytest.mark.django_db
def test_a_service_deleted_after_its_change_committed_is_404(admin_client, monkeypatch):
    service = ServiceFactory()
    update = catalog_views.services.service_update

    def update_then_deleted(**kwargs):
        update(**kwargs)
        type(service).objects.filter(pk=service.pk).delete()

    monkeypatch.setattr(catalog_views.services, "service_update", update_then_deleted)
    assert admin_client.patch(f"/services/{service.pk}", {"name": "Renamed"}).status_code == 404


@pytest.mark.django_db
def test_patch_me_of_a_user_deleted_after_authentication_is_404(user, user_client, monkeypatch):
    authenticated = JWTAuthentication.get_user

    def get_user_then_deleted(self, token):
        found = authenticated(self, token)
        User.objects.filter(pk=found.pk).delete()
        return found

    monkeypatch.setattr(JWTAuthentication, "get_user", get_user_then_deleted)
    assert user_client.patch("/me", {"full_name": "Ghost"}).status_code == 404
    assert gone(user)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", [case for case in CHANGES if case[2] == "delete"], ids=lambda case: case[0])
def test_two_deletes_at_once_are_one_204_and_one_404(case, admin_user, live_server):
    _, make, _, path, _ = case
    row, token = make(admin_user), token_for(admin_user)
    url = live_server.url + path.format(row.pk)
    statuses = sorted(status for status, _ in race([lambda: request("DELETE", url, token=token)] * 2))
    assert statuses == [204, 404]
    assert gone(row)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "change", [case for case in CHANGES if case[2] == "patch" and "hours" not in case[0]], ids=lambda case: case[0]
)
def test_a_patch_during_a_delete_is_200_or_404_and_the_row_stays_deleted(change, admin_user, live_server):
    _, make, _, path, body = change
    row, token = make(admin_user), token_for(admin_user)
    delete_path = path.split("/status")[0].format(row.pk)
    calls = [
        lambda: request("PATCH", live_server.url + path.format(row.pk), token=token, body=body),
        lambda: request("DELETE", live_server.url + delete_path, token=token),
    ]
    (patched, _), (deleted, _) = race(calls)
    assert patched in (200, 404) and deleted == 204
    assert gone(row)

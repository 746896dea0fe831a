"""Idempotency-Key on the booking writes: a retry gets the first answer and nothing happens twice."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import IdempotencyKey
from accounts.tests.factories import UserFactory
from bookings.models import Booking, BookingEvent
from bookings.tests.factories import future
from bookit.tests.http import race, request, token_for
from bookit.utc import iso_z
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def post(client, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/bookings", body, format="json", **headers)


@pytest.fixture
def body():
    return {"service_id": ServiceFactory().id, "start_time": iso_z(future(30))}


def test_a_retry_is_replayed_and_books_once(user_client, body):
    first = post(user_client, body, "key-1")
    again = post(user_client, body, "key-1")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Booking.objects.count() == 1 and BookingEvent.objects.count() == 1


def test_the_same_key_with_another_body_is_422(user_client, body):
    assert post(user_client, body, "key-2").status_code == 201
    response = post(user_client, {**body, "notes": "changed"}, "key-2")
    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
    assert Booking.objects.count() == 1


def test_keys_of_different_users_never_mix(user_client, other_client, body):
    assert post(user_client, body, "shared").status_code == 201
    second = post(other_client, {**body, "start_time": iso_z(future(40))}, "shared")
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    assert Booking.objects.count() == 2


def test_without_the_header_nothing_changes(user_client, body):
    assert post(user_client, body).status_code == 201
    assert post(user_client, body).status_code == 409
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "naïve"])
def test_a_malformed_key_is_400(user_client, body, key):
    response = post(user_client, body, key)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_idempotency_key")
    assert not Booking.objects.exists()


def test_an_error_stores_nothing_so_a_retry_runs_again(user_client, other_client, body):
    taken = post(other_client, body)
    assert post(user_client, body, "key-3").status_code == 409
    other_client.patch(f"/bookings/{taken.json()['id']}", {"status": "cancelled"}, format="json")
    assert post(user_client, body, "key-3").status_code == 201


def test_patch_and_status_changes_are_replayed_without_a_second_change(user_client, admin_client, body):
    booking_id = post(user_client, body).json()["id"]
    move = {"start_time": iso_z(future(50))}
    url = f"/bookings/{booking_id}"
    first = user_client.patch(url, move, format="json", HTTP_IDEMPOTENCY_KEY="move")
    again = user_client.patch(url, move, format="json", HTTP_IDEMPOTENCY_KEY="move")
    assert (first.status_code, again.content, again["Idempotent-Replayed"]) == (200, first.content, "true")
    confirm = admin_client.patch(f"{url}/status", {"status": "confirmed"}, format="json", HTTP_IDEMPOTENCY_KEY="ok")
    replay = admin_client.patch(f"{url}/status", {"status": "confirmed"}, format="json", HTTP_IDEMPOTENCY_KEY="ok")
    assert confirm.status_code == replay.status_code == 200  # a second confirm would be a 409
    assert Booking.objects.get().sequence == 1
    assert BookingEvent.objects.filter(action="rescheduled").count() == 1


def test_an_expired_key_runs_again_and_the_purge_deletes_it(user_client, body):
    assert post(user_client, body, "old").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert post(user_client, {**body, "start_time": iso_z(future(60))}, "old").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    call_command("purge_idempotency_keys", stdout=None)
    assert not IdempotencyKey.objects.exists()


def test_the_schema_documents_the_header_on_each_retryable_write(anon):
    paths = anon.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/bookings", "post"),
        ("/bookings/{id}", "patch"),
        ("/bookings/{id}/status", "patch"),
        ("/reviews", "post"),
    ]:
        names = {p["name"] for p in paths[path][method].get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in names, (path, method)
        assert "422" in paths[path][method]["responses"]


@pytest.mark.django_db(transaction=True)
def test_many_threads_one_key_one_booking_no_5xx(live_server):
    token = token_for(UserFactory())
    body = {"service_id": ServiceFactory().id, "start_time": iso_z(future(30))}
    headers = {"Idempotency-Key": "same-everywhere"}
    url = f"{live_server.url}/bookings"
    calls = [lambda: request("POST", url, token=token, body=body, headers=headers) for _ in range(16)]
    results = race(calls)
    statuses = [status for status, _ in results]
    assert set(statuses) <= {201, 409} and 201 in statuses
    created = [payload for status, payload in results if status == 201]
    assert all(payload == created[0] for payload in created)
    assert {payload["code"] for status, payload in results if status == 409} <= {"idempotency_key_in_use"}
    assert Booking.objects.count() == 1
    # Once the first has finished, a retry is replayed.
    assert request("POST", url, token=token, body=body, headers=headers)[1] == created[0]

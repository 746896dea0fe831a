"""PATCH /me is neither a password oracle nor a fast oracle of which emails have accounts."""

import pytest

from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-brand-new-secret-42"


def patch_me(client, ip="10.0.0.1", **body):
    return client.patch("/me", body, REMOTE_ADDR=ip)


def test_wrong_current_passwords_count_like_failed_logins(user, user_client, anon, throttle_counters):
    throttle_counters["login_failures"] = "2/min"
    for _ in range(2):
        response = patch_me(user_client, password=NEW_PASSWORD, current_password="a-guess")
        assert response.status_code == 400 and response.json()["code"] == "wrong_password"
    assert patch_me(user_client, password=NEW_PASSWORD, current_password=PASSWORD).status_code == 429
    login = anon.post("/auth/login", {"email": user.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")
    assert login.status_code == 429  # the same counters as logins
    assert patch_me(user_client, ip="10.0.0.2", password=NEW_PASSWORD, current_password=PASSWORD).status_code == 200


def test_right_or_unchecked_current_passwords_do_not_count(user_client, throttle_counters):
    throttle_counters["login_failures"] = "1/min"
    for n in range(3):
        assert patch_me(user_client, full_name=f"Name {n}", current_password="not-checked").status_code == 200
        assert patch_me(user_client, email=f"me{n}@example.com", current_password=PASSWORD).status_code == 200
    assert patch_me(user_client, password=NEW_PASSWORD, current_password="a-guess").status_code == 400


def test_email_changes_are_throttled_like_registrations(user_client, anon, throttle_counters):
    throttle_counters["register"] = "3/hour"
    UserFactory(email="taken@example.com")
    assert patch_me(user_client, email="taken@example.com", current_password=PASSWORD).status_code == 400
    assert patch_me(user_client, email="free@example.com", current_password=PASSWORD).status_code == 200
    assert patch_me(user_client, email="FREE@example.com", full_name="Same email").status_code == 200  # no change
    registration = {"email": "new@example.com", "password": PASSWORD}
    assert anon.post("/auth/register", registration, REMOTE_ADDR="10.0.0.1").status_code == 201
    response = patch_me(user_client, email="other@example.com", current_password=PASSWORD)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert patch_me(user_client, full_name="Still fine").status_code == 200

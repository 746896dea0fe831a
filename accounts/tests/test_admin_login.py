"""The admin's login form: the same limits and counters as POST /auth/login, refusals shown on the form."""

import pytest
from django.test import Client

from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"


@pytest.fixture
def staff_member(throttle_counters):
    return UserFactory(email="staff@example.com", is_staff=True)


def admin_login(email, password="wrong-password", ip="10.0.0.1"):  # noqa: S107
    client = Client()
    response = client.post(LOGIN, {"username": email, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)
    return response, client


def form_error(response) -> str:
    assert response.status_code == 200  # the form again, not the redirect of a login
    return " ".join(response.context["form"].non_field_errors())


def test_failed_admin_logins_are_limited_and_the_form_says_so(staff_member, throttle_counters):
    throttle_counters["login_failures"] = "3/min"
    for _ in range(3):
        assert "correct email address and password" in form_error(admin_login(staff_member.email)[0])
    response, client = admin_login(staff_member.email, password=PASSWORD)  # even the right one, from here
    assert "Too many login attempts; try again in" in form_error(response)
    assert client.get("/admin/").status_code == 302  # not logged in
    response, client = admin_login(staff_member.email, password=PASSWORD, ip="10.0.0.2")
    assert response.status_code == 302 and client.get("/admin/").status_code == 200


def test_the_admin_and_the_api_share_the_counters(staff_member, throttle_counters, anon):
    throttle_counters["login_email_ip"] = "3/min"
    admin_login(staff_member.email)
    anon.post("/auth/login", {"email": staff_member.email, "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
    admin_login(staff_member.email)
    api = anon.post("/auth/login", {"email": staff_member.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1")
    assert api.status_code == 429
    assert "Too many" in form_error(admin_login(staff_member.email, password=PASSWORD)[0])


def test_every_admin_login_attempt_counts_against_the_per_ip_rate(staff_member, throttle_counters):
    throttle_counters["login"] = "2/min"
    assert admin_login(staff_member.email, password=PASSWORD)[0].status_code == 302
    assert admin_login("nobody@example.com")[0].status_code == 200
    assert "Too many" in form_error(admin_login(staff_member.email, password=PASSWORD)[0])


def test_right_logins_and_non_staff_users_do_not_count_as_failures(staff_member, throttle_counters):
    throttle_counters["login_failures"] = "1/min"
    user = UserFactory(email="user@example.com")
    for _ in range(3):
        assert admin_login(staff_member.email, password=PASSWORD)[0].status_code == 302
        # A customer's right password is no guess: refused as not staff, never as throttled.
        assert "correct email address and password" in form_error(admin_login(user.email, password=PASSWORD)[0])
    assert "correct email address" in form_error(admin_login(staff_member.email)[0])  # the first failure

"""Rotation renews a refresh token, never the session: a chain of refreshes ends at an absolute lifetime."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import datetime_to_epoch

from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
DAY = 24 * 3600


def refresh(anon, token: str):
    return anon.post("/auth/refresh", {"refresh": token})


def started_ago(user, age: timedelta) -> str:
    """A refresh token of a chain whose login was ``age`` ago (the token itself still unexpired)."""
    token = RefreshToken.for_user(user)
    token["auth_time"] = datetime_to_epoch(timezone.now() - age)
    return str(token)


def test_a_login_starts_a_session_that_every_rotation_carries(anon):
    user = UserFactory()
    login = anon.post("/auth/login", {"email": user.email, "password": PASSWORD}).json()
    first = RefreshToken(login["refresh"])
    assert first["auth_time"] == first["iat"]
    assert first["exp"] <= first["auth_time"] + 30 * DAY
    rotated = refresh(anon, login["refresh"]).json()
    assert RefreshToken(rotated["refresh"])["auth_time"] == first["auth_time"]


def test_a_chain_of_refreshes_ends_at_the_absolute_lifetime(anon):
    response = refresh(anon, started_ago(UserFactory(), timedelta(days=30, seconds=1)))
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_near_the_end_no_token_outlives_the_session(anon):
    user = UserFactory()
    pair = refresh(anon, started_ago(user, timedelta(days=30) - timedelta(minutes=5))).json()
    end = RefreshToken(pair["refresh"])["auth_time"] + 30 * DAY
    assert RefreshToken(pair["refresh"])["exp"] == end  # not 30 days from now
    assert AccessToken(pair["access"])["exp"] == end  # not 15 minutes from now


def test_the_lifetime_comes_from_the_settings(anon, settings):
    settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME = timedelta(days=1)
    user = UserFactory()
    assert refresh(anon, started_ago(user, timedelta(hours=23))).status_code == 200
    assert refresh(anon, started_ago(user, timedelta(hours=25))).status_code == 401


def test_a_token_from_before_sessions_starts_its_clock_at_its_issue(anon):
    token = RefreshToken.for_user(UserFactory())  # no auth_time claim
    rotated = RefreshToken(refresh(anon, str(token)).json()["refresh"])
    assert rotated["auth_time"] == token["iat"]

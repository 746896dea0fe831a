"""Forged, stale and misused tokens: all 401 in the usual error shape."""

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
ERROR_KEYS = {"status", "code", "detail", "errors"}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_401(response):
    assert response.status_code == 401, response.content
    assert set(response.json()) == ERROR_KEYS


def me(client, token):
    return client.get("/me", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def access(user):
    return AccessToken.for_user(user)


def test_valid_token_works(anon, access):
    assert me(anon, access).status_code == 200


def test_tampered_signature(anon, access):
    token = str(access)
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_401(me(anon, f"{head}.{payload}.{flipped}"))


def test_tampered_payload_keeps_old_signature(anon, access, other_user):
    head, payload, signature = str(access).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["user_id"] = str(other_user.id)
    assert_401(me(anon, f"{head}.{b64(claims)}.{signature}"))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_wrong_algorithm_with_the_right_secret(anon, access):
    forged = jwt.encode(dict(access.payload), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS512")
    assert_401(me(anon, forged))


def test_alg_none(anon, access):
    claims = dict(access.payload)
    assert_401(me(anon, f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."))


def test_signed_with_another_secret(anon, access):
    assert_401(me(anon, jwt.encode(dict(access.payload), "x" * 40, algorithm="HS256")))


def test_expired_access_token(anon, user):
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=15))
    response = me(anon, token)
    assert_401(response)
    assert response.json()["code"] == "token_not_valid"


def test_refresh_token_is_not_an_access_token(anon, user):
    assert_401(me(anon, RefreshToken.for_user(user)))


def test_access_token_is_not_a_refresh_token(anon, user):
    assert_401(anon.post("/auth/refresh", {"refresh": str(AccessToken.for_user(user))}))


def test_refresh_reused_after_rotation(anon, user):
    refresh = str(RefreshToken.for_user(user))
    assert anon.post("/auth/refresh", {"refresh": refresh}).status_code == 200
    assert_401(anon.post("/auth/refresh", {"refresh": refresh}))


def test_refresh_after_logout(anon, user):
    tokens = anon.post("/auth/login", {"email": user.email, "password": PASSWORD}).json()
    logout = anon.post("/auth/logout", {"refresh": tokens["refresh"]}, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert logout.status_code == 204
    assert_401(anon.post("/auth/refresh", {"refresh": tokens["refresh"]}))


@pytest.mark.parametrize("fate", ["deleted", "deactivated"])
def test_tokens_of_gone_users(anon, fate):
    user = UserFactory()
    access, refresh = AccessToken.for_user(user), RefreshToken.for_user(user)
    if fate == "deleted":
        user.delete()
    else:
        user.is_active = False
        user.save()
    assert_401(me(anon, access))
    assert_401(anon.post("/auth/refresh", {"refresh": str(refresh)}))


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Token abc", "Bearer " + "x" * 5000])
def test_malformed_authorization_headers(anon, header):
    assert_401(anon.get("/me", HTTP_AUTHORIZATION=header))


def test_a_remembered_token_still_expires(anon, user, monkeypatch):
    """Verified tokens are remembered (accounts.authentication) only until their own expiry."""
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(minutes=1))
    assert me(anon, str(token)).status_code == 200  # verified, remembered
    later = timezone.now().timestamp() + 61
    monkeypatch.setattr("accounts.authentication.time.time", lambda: later)
    monkeypatch.setattr("rest_framework_simplejwt.tokens.aware_utcnow", lambda: timezone.now() + timedelta(seconds=61))
    assert_401(me(anon, str(token)))


def test_a_remembered_token_of_a_deactivated_user_is_refused_at_once(anon, user):
    token = str(AccessToken.for_user(user))
    assert me(anon, token).status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert_401(me(anon, token))

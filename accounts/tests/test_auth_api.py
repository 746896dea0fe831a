import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def login(client, email, password=PASSWORD):
    return client.post("/auth/login", {"email": email, "password": password})


class TestRegister:
    def test_register_returns_the_user_without_password(self, anon):
        response = anon.post(
            "/auth/register", {"email": "New@Example.com", "password": PASSWORD, "full_name": "Ada Lovelace"}
        )
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"id", "email", "full_name", "role", "date_joined", "email_notifications"}
        assert body["email"] == "new@example.com"
        assert body["role"] == "user"
        assert User.objects.get(pk=body["id"]).check_password(PASSWORD)

    def test_taken_email_in_any_case_is_a_field_error(self, anon):
        UserFactory(email="taken@example.com")
        response = anon.post("/auth/register", {"email": "TAKEN@example.com", "password": PASSWORD})
        assert response.status_code == 400
        assert response.json()["code"] == "email_taken"
        assert "email" in response.json()["errors"]
        assert User.objects.filter(email__iexact="taken@example.com").count() == 1

    def test_weak_password_is_rejected_by_django_validators(self, anon):
        response = anon.post("/auth/register", {"email": "a@example.com", "password": "12345678"})
        assert response.status_code == 400
        assert "password" in response.json()["errors"]
        assert not User.objects.filter(email="a@example.com").exists()

    def test_cannot_register_as_admin(self, anon):
        response = anon.post(
            "/auth/register",
            {"email": "sneaky@example.com", "password": PASSWORD, "role": "admin", "is_staff": True},
        )
        assert response.status_code == 201
        assert response.json()["role"] == "user"
        assert not User.objects.get(email="sneaky@example.com").is_staff

    @pytest.mark.parametrize("body", [{}, {"email": "not-an-email", "password": PASSWORD}, {"email": "x@example.com"}])
    def test_invalid_body_is_400_naming_fields(self, anon, body):
        response = anon.post("/auth/register", body)
        assert response.status_code == 400
        assert response.json()["errors"]
        assert User.objects.count() == 0


class TestLogin:
    def test_login_returns_token_pair(self, anon, user):
        response = login(anon, user.email)
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 15 * 60
        assert body["access"] and body["refresh"]
        me = anon.get("/me", HTTP_AUTHORIZATION=f"Bearer {body['access']}")
        assert me.json()["email"] == user.email

    def test_email_is_case_insensitive(self, anon, user):
        assert login(anon, user.email.upper()).status_code == 200

    @pytest.mark.parametrize("case", ["wrong_password", "unknown_email", "inactive"])
    def test_bad_credentials_are_401_with_one_message(self, anon, case):
        user = UserFactory(is_active=case != "inactive")
        email = "nobody@example.com" if case == "unknown_email" else user.email
        password = "wrong-password" if case == "wrong_password" else PASSWORD
        response = login(anon, email, password)
        assert response.status_code == 401
        assert response.json()["detail"] == "No active account found with the given credentials"


class TestRefreshAndLogout:
    def test_refresh_rotates_and_old_token_is_rejected(self, anon, user):
        first = login(anon, user.email).json()["refresh"]
        response = anon.post("/auth/refresh", {"refresh": first})
        assert response.status_code == 200
        assert set(response.json()) == {"access", "refresh"}
        assert response.json()["refresh"] != first
        reused = anon.post("/auth/refresh", {"refresh": first})
        assert reused.status_code == 401
        assert reused.json()["code"] == "token_not_valid"

    def test_garbage_refresh_token_is_401(self, anon):
        response = anon.post("/auth/refresh", {"refresh": "not.a.token"})
        assert response.status_code == 401

    def test_refresh_of_deleted_user_is_401(self, anon, db):
        user = UserFactory()
        refresh = str(RefreshToken.for_user(user))
        user.delete()
        assert anon.post("/auth/refresh", {"refresh": refresh}).status_code == 401

    @pytest.mark.parametrize(
        ("case", "code"),
        [
            ("reused", "token_not_valid"),
            ("garbage", "token_not_valid"),
            ("access_token", "token_not_valid"),
            ("user_deleted", "token_not_valid"),
            ("user_deactivated", "token_not_valid"),  # deactivating revoked it
        ],
    )
    def test_refresh_refusals_are_401_with_these_codes(self, anon, case, code):
        user = UserFactory()
        refresh = str(RefreshToken.for_user(user))
        if case == "reused":
            assert anon.post("/auth/refresh", {"refresh": refresh}).status_code == 200
        elif case == "garbage":
            refresh = "not.a.token"
        elif case == "access_token":
            refresh = str(RefreshToken(refresh).access_token)
        elif case == "user_deleted":
            user.delete()
        else:
            User.objects.filter(pk=user.pk).update(is_active=False)
        response = anon.post("/auth/refresh", {"refresh": refresh})
        assert (response.status_code, response.json()["code"]) == (401, code)
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'

    def test_logout_revokes_the_refresh_token(self, anon, user):
        tokens = login(anon, user.email).json()
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        assert anon.post("/auth/logout", {"refresh": tokens["refresh"]}).status_code == 204
        assert anon.post("/auth/refresh", {"refresh": tokens["refresh"]}).status_code == 401

    def test_logout_needs_authentication(self, anon, user):
        tokens = login(anon, user.email).json()
        assert anon.post("/auth/logout", {"refresh": tokens["refresh"]}).status_code == 401

    @pytest.mark.parametrize("refresh", ["garbage", "a.b.c"])
    def test_logout_with_an_unusable_token_is_a_400_field_error(self, user_client, refresh):
        response = user_client.post("/auth/logout", {"refresh": refresh})
        assert response.status_code == 400
        assert "refresh" in response.json()["errors"]

    def test_logout_twice_is_400(self, anon, user):
        tokens = login(anon, user.email).json()
        anon.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        assert anon.post("/auth/logout", {"refresh": tokens["refresh"]}).status_code == 204
        assert anon.post("/auth/logout", {"refresh": tokens["refresh"]}).status_code == 400

    def test_cannot_revoke_another_users_token(self, user_client, other_user):
        refresh = str(RefreshToken.for_user(other_user))
        response = user_client.post("/auth/logout", {"refresh": refresh})
        assert response.status_code == 400
        assert "refresh" in response.json()["errors"]

    def test_access_token_of_deactivated_user_is_401(self, user_client, user):
        user.is_active = False
        user.save()
        assert user_client.get("/me").status_code == 401

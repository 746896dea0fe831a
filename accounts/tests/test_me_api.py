import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.authentication import JWTAuthentication
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_me_requires_authentication(anon):
    response = anon.get("/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_me_shows_profile_and_role(user_client, user, admin_client):
    body = user_client.get("/me").json()
    assert body.pop("date_joined").endswith("Z")
    assert body == {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "email_notifications": True,
        "role": "user",
        "calendar_feed": False,
    }
    assert admin_client.get("/me").json()["role"] == "admin"


def test_patch_changes_name_and_email(user_client, user):
    response = user_client.patch(
        "/me", {"full_name": "New Name", "email": "Renamed@Example.com", "current_password": PASSWORD}
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.full_name, user.email) == ("New Name", "renamed@example.com")


def test_privileged_fields_are_ignored(user_client, user):
    response = user_client.patch("/me", {"role": "admin", "is_staff": True, "id": 999, "full_name": "X"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert not user.is_staff and user.id != 999 and response.json()["role"] == "user"


def test_email_taken_by_someone_else_is_400(user_client, user):
    UserFactory(email="other@example.com")
    response = user_client.patch(
        "/me", {"email": "OTHER@example.com", "full_name": "Changed", "current_password": PASSWORD}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "email_taken"
    assert "email" in response.json()["errors"]
    user.refresh_from_db()
    assert user.full_name != "Changed"


def test_password_change_needs_current_password(user_client, user):
    response = user_client.patch("/me", {"password": "a-brand-new-secret-42"})
    assert response.status_code == 400
    assert "current_password" in response.json()["errors"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_with_current_password(user_client, user):
    response = user_client.patch("/me", {"password": "a-brand-new-secret-42", "current_password": PASSWORD})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password("a-brand-new-secret-42")


def test_email_change_needs_current_password(user_client, user):
    original = user.email
    response = user_client.patch("/me", {"email": "thief@example.com"})
    assert response.status_code == 400
    assert "current_password" in response.json()["errors"]
    user.refresh_from_db()
    assert user.email == original
    # The same email in another letter case is no change, so no password is needed.
    assert user_client.patch("/me", {"email": original.upper(), "full_name": "Same"}).status_code == 200


def test_password_change_signs_out_other_sessions(anon, user_client, user):
    refresh = anon.post("/auth/login", {"email": user.email, "password": PASSWORD}).json()["refresh"]
    new_password = "a-brand-new-secret-42"
    assert user_client.patch("/me", {"password": new_password, "current_password": PASSWORD}).status_code == 200
    assert anon.post("/auth/refresh", {"refresh": refresh}).status_code == 401
    assert anon.post("/auth/login", {"email": user.email, "password": new_password}).status_code == 200


def test_me_body_is_the_serializers_output(user_client, user):
    """GET /me is built by accounts.serializers.me_json, not the ModelSerializer: the JSON is the same."""
    from rest_framework.renderers import JSONRenderer

    from accounts.serializers import MeSerializer

    user.date_joined = user.date_joined.replace(microsecond=123456)
    user.save()
    assert user_client.get("/me").content == JSONRenderer().render(MeSerializer(user).data)
    assert user_client.post("/me/calendar-token").status_code == 200
    user = User.objects.get(pk=user.pk)
    assert user_client.get("/me").content == JSONRenderer().render(MeSerializer(user).data)
    assert user_client.get("/me").json()["calendar_feed"] is True


class TestStaffChangesMeanwhile:
    """`PATCH /me` works on the user read when the request was authenticated; it writes only what it changes."""

    @pytest.fixture
    def meanwhile(self, monkeypatch):
        """Run ``change(user_id)`` right after JWT authentication has read the user, as staff acting at that instant."""

        def install(change):
            read = JWTAuthentication.get_user

            def get_user(authentication, validated_token):
                user = read(authentication, validated_token)
                change(user.pk)
                return user

            monkeypatch.setattr(JWTAuthentication, "get_user", get_user)

        return install

    @pytest.mark.parametrize(
        ("body", "changed"),
        [
            ({"full_name": "New Name"}, {"full_name": "New Name"}),
            ({"email": "New@Example.com", "current_password": PASSWORD}, {"email": "new@example.com"}),
            ({"password": "a-brand-new-secret-42", "current_password": PASSWORD}, {}),
        ],
        ids=["name", "email", "password"],
    )
    def test_a_deactivation_meanwhile_survives_the_patch(self, user_client, user, meanwhile, body, changed):
        meanwhile(lambda pk: User.objects.filter(pk=pk).update(is_active=False))
        assert user_client.patch("/me", body).status_code == 200
        user.refresh_from_db()
        assert not user.is_active
        assert {name: getattr(user, name) for name in changed} == changed
        assert user.check_password(body.get("password", PASSWORD))

    def test_staff_rights_granted_meanwhile_are_kept(self, user_client, user, meanwhile):
        meanwhile(lambda pk: User.objects.filter(pk=pk).update(is_staff=True, full_name="Set By Staff"))
        assert user_client.patch("/me", {"email": "new@example.com", "current_password": PASSWORD}).status_code == 200
        user.refresh_from_db()
        assert (user.is_staff, user.full_name, user.email) == (True, "Set By Staff", "new@example.com")

    def test_an_account_deleted_meanwhile_is_404_not_recreated(self, user_client, user, meanwhile):
        meanwhile(lambda pk: User.objects.filter(pk=pk).delete())
        response = user_client.patch("/me", {"full_name": "Ghost"})
        assert response.status_code == 404
        assert not User.objects.filter(pk=user.pk).exists()

    def test_a_patch_that_changes_nothing_writes_nothing(self, user_client, user):
        same = {"full_name": user.full_name, "email": user.email.upper()}
        with CaptureQueriesContext(connection) as queries:
            assert user_client.patch("/me", same).status_code == 200
        assert [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "INSERT"))] == []

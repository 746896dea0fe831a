"""The user admin: the same email and password rules as registration through the API."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/accounts/user/"
ADD = CHANGELIST + "add/"
NEW_USER = {
    "email": "New.Person@Example.com",
    "full_name": "New Person",
    "usable_password": "true",
    "password1": "a-long-unusual-passphrase",
    "password2": "a-long-unusual-passphrase",
}


def form_errors(response) -> dict:
    assert response.status_code == 200
    return response.context["adminform"].form.errors


class TestAdd:
    def test_add_form_asks_for_the_password_twice(self, staff_client):
        assert {"email", "full_name", "password1", "password2"} <= set(
            staff_client.get(ADD).context["adminform"].form.fields
        )

    def test_new_user_gets_a_lower_cased_email_and_a_hashed_password(self, staff_client):
        assert staff_client.post(ADD, NEW_USER).status_code == 302
        user = User.objects.get(full_name="New Person")
        assert user.email == "new.person@example.com"
        assert user.check_password("a-long-unusual-passphrase")
        assert (user.role, user.is_active) == ("user", True)

    def test_passwords_must_match(self, staff_client):
        errors = form_errors(staff_client.post(ADD, {**NEW_USER, "password2": "something-else-entirely"}))
        assert "password2" in errors

    def test_weak_password_is_refused(self, staff_client):
        errors = form_errors(staff_client.post(ADD, {**NEW_USER, "password1": "123", "password2": "123"}))
        assert "password2" in errors

    def test_email_taken_in_another_case_is_refused(self, staff_client):
        UserFactory(email="new.person@example.com")
        errors = form_errors(staff_client.post(ADD, NEW_USER))
        assert errors["__all__"] == ["This email is taken."]
        assert User.objects.filter(email__iexact="new.person@example.com").count() == 1


class TestChangelist:
    def test_role_column_search_and_filters(self, staff_client):
        UserFactory(email="ann@example.com", full_name="Ann Admin", is_staff=True)
        UserFactory(email="bob@example.com", full_name="Bob Booker")
        page = staff_client.get(CHANGELIST, {"q": "booker"})
        assert [u.email for u in page.context["cl"].result_list] == ["bob@example.com"]
        assert '<td class="field-role">user</td>' in page.content.decode()

        def emails(**params):
            return {u.email for u in staff_client.get(CHANGELIST, params).context["cl"].result_list}

        assert "ann@example.com" in emails(is_staff__exact="1")
        assert "bob@example.com" not in emails(is_staff__exact="1")
        assert emails(is_active__exact="0") == set()

    def test_change_form_keeps_timestamps_read_only(self, staff_client):
        user = UserFactory()
        form = staff_client.get(f"{CHANGELIST}{user.pk}/change/").context["adminform"].form
        assert not {"date_joined", "last_login"} & set(form.fields)


def change_url(user) -> str:
    return f"{CHANGELIST}{user.pk}/change/"


def as_opened(page) -> dict:
    """The change form's POST data as the browser would send it back unedited, hidden initial values included."""
    form = page.context["adminform"].form
    data = {}
    for name in ("email", "full_name", "is_active", "is_staff", "is_superuser", "groups", "user_permissions"):
        value = form[name].value()
        if isinstance(value, bool):
            value = "on" if value else None
        if value not in (None, []):
            data[name] = value
        data[f"initial-{name}"] = form[name].initial if not isinstance(form[name].initial, list) else []
    return data


def updates_of_users(queries) -> list[set[str]]:
    """The columns each UPDATE of the user table sets."""
    sets = [q["sql"].split(" SET ", 1)[1].split(" WHERE ", 1)[0] for q in queries if q["sql"].startswith(UPDATE_USER)]
    return [{part.split(" = ")[0].strip('"') for part in columns.split(", ")} for columns in sets]


UPDATE_USER = 'UPDATE "accounts_user"'


class TestChange:
    def test_the_page_carries_the_values_as_opened_but_never_the_password_hash(self, staff_client):
        user = UserFactory()
        page = staff_client.get(change_url(user)).content.decode()
        assert 'name="initial-email"' in page
        assert "initial-password" not in page
        assert user.password.rsplit("$", 1)[-1] not in page

    def test_an_edit_keeps_what_changed_since_the_page_was_opened(self, staff_client):
        user = UserFactory(email="old@example.com", full_name="Old Name")
        data = as_opened(staff_client.get(change_url(user)))
        User.objects.filter(pk=user.pk).update(email="new@example.com", full_name="New Name")  # the user, meanwhile
        data.pop("is_active")  # staff untick "active"
        assert staff_client.post(change_url(user), data).status_code == 302
        user.refresh_from_db()
        assert (user.is_active, user.email, user.full_name) == (False, "new@example.com", "New Name")

    def test_groups_given_since_the_page_was_opened_stay(self, staff_client):
        user = UserFactory()
        data = {**as_opened(staff_client.get(change_url(user))), "full_name": "Renamed"}
        user.groups.add(Group.objects.create(name="support"))  # another staff member, meanwhile
        assert staff_client.post(change_url(user), data).status_code == 302
        assert list(user.groups.values_list("name", flat=True)) == ["support"]
        assert User.objects.get(pk=user.pk).full_name == "Renamed"

    def test_an_edit_writes_only_the_edited_columns(self, staff_client):
        user = UserFactory()
        data = {**as_opened(staff_client.get(change_url(user))), "email": "Changed@Example.com"}
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.post(change_url(user), data).status_code == 302
        assert updates_of_users(queries) == [{"email"}]
        user.refresh_from_db()
        assert user.email == "changed@example.com"

    def test_an_email_the_database_refuses_is_a_form_error(self, staff_client, monkeypatch):
        UserFactory(email="taken@example.com")
        user = UserFactory()
        data = {**as_opened(staff_client.get(change_url(user))), "email": "taken@example.com"}
        # As if the other user took the email between the form's check and the write.
        monkeypatch.setattr(User, "validate_unique", lambda self, exclude=None: None)
        monkeypatch.setattr(User, "validate_constraints", lambda self, exclude=None: None)
        errors = form_errors(staff_client.post(change_url(user), data))
        assert errors["email"] == ["A user with this email already exists."]
        assert User.objects.get(pk=user.pk).email != "taken@example.com"


class TestPassword:
    def url(self, user) -> str:
        return f"{CHANGELIST}{user.pk}/password/"

    def test_a_new_password_writes_only_that_column_and_revokes_refresh_tokens(self, staff_client, anon):
        user = UserFactory()
        refresh = str(RefreshToken.for_user(user))
        new = {
            "usable_password": "true",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        }
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.post(self.url(user), new).status_code == 302
        assert updates_of_users(queries) == [{"password"}]
        user.refresh_from_db()
        assert user.check_password("a-long-unusual-passphrase")
        assert anon.post("/auth/refresh", {"refresh": refresh}).status_code == 401

    def test_disabling_password_login_revokes_refresh_tokens(self, staff_client, anon):
        user = UserFactory()
        refresh = str(RefreshToken.for_user(user))
        response = staff_client.post(self.url(user), {"usable_password": "false", "unset-password": "1"})
        assert response.status_code == 302
        user.refresh_from_db()
        assert not user.has_usable_password()
        assert anon.post("/auth/refresh", {"refresh": refresh}).status_code == 401

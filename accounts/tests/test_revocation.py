"""A new password, set by any path, and a deactivation revoke every refresh token of the account."""

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.management.commands import changepassword
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_admin import as_opened, change_url
from conftest import client_for

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-brand-new-secret-42"
TRIGGER_MIGRATION = "0003_revoke_refresh_tokens_trigger"


def refreshes(anon, refresh: str) -> bool:
    return anon.post("/auth/refresh", {"refresh": refresh}).status_code == 200


def set_password_and_save(user, **_):
    user.set_password(NEW_PASSWORD)
    user.save()


def changepassword_command(user, monkeypatch, **_):
    monkeypatch.setattr(changepassword.getpass, "getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", user.email, stdout=None)


def queryset_update(user, **_):
    User.objects.filter(pk=user.pk).update(password=make_password(NEW_PASSWORD))


def admin_password_form(user, staff_client, **_):
    new = {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert staff_client.post(f"/admin/accounts/user/{user.pk}/password/", new).status_code == 302


def patch_me(user, **_):
    response = client_for(user).patch("/me", {"password": NEW_PASSWORD, "current_password": PASSWORD})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "set_new_password",
    [set_password_and_save, changepassword_command, queryset_update, admin_password_form, patch_me],
    ids=lambda path: path.__name__,
)
def test_a_new_password_from_any_path_revokes_every_refresh_token(set_new_password, anon, staff_client, monkeypatch):
    user = UserFactory()
    sessions = [str(RefreshToken.for_user(user)) for _ in range(2)]
    set_new_password(user, staff_client=staff_client, monkeypatch=monkeypatch)
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert not any(refreshes(anon, refresh) for refresh in sessions)
    login = anon.post("/auth/login", {"email": user.email, "password": NEW_PASSWORD})
    assert refreshes(anon, login.json()["refresh"])  # the new password's own sessions live on


def test_deactivating_a_user_in_the_admin_revokes_their_refresh_tokens(staff_client, anon):
    user = UserFactory()
    refresh = str(RefreshToken.for_user(user))
    data = as_opened(staff_client.get(change_url(user)))
    data.pop("is_active")  # staff untick "active"
    assert staff_client.post(change_url(user), data).status_code == 302
    User.objects.filter(pk=user.pk).update(is_active=True)  # reactivated later: the old sessions stay ended
    assert not refreshes(anon, refresh)


def test_other_changes_leave_sessions_alone(anon):
    user = UserFactory()
    refresh = str(RefreshToken.for_user(user))
    user.full_name = "Renamed"
    user.save()  # every column written back, the password hash unchanged
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert refreshes(anon, refresh)


def trigger_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'accounts_user_revoke_refresh_tokens'")
        return cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_the_trigger_migration_runs_backward_and_forward_again():
    assert trigger_exists()
    executor = MigrationExecutor(connection)
    previous = executor.loader.get_migration("accounts", TRIGGER_MIGRATION).dependencies[0]
    try:
        executor.migrate([previous])
        assert not trigger_exists()
        executor = MigrationExecutor(connection)
        executor.migrate([("accounts", TRIGGER_MIGRATION)])
        assert trigger_exists()
    finally:
        call_command("migrate", verbosity=0)
    assert trigger_exists()

"""accounts.services called directly, as the admin and the commands would."""

import pytest
from django.contrib.auth.hashers import make_password
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import services
from accounts.models import User
from accounts.services import token_obtain, token_refresh, user_change, user_set_password, user_update
from accounts.tests.factories import PASSWORD, UserFactory
from bookit.domain_errors import DomainError, NotFoundError

pytestmark = pytest.mark.django_db


class TestUserUpdate:
    def test_writes_only_the_changed_columns_of_a_stale_user(self):
        stale = UserFactory(full_name="Old Name")
        User.objects.filter(pk=stale.pk).update(is_active=False, is_staff=True)  # staff, after the read
        user_update(user=stale, full_name="  New Name ", email=stale.email.upper())
        fresh = User.objects.get(pk=stale.pk)
        assert (fresh.full_name, fresh.is_active, fresh.is_staff) == ("New Name", False, True)
        assert stale.full_name == "New Name"  # the caller's object shows the change

    def test_a_new_password_is_stored_hashed(self):
        user = UserFactory()
        user_update(user=user, password="a-brand-new-secret-42", current_password=PASSWORD)
        fresh = User.objects.get(pk=user.pk)
        assert fresh.password != "a-brand-new-secret-42"
        assert fresh.check_password("a-brand-new-secret-42")
        assert user.password == fresh.password

    def test_the_password_is_compared_with_the_new_email(self):
        user = UserFactory(email="someone@example.com")
        with pytest.raises(DomainError) as error:
            user_update(
                user=user, email="quartermaster@example.com", password="quartermaster", current_password=PASSWORD
            )
        assert error.value.code == "weak_password"
        assert User.objects.get(pk=user.pk).email == "someone@example.com"

    def test_a_refused_password_writes_nothing(self):
        user = UserFactory(full_name="Kept")
        with pytest.raises(DomainError):
            user_update(user=user, full_name="Changed", password="123", current_password=PASSWORD)
        assert User.objects.get(pk=user.pk).full_name == "Kept"

    def test_a_taken_email_is_the_email_taken_error_and_writes_nothing(self):
        UserFactory(email="taken@example.com")
        user = UserFactory(full_name="Kept")
        with pytest.raises(DomainError) as error:
            user_update(user=user, full_name="Changed", email="Taken@example.com", current_password=PASSWORD)
        assert (error.value.code, error.value.field) == ("email_taken", "email")
        assert User.objects.get(pk=user.pk).full_name == "Kept"

    def test_a_user_deleted_meanwhile_is_not_found_and_stays_deleted(self):
        stale = UserFactory()
        User.objects.filter(pk=stale.pk).delete()
        with pytest.raises(NotFoundError):
            user_update(user=stale, full_name="Ghost")
        assert not User.objects.filter(pk=stale.pk).exists()


class TestStaffEdits:
    def test_user_change_writes_the_given_fields_normalised_and_nothing_else(self):
        stale = UserFactory(full_name="Kept")
        User.objects.filter(pk=stale.pk).update(full_name="Changed Meanwhile")
        user_change(user=stale, changes={"email": " Someone@Example.COM ", "is_staff": True})
        fresh = User.objects.get(pk=stale.pk)
        assert (fresh.email, fresh.is_staff, fresh.full_name) == ("someone@example.com", True, "Changed Meanwhile")

    @pytest.mark.parametrize("password", ["a-brand-new-secret-42", None])
    def test_user_set_password_revokes_every_refresh_token(self, password):
        user = UserFactory()
        refresh = str(RefreshToken.for_user(user))
        user_set_password(user=user, password=password)
        fresh = User.objects.get(pk=user.pk)
        assert fresh.has_usable_password() is (password is not None)
        assert password is None or fresh.check_password(password)
        with pytest.raises(InvalidToken, match="blacklisted"):
            token_refresh(refresh=refresh)


class TestTokenObtain:
    def test_a_correct_password_gets_a_pair(self):
        user = UserFactory(email="me@example.com")
        pair = token_obtain(email=" ME@example.com", password=PASSWORD)
        assert RefreshToken(pair["refresh"])["user_id"] == AccessToken(pair["access"])["user_id"] == str(user.pk)

    @pytest.mark.parametrize("case", ["unknown_email", "wrong_password", "inactive"])
    def test_every_refusal_is_the_same_answer(self, case):
        user = UserFactory(is_active=case != "inactive")
        email = "nobody@example.com" if case == "unknown_email" else user.email
        with pytest.raises(AuthenticationFailed) as error:
            token_obtain(email=email, password="wrong-password" if case == "wrong_password" else PASSWORD)
        assert (error.value.detail, error.value.get_codes()) == (services.NO_ACTIVE_ACCOUNT, "no_active_account")

    def test_a_password_changed_meanwhile_is_refused_and_a_rehash_of_the_same_one_is_not(self, monkeypatch):
        user = UserFactory()
        checked = services.authenticate

        def then(new_hash):
            def authenticate(**credentials):
                found = checked(**credentials)
                User.objects.filter(pk=user.pk).update(password=new_hash)  # meanwhile
                return found

            monkeypatch.setattr(services, "authenticate", authenticate)

        then(make_password(PASSWORD))  # e.g. another login upgrading the hash's cost
        assert token_obtain(email=user.email, password=PASSWORD)
        then(make_password("a-brand-new-secret-42"))
        with pytest.raises(AuthenticationFailed):
            token_obtain(email=user.email, password=PASSWORD)


class TestTokenRefresh:
    def test_rotates_the_token_and_blacklists_the_old_one(self):
        user = UserFactory()
        old = str(RefreshToken.for_user(user))
        pair = token_refresh(refresh=old)
        assert AccessToken(pair["access"])["user_id"] == str(user.pk)
        assert RefreshToken(pair["refresh"])["user_id"] == str(user.pk)
        with pytest.raises(InvalidToken, match="blacklisted"):
            token_refresh(refresh=old)
        token_refresh(refresh=pair["refresh"])  # the successor works once, too

    def test_a_token_of_a_deleted_user_is_invalid(self):
        user = UserFactory()
        refresh = str(RefreshToken.for_user(user))
        user.delete()
        with pytest.raises(InvalidToken, match="no longer exists"):
            token_refresh(refresh=refresh)

    def test_a_token_of_an_inactive_user_finds_no_active_account(self):
        user = UserFactory(is_active=False)
        refresh = str(RefreshToken.for_user(user))  # deactivating revokes; a token made after it is not
        with pytest.raises(AuthenticationFailed) as error:
            token_refresh(refresh=refresh)
        assert error.value.get_codes() == "no_active_account"
        User.objects.filter(pk=user.pk).update(is_active=True)
        assert token_refresh(refresh=refresh)  # the refusal did not use the token up

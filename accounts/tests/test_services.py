"""accounts.services called directly, as the admin and the commands would."""

import pytest

from accounts.models import User
from accounts.services import user_update
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

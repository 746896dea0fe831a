"""The user admin: the same email and password rules as registration through the API."""

import pytest

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

"""Users in the admin. Edits of existing users go through ``accounts.services``, like the API's.

New users are Django's own add form (password twice, the password validators)
and its INSERT. An edit writes only what staff changed, never the whole row:
the change form sends each field's value as it was when the page was opened
(``show_hidden_initial``), so ``changed_data`` is what staff edited, and
``accounts.services.user_change`` writes just those fields. The user's own email
change made while the page was open, or another staff member's deactivation,
stays. As in the bookings admin, the write happens while the form validates,
inside a savepoint, so a ``DomainError`` (an email taken meanwhile, a user
deleted meanwhile) becomes a form error instead of a 500. Setting or removing a
password goes through ``accounts.services.user_set_password``. A new password and
a deactivation revoke the user's refresh tokens, as everywhere (a trigger on the
user's row, see ``accounts.services``).
"""

import copy
import math

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.exceptions import Throttled

from accounts import services
from accounts.models import User
from bookit.api import throttling
from bookit.domain_errors import DomainError


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's login form (``admin.site.login_form``) under the limits and counters of ``POST /auth/login``.

    Without them the form would take unlimited guesses at staff passwords, each
    a bcrypt hash. An attempt counts against the per-IP ``login`` rate, and a
    wrong password (``authenticate`` found no one) against the failed password
    checks (``PasswordGuesses``), the same counters as the API's: guesses do not
    get twice the budget by taking both doors. A refusal is a form error.
    """

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": "Too many login attempts; try again in %(seconds)d seconds.",
    }

    def clean(self):
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if email is None or not password:
            return super().clean()  # a missing field: no password to check
        try:
            throttling.enforce(throttling.LoginThrottle(), self.request)
            with throttling.PasswordGuesses(self.request, email=email) as guesses:
                try:
                    return super().clean()
                except ValidationError:
                    if self.user_cache is None:  # a right password of a non-staff user is not a guess
                        guesses.fail()
                    raise
        except Throttled as exc:
            refusal = ValidationError(
                self.error_messages["throttled"], code="throttled", params={"seconds": math.ceil(exc.wait or 1)}
            )
            raise refusal from exc


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class UserChangeForm(BaseUserChangeForm):
    """Saves staff's edits through ``user_change`` while validating (see the module docstring)."""

    class Meta:
        model = User
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.as_read = copy.copy(self.instance)  # validation writes the form's values onto the instance
        for field in self.fields.values():
            # Not on disabled fields: they never change, and the password's would put its hash in the page.
            field.show_hidden_initial = not field.disabled

    def _post_clean(self):
        super()._post_clean()  # Django's checks, for their messages: validators, lower-cased email, constraints
        if self.errors or self.instance.pk is None:
            return
        columns = {field.name for field in User._meta.concrete_fields}
        # The values from the instance: model validation has cleaned them (the email lower-cased).
        changes = {name: getattr(self.instance, name) for name in self.changed_data if name in columns}
        try:
            with transaction.atomic():
                self.instance = services.user_change(user=self.as_read, changes=changes)
        except DomainError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)

    def _save_m2m(self):
        for name in ("groups", "user_permissions"):  # only the relations staff edited, like the columns
            if name in self.changed_data:
                getattr(self.instance, name).set(self.cleaned_data[name])


class PasswordChangeForm(AdminPasswordChangeForm):
    """Staff set or remove a password through ``user_set_password``, which writes only that column."""

    def save(self, commit=True):
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        return services.user_set_password(user=self.user, password=password)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """The email-based user: staff status is the API role.

    Django's auth forms validate: the add form asks for the password twice and
    runs AUTH_PASSWORD_VALIDATORS, and model validation lower-cases the email and
    checks the case-insensitive unique constraint, so the admin keeps the same
    rules as registration through the API.
    """

    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = PasswordChangeForm
    list_display = ("email", "full_name", "role", "is_active", "date_joined")
    list_filter = ("is_staff", "is_active", "is_superuser")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "usable_password", "password1", "password2")}),
    )

    def save_model(self, request, obj, form, change):
        """A new user is inserted here; UserChangeForm has already written an edit."""
        if not change:
            super().save_model(request, obj, form, change)

    @admin.display(description="role", ordering="is_staff")
    def role(self, user):
        return user.role

"""Writes to accounts. The API and the admin both come through here."""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from bookit.errors import DomainError

EMAIL_TAKEN = "A user with this email already exists."


def _check_email_free(email: str, *, exclude: User | None = None) -> None:
    taken = User.objects.filter(email__iexact=email)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise DomainError(EMAIL_TAKEN, code="email_taken", field="email")


def _save(user: User) -> User:
    """Save, turning the case-insensitive unique constraint into a field error (a racing signup)."""
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        if "accounts_user_email" in str(exc):
            raise DomainError(EMAIL_TAKEN, code="email_taken", field="email") from exc
        raise
    return user


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), code="weak_password", field="password") from exc


def user_register(*, email: str, password: str, full_name: str = "") -> User:
    """A new ordinary user; there is no way to register as staff."""
    user = User(email=User.objects.normalize_email(email), full_name=full_name.strip())
    _check_email_free(user.email)
    _validate_password(password, user)
    user.set_password(password)
    return _save(user)


def user_update(
    *,
    user: User,
    full_name: str | None = None,
    email: str | None = None,
    password: str | None = None,
    current_password: str | None = None,
) -> User:
    """Profile changes; a new password needs the current one."""
    if password is not None and (not current_password or not user.check_password(current_password)):
        raise DomainError("The current password is wrong.", code="wrong_password", field="current_password")
    if full_name is not None:
        user.full_name = full_name.strip()
    if email is not None:
        user.email = User.objects.normalize_email(email)
        _check_email_free(user.email, exclude=user)
    if password is not None:
        _validate_password(password, user)
        user.set_password(password)
    return _save(user)

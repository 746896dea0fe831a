"""Writes to accounts: registration, profile changes, login, refresh-token rotation and revocation.

Refresh tokens take turns per user. A new password revokes every refresh token
of the account, a login stores a new one, a refresh blacklists one token and
stores its successor, a logout blacklists one token: each of these first locks
the user's row (a password change by updating it, the others with
``_lock_user``), so they never interleave. Otherwise a login or a refresh
midway through could leave its new token alive after a password change, or a
refresh and a password change could deadlock on the blacklist's unique index.
``FOR NO KEY UPDATE`` is enough: it excludes another such lock and any update
of the user, not the inserts that merely reference the user (bookings).

Revoking on a new password or a deactivation is the database's job: a trigger
on the user's row (``accounts/migrations/0003_*``) blacklists every unexpired
refresh token of the account when its password hash changes or ``is_active``
turns false, in the same transaction (and ends the user's calendar feed: the
bookings app replaces the function, ``bookings/migrations/0008_*``). A Python
hook would miss paths: a ``pre_save``/``post_save`` signal or a ``save()``
override never sees ``QuerySet.update()``, which ``model_update`` (every
service here) uses, and a ``set_password()`` override knows nothing until
something saves. The UPDATE of
the row is the one place every path passes (these services, the admin's forms,
``manage.py changepassword``, ``set_password()`` + ``save()`` in code, a shell's
``update()``), and it already holds the row lock the rest of this module
orders on. The price: Django's upgrade of a stored hash at login (after
``BCRYPT_ROUNDS`` or the hasher changes) writes a new hash too, so it ends the
account's other sessions once.
"""

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import datetime_from_epoch, datetime_to_epoch

from accounts.models import User
from bookit.db.sqlstate import UNIQUE_VIOLATION, sqlstate
from bookit.db.updates import model_update
from bookit.domain_errors import DomainError

EMAIL_TAKEN = "A user with this email already exists."
NO_ACTIVE_ACCOUNT = "No active account found with the given credentials"


@contextmanager
def _email_must_be_free() -> Iterator[None]:
    """Run a write of a user's email; a unique violation becomes the ``email_taken`` error.

    The case-insensitive unique constraint decides whether the email is free, so
    there is no racy pre-check. On the user table every unique violation is the
    email's: the id is the only other unique column, and the database assigns it.
    """
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        if sqlstate(exc) == UNIQUE_VIOLATION:
            raise DomainError(EMAIL_TAKEN, code="email_taken", field="email") from exc
        raise


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), code="weak_password", field="password") from exc


def user_register(*, email: str, password: str, full_name: str = "") -> User:
    """A new ordinary user; there is no way to register as staff."""
    user = User(email=User.objects.normalize_email(email), full_name=full_name.strip())
    _validate_password(password, user)
    user.set_password(password)
    with _email_must_be_free():
        user.save()
    return user


def user_update(
    *,
    user: User,
    full_name: str | None = None,
    email: str | None = None,
    email_notifications: bool | None = None,
    password: str | None = None,
    current_password: str | None = None,
) -> User:
    """Profile changes. A new email or password (the keys to the account) needs the current password;
    a new password also revokes every refresh token, signing out the account's other sessions.

    ``user`` is the one read when the request was authenticated; only the fields
    that differ from it are written (``_write_changes``).
    """
    new_email = User.objects.normalize_email(email) if email is not None else None
    if (password is not None or (new_email is not None and new_email != user.email)) and not (
        current_password and user.check_password(current_password)
    ):
        raise DomainError(
            "Give your current password to change your email or password.",
            code="wrong_password",
            field="current_password",
        )
    given = {
        "full_name": full_name.strip() if full_name is not None else None,
        "email": new_email,
        "email_notifications": email_notifications,
    }
    changes = {name: value for name, value in given.items() if value is not None and value != getattr(user, name)}
    if password is not None:
        _validate_password(password, _with_changes(user, changes))  # similarity to the new email, too
        changes["password"] = make_password(password)  # hashed before the transaction: bcrypt is slow
    _write_changes(user, changes, new_password=password)
    return user


def user_set_password(*, user: User, password: str | None) -> User:
    """Staff set a user's password (``None``: none, so password login is disabled), in the admin.

    As for a user's own change in ``user_update``, every refresh token of the
    account is revoked (by the database). Staff's form has already run the password validators.
    """
    _write_changes(user, {"password": make_password(password)}, new_password=password)
    return user


def user_change(*, user: User, changes: dict) -> User:
    """Staff's edit of a user in the admin: ``changes`` maps field names to the values staff gave.

    ``user`` is the row as it was read for the edit; only the fields in
    ``changes`` are written, so whatever the user or other staff changed
    meanwhile in other fields stays. Emails are stored normalised, as
    everywhere. A password is set with ``user_set_password``, never here.
    """
    if "password" in changes:
        raise ValueError("user_change does not set passwords; use user_set_password.")
    if changes.get("email") is not None:
        changes = {**changes, "email": User.objects.normalize_email(changes["email"])}
    _write_changes(user, changes)
    return user


def _write_changes(user: User, changes: dict, *, new_password: str | None = None) -> None:
    """The one writer of existing users: only the columns in ``changes`` (``model_update``), never a full-row save.

    ``user`` was read earlier (at authentication, for the admin's form), and a
    full-row save would undo what changed meanwhile, such as staff deactivating
    the account, or re-insert a deleted user (``NotFoundError`` instead). No
    ``full_clean``: its unique checks would be racy SELECTs; the constraint
    decides (``_email_must_be_free``). A new password hash or a deactivation
    revokes every refresh token of the account (the trigger, see the module's docstring).
    """
    with _email_must_be_free():
        model_update(instance=user, data=changes, validate=False)
    if new_password is not None:
        password_validation.password_changed(new_password, user)  # what AbstractBaseUser.save() would do


def _with_changes(user: User, changes: dict) -> User:
    """An unsaved copy of ``user`` as it will be, for the password validators to compare against."""
    candidate = copy.copy(user)
    for name, value in changes.items():
        setattr(candidate, name, value)
    return candidate


def _lock_user(user_id) -> User | None:
    """Lock the user's row for a write to its refresh tokens (see the module's docstring); None if there is none."""
    return User.objects.select_for_update(no_key=True).filter(pk=user_id).first()


# The login that started a chain of refreshes, in seconds since the epoch (OpenID Connect's name for it).
SESSION_START = "auth_time"


def _session_end(token: Token) -> datetime:
    """When the chain of refreshes ``token`` belongs to ends (``REFRESH_TOKEN_ABSOLUTE_LIFETIME`` after its login).

    A token issued before this claim existed starts the clock at its own issue time.
    """
    started = token.payload.setdefault(SESSION_START, token["iat"])
    return datetime_from_epoch(started) + settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME


def _end_by(token: Token, end: datetime) -> None:
    token["exp"] = min(token["exp"], datetime_to_epoch(end))


def token_obtain(*, email: str, password: str) -> dict[str, str]:
    """Log in: a refresh and an access token for the email and password of an active user.

    An unknown email, a wrong password and an inactive user get one answer,
    ``AuthenticationFailed`` (``no_active_account``, 401), which does not tell
    which accounts exist. The password is checked before the user's row is
    locked (bcrypt is slow); under the lock the stored hash must still accept
    it, so a password changed meanwhile cannot be followed by a token issued
    for the old one. The refresh token starts a session (``auth_time``, see ``token_refresh``).
    """
    user = authenticate(email=email, password=password)  # None for inactive users, too
    with transaction.atomic():
        locked = _lock_user(user.pk) if user is not None else None
        if (
            locked is None
            or not locked.is_active
            or (locked.password != user.password and not locked.check_password(password))
        ):
            raise AuthenticationFailed(NO_ACTIVE_ACCOUNT, "no_active_account")
        refresh = RefreshToken.for_user(locked)
        refresh[SESSION_START] = refresh["iat"]
        _end_by(refresh, _session_end(refresh))
    return {"refresh": str(refresh), "access": str(refresh.access_token)}


@transaction.atomic
def token_revoke(*, user: User, refresh: str) -> None:
    """Log out: revoke one of the caller's own refresh tokens."""
    try:
        token = RefreshToken(refresh)
        if str(token.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
            raise DomainError("This refresh token belongs to another user.", code="token_not_yours", field="refresh")
        _lock_user(user.pk)
        token.check_blacklist()  # again, now that no refresh or password change of this user is midway
    except TokenError as exc:
        raise DomainError(
            f"This refresh token cannot be revoked: {exc.args[0]}", code="token_not_valid", field="refresh"
        ) from exc
    token.blacklist()


def token_refresh(*, refresh: str) -> dict[str, str]:
    """Rotate a refresh token: a new access and refresh token for it, and the old one is blacklisted.

    Rotation renews the token, not the session: every token of a chain carries
    the time of the login that started it (``auth_time``), and none, access
    tokens included, outlives ``settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME`` after
    it. Past that the refresh is ``AuthenticationFailed`` (``session_expired``,
    401) and the client logs in again.

    Two refreshes of one token at once rotate it once: the user's row is locked
    before the blacklist is read, so the second waits for the first and then
    finds the token blacklisted. A token that is not a valid, unused refresh
    token, or whose user was deleted, is simplejwt's ``InvalidToken``; a deactivated
    user's is ``AuthenticationFailed`` (``no_active_account``). Both answer 401.
    """
    try:
        token = RefreshToken(refresh)  # signature, expiry, type and blacklist
        with transaction.atomic():
            user = _lock_user(token.get(api_settings.USER_ID_CLAIM))
            token.check_blacklist()  # again, now that no other refresh, logout or password change is midway
            if user is None:
                raise InvalidToken("The user of this token no longer exists.")
            if not user.is_active:
                raise AuthenticationFailed("No active account found for the given token.", "no_active_account")
            session_end = _session_end(token)
            if token.current_time >= session_end:
                raise AuthenticationFailed("This session has ended; log in again.", "session_expired")
            access = token.access_token
            _end_by(access, session_end)
            token.blacklist()
            token.set_jti()
            token.set_exp()
            token.set_iat()
            _end_by(token, session_end)
            token.outstand()
    except TokenError as exc:
        raise InvalidToken(exc.args[0]) from exc
    return {"access": str(access), "refresh": str(token)}

"""The API's authentication: simplejwt's ``JWTAuthentication``, with less work per request.

* The user is read by ``accounts.selectors.user_by_id``, one fixed query:
  every signed-in request reads its user (a deactivated user is refused at
  once), and building that query with the ORM cost more than sending it.
* A verified access token is remembered by its text, in this process, until
  it expires: checking the signature of the same bytes with the same key again
  can only give the same answer (an access token has no revocation of its own:
  logging out revokes the refresh token, and the user's row is read on every
  request). Expiry is checked on every use.

The checks and their messages are simplejwt's.
"""

import time

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.selectors import user_by_id


class JWTAuthentication(authentication.JWTAuthentication):
    verified: dict = {}  # raw token -> (usable until, as a Unix time; the token); this process's
    max_verified = 10_000

    def get_validated_token(self, raw_token):
        known = self.verified.get(raw_token)
        if known is not None and time.time() < known[0]:
            return known[1]
        token = super().get_validated_token(raw_token)  # raises for a bad or expired token
        if len(self.verified) >= self.max_verified:
            self.verified.clear()
        leeway = token.get_token_backend().get_leeway().total_seconds()
        self.verified[raw_token] = (token.payload["exp"] + leeway, token)
        return token

    def get_user(self, validated_token):
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        user = user_by_id(user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


class JWTScheme(SimpleJWTScheme):
    """The schema documents it as simplejwt's (``jwtAuth``)."""

    target_class = "accounts.authentication.JWTAuthentication"

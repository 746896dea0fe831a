"""Refresh tokens under concurrency: real transactions on separate connections.

A new password revokes every refresh token of the account; a login, a refresh
or a logout running at the same moment must neither fail nor leave a token alive.
"""

import pytest
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.services import token_obtain, token_refresh, token_revoke, user_update
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.interleave import paused_after
from bookit.tests.http import race, request

pytestmark = pytest.mark.django_db(transaction=True)
NEW_PASSWORD = "a-brand-new-secret-42"


def change_password(user):
    return user_update(user=user, password=NEW_PASSWORD, current_password=PASSWORD)


def test_a_refresh_meeting_another_of_the_same_token_midway_is_refused():
    user = UserFactory()
    refresh = str(RefreshToken.for_user(user))
    # The first refresh has blacklisted the token but not committed yet when the second one starts.
    with (
        paused_after(RefreshToken, "blacklist", lambda: token_refresh(refresh=refresh)) as first,
        pytest.raises(InvalidToken, match="blacklisted"),
    ):
        token_refresh(refresh=refresh)
    assert first.error is None and first.blocked_someone
    assert OutstandingToken.objects.filter(user=user).count() == 2  # the original and one successor


def test_simultaneous_refreshes_of_one_token_rotate_it_once(live_server):
    refresh = str(RefreshToken.for_user(UserFactory()))
    call = lambda: request("POST", f"{live_server.url}/auth/refresh", body={"refresh": refresh})  # noqa: E731
    statuses = sorted(status for status, _ in race([call] * 8))
    assert statuses == [200] + [401] * 7


def test_a_password_change_meeting_a_refresh_midway_revokes_the_new_token_too():
    user = UserFactory()
    refresh = str(RefreshToken.for_user(user))
    # The refresh has blacklisted the old token and stored its successor, not committed yet.
    with paused_after(RefreshToken, "outstand", lambda: token_refresh(refresh=refresh)) as refreshing:
        change_password(user)
    assert refreshing.error is None and refreshing.blocked_someone
    with pytest.raises(InvalidToken, match="blacklisted"):
        token_refresh(refresh=refreshing.result["refresh"])


def test_a_refresh_meeting_a_password_change_midway_is_refused():
    user = UserFactory()
    refresh = str(RefreshToken.for_user(user))
    with (
        paused_after(services, "model_update", lambda: change_password(user)) as changing,
        pytest.raises(InvalidToken, match="blacklisted"),
    ):
        token_refresh(refresh=refresh)
    assert changing.error is None and changing.blocked_someone


def test_a_password_change_meeting_a_logout_midway_succeeds():
    user = UserFactory()
    refresh = str(RefreshToken.for_user(user))
    with paused_after(RefreshToken, "blacklist", lambda: token_revoke(user=user, refresh=refresh)) as logging_out:
        change_password(user)  # blacklists the same token: it waits for the logout, then leaves it be
    assert logging_out.error is None and logging_out.blocked_someone
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1


def test_a_login_meeting_a_password_change_midway_is_refused(anon):
    user = UserFactory()
    with paused_after(services, "model_update", lambda: change_password(user)) as changing:
        response = anon.post("/auth/login", {"email": user.email, "password": PASSWORD})
    assert (response.status_code, response.json()["code"]) == (401, "no_active_account")
    assert changing.error is None and changing.blocked_someone


def test_a_password_change_meeting_a_login_midway_revokes_its_token():
    user = UserFactory()
    log_in = lambda: token_obtain(email=user.email, password=PASSWORD)  # noqa: E731
    with paused_after(RefreshToken, "for_user", log_in) as logging_in:  # its token stored, not committed
        change_password(user)
    assert logging_in.error is None and logging_in.blocked_someone
    with pytest.raises(InvalidToken, match="blacklisted"):
        token_refresh(refresh=logging_in.result["refresh"])

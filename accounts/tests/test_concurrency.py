"""Refresh tokens under concurrency: real transactions on separate connections."""

import pytest
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.services import token_refresh
from accounts.tests.factories import UserFactory
from accounts.tests.interleave import paused_after
from bookit.tests.http import race, request

pytestmark = pytest.mark.django_db(transaction=True)


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

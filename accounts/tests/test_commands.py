"""simplejwt's flushexpiredtokens, which the README tells operators to run daily."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

pytestmark = pytest.mark.django_db


def test_flushexpiredtokens_removes_expired_refresh_tokens(user):
    RefreshToken.for_user(user)
    OutstandingToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    live = RefreshToken.for_user(user)
    call_command("flushexpiredtokens")
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live["jti"]]

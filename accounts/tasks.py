"""The accounts' maintenance jobs, run periodically by the queue's workers (cron in settings.PERIODIC_JOBS).

The management commands ``purge_idempotency_keys`` and ``flushexpiredtokens`` stay for cron users.
"""

from django.conf import settings
from procrastinate.contrib.django import app
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.idempotency import idempotency_keys_purge
from bookit.jobs import periodic


@app.periodic(cron=settings.PERIODIC_JOBS["purge_idempotency_keys"])
@app.task(name="purge_idempotency_keys", queue="maintenance", **periodic("purge_idempotency_keys"))
def purge_idempotency_keys(timestamp: int) -> int:
    return idempotency_keys_purge()


@app.periodic(cron=settings.PERIODIC_JOBS["flush_expired_tokens"])
@app.task(name="flush_expired_tokens", queue="maintenance", **periodic("flush_expired_tokens"))
def flush_expired_tokens(timestamp: int) -> int:
    """What simplejwt's ``flushexpiredtokens`` does (their blacklist rows go with them, by cascade)."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=aware_utcnow()).delete()
    return deleted

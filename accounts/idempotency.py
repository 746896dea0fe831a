"""Safe retries: a write sent again with the same ``Idempotency-Key`` is answered, not done, twice.

``@idempotent`` wraps a DRF view method. Without the header the request runs
as ever. With it, the whole request runs in one transaction that first takes
a transaction-level advisory lock on (user, key):

* the lock is held: the first request is still running -> 409 ``idempotency_key_in_use``;
* a stored answer younger than 24 hours: the same method, path and body get it
  replayed (status and body, ``Idempotent-Replayed: true``) and nothing runs;
  another body -> 422 ``idempotency_key_reused``;
* otherwise the view runs, and a 2xx answer is stored in the same transaction
  as the change, so a crash can never keep one without the other. An error
  answer stores nothing (nothing was done): a retry runs again.

Keys are per user: the same key from two users never mixes. ``manage.py
purge_idempotency_keys`` deletes expired keys (run it daily).
"""

import functools
import hashlib
import json
from datetime import timedelta

from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer

from accounts.models import IdempotencyKey
from bookit.domain_errors import ConflictError, DomainError

HEADER = "Idempotency-Key"
LIFETIME = timedelta(hours=24)
# First key of pg_try_advisory_xact_lock(namespace, hashtext(user:key)): "IK" in ASCII.
LOCK_NAMESPACE = 0x494B

PARAMETER = OpenApiParameter(
    HEADER,
    str,
    location=OpenApiParameter.HEADER,
    description=(
        "Optional, 1-255 printable characters. A retry with the same key, method, path and body within 24 hours "
        "gets the first answer again (`Idempotent-Replayed: true`) and changes nothing; the same key with another "
        "body is a 422, and while the first request runs a 409."
    ),
)


class IdempotencyKeyReused(DomainError):
    status_code = 422
    default_code = "idempotency_key_reused"


def _valid(key: str) -> bool:
    return 1 <= len(key) <= 255 and all(" " <= char <= "~" for char in key)


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path.rstrip('/')}\n{body}".encode()).hexdigest()


def _answer(status: int, body: str, *, replayed: bool) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view_method):
    """Make a DRF view method (a write by a signed-in user) safe to retry with an ``Idempotency-Key``."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not _valid(key):
            raise DomainError(f"{HEADER} must have 1 to 255 printable characters.", code="invalid_idempotency_key")
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, f"{request.user.pk}:{key}"]
                )
                if not cursor.fetchone()[0]:
                    raise ConflictError(
                        "A request with this Idempotency-Key is still running; retry shortly.",
                        code="idempotency_key_in_use",
                    )
            stored = IdempotencyKey.objects.filter(user=request.user, key=key).first()
            if stored is not None and stored.created_at > timezone.now() - LIFETIME:
                if stored.fingerprint != fingerprint:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was used for another request; use a new key for a new request."
                    )
                return _answer(stored.status_code, stored.response_body, replayed=True)
            if stored is not None:
                stored.delete()  # expired, and not purged yet
            response = view_method(self, request, *args, **kwargs)
            if not 200 <= response.status_code < 300:
                return response
            body = JSONRenderer().render(response.data).decode()
            IdempotencyKey.objects.create(
                user=request.user,
                key=key,
                fingerprint=fingerprint,
                status_code=response.status_code,
                response_body=body,
            )
        return _answer(response.status_code, body, replayed=False)

    return wrapper


def idempotency_keys_purge(*, now=None) -> int:
    """Delete the keys older than 24 hours; returns how many."""
    cutoff = (now or timezone.now()) - LIFETIME
    return IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()[0]

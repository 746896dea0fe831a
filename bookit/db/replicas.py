"""Read replicas: the reads of GET requests go to a streaming standby; whatever must be current reads the primary.

``DATABASE_REPLICA_URLS`` adds the aliases ``replica1``, ``replica2``, ... next to
``default`` (the primary); ``ReplicaRouter`` and ``ReadRoutingMiddleware`` then
decide, per query:

* every write goes to the primary, so its constraints judge: a slot that looked
  free on a lagging replica still ends in a clean 409, never a double booking;
* every read inside a transaction goes to the primary (a service reads what it
  then writes, under its locks), and so does every read outside a GET, HEAD or
  OPTIONS request (a POST's own reads, management commands, the shell);
* accounts, permissions, sessions and revoked tokens are read from the primary:
  a deactivated user or a revoked token stops working as soon as it does
  without replicas, whatever a replica's lag;
* read-your-writes: after a signed-in user's successful write, that user's reads
  go to the primary for ``READ_YOUR_WRITES_SECONDS``. The marker lives in the
  ``routing`` cache (Redis, which replicas require), so every instance knows;
  if Redis cannot be read, reads go to the primary;
* a request keeps one replica for all its reads (two replicas may lag
  differently); a replica that cannot be reached is left alone for
  ``RETRY_SECONDS`` and its reads go to the primary meanwhile.
"""

import contextvars
import logging
import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router
from django.http import HttpRequest
from redis.exceptions import RedisError

logger = logging.getLogger("bookit.replicas")

PRIMARY_APPS = {"accounts", "auth", "sessions", "token_blacklist"}  # who may act, and as whom
PRIMARY_MODELS = {"bookings.calendarfeed"}  # a rotated feed token stops working at once, on every instance
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
RETRY_SECONDS = 30.0

_down_until: dict[str, float] = {}  # replica alias -> when to try it again (per process)


def read_connection(model):
    """The connection the routers pick for a read of ``model``: a selector's own SQL reads where the ORM's would."""
    return connections[router.db_for_read(model)]


def replicas() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


def _marker(user_id) -> str:
    return f"wrote:{user_id}"


def remember_write(user_id) -> None:
    """``user_id`` wrote: its reads go to the primary for READ_YOUR_WRITES_SECONDS, on every instance."""
    try:
        caches["routing"].set(_marker(user_id), 1, settings.READ_YOUR_WRITES_SECONDS)
    except (RedisError, OSError) as exc:  # its next reads cannot see the marker either: they go to the primary
        logger.warning("read-your-writes marker not stored (%s: %s)", type(exc).__name__, exc)


def wrote_recently(user_id) -> bool:
    try:
        return caches["routing"].get(_marker(user_id)) is not None
    except (RedisError, OSError):
        return True  # unknown: the primary is always right


def reachable(alias: str) -> bool:
    """Whether ``alias`` answers; one that does not is skipped for RETRY_SECONDS.

    Django checks a reused connection before a request's first query on it
    (``CONN_HEALTH_CHECKS``); doing that here, before routing to it, turns a
    dead replica into reads from the primary instead of a 503.
    """
    if time.monotonic() < _down_until.get(alias, 0.0):
        return False
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except DatabaseError as exc:
        logger.warning("replica %s unreachable, reading from the primary for %ds (%s)", alias, RETRY_SECONDS, exc)
        _down_until[alias] = time.monotonic() + RETRY_SECONDS
        return False
    return True


@dataclass
class _ReadRequest:
    """A GET (HEAD, OPTIONS) request being served, and what was decided for it."""

    request: HttpRequest
    replica: str | None = None
    user_id: int | None = None  # checked for a recent write
    wrote: bool = False

    def database(self) -> str:
        user = getattr(self.request, "user", None)  # DRF puts the authenticated user here
        if user is not None and user.is_authenticated:
            if user.pk != self.user_id:
                self.user_id, self.wrote = user.pk, wrote_recently(user.pk)
            if self.wrote:
                return DEFAULT_DB_ALIAS
        if self.replica is None or not reachable(self.replica):
            up = [alias for alias in replicas() if reachable(alias)]
            self.replica = random.choice(up) if up else None  # noqa: S311 - spreading load, not a secret
        return self.replica or DEFAULT_DB_ALIAS


_reading: contextvars.ContextVar[_ReadRequest | None] = contextvars.ContextVar("bookit_reading", default=None)


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        read = _reading.get()
        if (
            read is None
            or model._meta.app_label in PRIMARY_APPS
            or model._meta.label_lower in PRIMARY_MODELS
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        return read.database()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # every alias holds the same data

    def allow_migrate(self, db, app_label, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReadRoutingMiddleware:
    """Lets the reads of GET, HEAD and OPTIONS requests go to replicas; after a user's write, remembers it."""

    def __init__(self, get_response):
        if not replicas():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        if request.method in SAFE_METHODS:
            token = _reading.set(_ReadRequest(request))
            try:
                return self.get_response(request)
            finally:
                _reading.reset(token)
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if response.status_code < 400 and user is not None and user.is_authenticated:
            remember_write(user.pk)
        return response

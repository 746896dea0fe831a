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
* read-your-writes follows WAL positions, not a timer: after a signed-in user's
  successful write, the primary's WAL insert position (read once, after the
  request's commits) is kept for that user in the ``routing`` cache (Redis,
  which replicas require, so every instance knows; the highest position wins).
  That user's reads go to a replica only once its replay position has reached
  it, however long that takes: nobody sees their own write vanish. If the
  markers cannot be read, signed-in users read from the primary;
* a replica more than ``REPLICA_MAX_LAG_SECONDS`` behind serves no reads until
  it catches up (``ReplicaState``: how the lag is measured, and why an idle
  primary does not make a replica look behind);
* each worker asks the primary and the replicas where they stand at most once
  per ``CHECK_SECONDS``, so reads do not pay a query each; the position cached
  is a lower bound of the replica's, which only moves forward, so routing on it
  is safe;
* a request chooses once, at its first read, and keeps that server, the primary
  included, for all its reads: two servers may stand at different points, and a
  page assembled from both (say, the catalog's version from one and its rows
  from another) would be kept under the wrong version. A replica that cannot be
  reached is left alone for ``RETRY_SECONDS`` and its reads go to the primary
  meanwhile;
* the markers' cache has the throttles' circuit breaker (``bookit.breaker``):
  with Redis down, requests do not wait its timeout each, they read from the
  primary for ``CacheBreaker.retry_seconds``.
"""

import contextlib
import contextvars
import logging
import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router
from django.http import HttpRequest

from bookit.breaker import CacheBreaker, CacheDown

logger = logging.getLogger("bookit.replicas")

PRIMARY_APPS = {"accounts", "auth", "sessions", "token_blacklist"}  # who may act, and as whom
PRIMARY_MODELS = {"bookings.calendarfeed"}  # a rotated feed token stops working at once, on every instance
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
RETRY_SECONDS = 30.0  # an unreachable replica is left alone this long
CHECK_SECONDS = 1.0  # how old a worker's view of the replicas' positions and lags may be
# A marker only needs to outlive the replicas' lag; the expiry just keeps Redis from growing.
MARKER_SECONDS = 24 * 3600

clock = time.monotonic  # the tests move it
routing_cache = CacheBreaker("routing", logger=logger, meanwhile="signed-in users read from the primary")
_down_until: dict[str, float] = {}  # replica alias -> when to try it again (per process)


def read_connection(model):
    """The connection the routers pick for a read of ``model``: a selector's own SQL reads where the ORM's would."""
    return connections[router.db_for_read(model)]


def replicas() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


# --- Read-your-writes: the primary's position after a user's last write ------


def _marker(user_id) -> str:
    return f"wrote:{user_id}"


# Raise the marker to ARGV[1], never lower it: two writes of one user may end on
# different instances in either order. Positions are decimal integers, so the
# longer string is the larger number, and equal lengths compare as strings.
_RAISE_MARKER = """
local old = redis.call('GET', KEYS[1])
if old and (#old > #ARGV[1] or (#old == #ARGV[1] and old >= ARGV[1])) then
    return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
"""


def _raise_marker(cache: BaseCache, key: str, position: int) -> None:
    if isinstance(cache, RedisCache):
        # Django's cache API has no "set if greater": one Lua script, atomic in Redis. An int is
        # stored as its digits by Django's Redis serializer, so cache.get() reads the int back.
        client = cache._cache.get_client(key, write=True)
        client.eval(_RAISE_MARKER, 1, cache.make_and_validate_key(key), str(position), MARKER_SECONDS)
    elif (cache.get(key) or 0) < position:  # local memory: one process, tests
        cache.set(key, position, MARKER_SECONDS)


def _write_position() -> int:
    """The primary's WAL insert position, in bytes: past the commit records of everything committed so far.

    The insert position, not ``pg_current_wal_lsn()`` (written so far): with
    ``synchronous_commit = off`` a commit may return before its record is written.
    When the last record ends exactly at a WAL page's end, this points past the
    next page's header, a few bytes beyond what a replica replays; the writer then
    reads from the primary until the primary's next record (its background writer
    logs one within 15 seconds of any activity): the safe side.
    """
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


def remember_write(user_id) -> None:
    """``user_id`` wrote: its reads go to a replica only once it has replayed what the primary holds now."""
    try:
        position = _write_position()
    except DatabaseError as exc:  # the primary just committed; if it cannot answer now, reads fail as well
        logger.warning("read-your-writes position not read (%s: %s)", type(exc).__name__, exc)
        return
    # While Redis is down nobody can read markers (the primary serves them all). A write made meanwhile is
    # unknown once Redis is back: its author may then read from a replica, at most REPLICA_MAX_LAG_SECONDS behind.
    with contextlib.suppress(CacheDown):
        routing_cache.run(lambda cache: _raise_marker(cache, _marker(user_id), position))


def last_write_position(user_id) -> int | None:
    """Where the primary stood after ``user_id``'s last write (0: none kept); None if the markers cannot be read."""
    try:
        return routing_cache.run(lambda cache: cache.get(_marker(user_id))) or 0
    except CacheDown:
        return None


# --- Where the replicas stand -------------------------------------------------


def reachable(alias: str) -> bool:
    """Whether ``alias`` answers; one that does not is skipped for RETRY_SECONDS.

    Django checks a reused connection before a request's first query on it
    (``CONN_HEALTH_CHECKS``); doing that here, before routing to it, turns a
    dead replica into reads from the primary instead of a 503.
    """
    if clock() < _down_until.get(alias, 0.0):
        return False
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except DatabaseError as exc:
        _mark_down(alias, exc)
        return False
    return True


def _mark_down(alias: str, exc: Exception) -> None:
    logger.warning("replica %s unreachable, reading from the primary for %ds (%s)", alias, RETRY_SECONDS, exc)
    _down_until[alias] = clock() + RETRY_SECONDS


@dataclass(frozen=True)
class ReplicaState:
    """Where a replica stood when this worker last asked.

    ``position`` is the WAL it had replayed (``pg_last_wal_replay_lsn()``, in
    bytes), None when it could not be asked or is no standby (not in recovery: a
    promoted one has left the primary's history). ``lag_seconds``:

    * 0 when it had replayed everything the primary had written when asked
      just before (``pg_current_wal_lsn()``), however old its last replayed
      commit: an idle primary writes no commits, and ``now() -
      pg_last_xact_replay_timestamp()`` would grow for ever on a replica that
      misses nothing;
    * otherwise ``now() - pg_last_xact_replay_timestamp()``: the age of the newest
      commit it has, so a bound of how old the oldest it misses can be. After a
      quiet spell the first commit makes that bound the length of the spell until
      the replica replays it (milliseconds); a check that falls in that moment
      keeps reads on the primary for one ``CHECK_SECONDS``, the safe side. The
      commit time is the primary's clock and ``now()`` the replica's: keep their
      clocks synchronised (NTP);
    * None (unknown, so too far) when it could not be asked, is no standby, or is
      behind and has replayed no commit since it started.
    """

    position: int | None = None
    lag_seconds: float | None = None
    reachable: bool = True

    @property
    def serving(self) -> bool:
        return self.lag_seconds is not None and self.lag_seconds <= settings.REPLICA_MAX_LAG_SECONDS

    def has_replayed(self, position: int) -> bool:
        return self.serving and self.position >= position


def _primary_written() -> int:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


def _standby_status(alias: str) -> tuple[int | None, float | None]:
    """(replayed position, seconds since the last replayed commit) of ``alias``; position None if no standby."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() - '0/0'::pg_lsn END,"
            " extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
        )
        position, since_commit = cursor.fetchone()
    return (
        None if position is None else int(position),
        None if since_commit is None else max(float(since_commit), 0.0),
    )


def _check(alias: str, primary: int | None) -> ReplicaState:
    if not reachable(alias):
        return ReplicaState(reachable=False)
    try:
        position, since_commit = _standby_status(alias)
    except DatabaseError as exc:
        _mark_down(alias, exc)
        return ReplicaState(reachable=False)
    if position is None:
        return ReplicaState()
    if primary is not None and position >= primary:
        return ReplicaState(position, 0.0)
    return ReplicaState(position, since_commit)


class _Standbys:
    """This worker's view of the replicas, asked again once it is CHECK_SECONDS old."""

    def __init__(self):
        self.forget()

    def forget(self) -> None:
        self.checked_at = float("-inf")
        self.states: dict[str, ReplicaState] = {}

    def states_now(self) -> dict[str, ReplicaState]:
        now = clock()
        if now - self.checked_at >= CHECK_SECONDS:
            self.checked_at = now
            self.states = self._check_all(self.states)
        return self.states

    def _check_all(self, before: dict[str, ReplicaState]) -> dict[str, ReplicaState]:
        try:
            primary = _primary_written()  # first: a replica at or past it then had everything
        except DatabaseError:
            primary = None  # lags from the commit times alone
        states = {alias: _check(alias, primary) for alias in replicas()}
        for alias, state in states.items():
            was = before.get(alias)
            if state.serving and was is not None and not was.serving:
                logger.info("replica %s serves reads again (lag %.1f s)", alias, state.lag_seconds)
            elif not state.serving and (was is None or was.serving):
                if state.lag_seconds is not None:
                    logger.warning(
                        "replica %s lags %.1f s, more than REPLICA_MAX_LAG_SECONDS (%g): reading from the primary",
                        alias,
                        state.lag_seconds,
                        settings.REPLICA_MAX_LAG_SECONDS,
                    )
                elif state.reachable:  # an unreachable one was logged when it failed
                    logger.warning("replica %s serves no reads: not a standby, or its lag is unknown", alias)
        return states


_standbys = _Standbys()


def replica_states() -> dict[str, ReplicaState]:
    """Each replica's position and lag, as this worker saw them at most CHECK_SECONDS ago."""
    return _standbys.states_now()


def replica_report() -> dict[str, dict]:
    """What ``/health`` shows of each replica: its lag (None when unknown or unreachable) and whether it serves.

    Reachability is checked now, as before a request's reads: a replica that died
    since this worker's last look is not reported serving.
    """
    states = {
        alias: state if reachable(alias) else ReplicaState(reachable=False) for alias, state in replica_states().items()
    }
    return {
        alias: {
            "lag_seconds": None if state.lag_seconds is None else round(state.lag_seconds, 3),
            "serving": state.serving,
        }
        for alias, state in states.items()
    }


# --- Routing ------------------------------------------------------------------


@dataclass
class _ReadRequest:
    """A GET (HEAD, OPTIONS) request being served, and the server chosen for its reads."""

    request: HttpRequest
    alias: str | None = None

    def database(self) -> str:
        if self.alias is None:  # its first read: chosen once, then kept, even when the primary was chosen
            self.alias = self._choose()
        return self.alias

    def _choose(self) -> str:
        # DRF authenticates (from the primary) before the view's first read, so the user is known here.
        user = getattr(self.request, "user", None)
        needed = 0
        if user is not None and user.is_authenticated:
            needed = last_write_position(user.pk)
            if needed is None:
                return DEFAULT_DB_ALIAS  # unknown: the primary is always right
        caught_up = [alias for alias, state in replica_states().items() if state.has_replayed(needed)]
        random.shuffle(caught_up)  # spreading load, not a secret
        return next((alias for alias in caught_up if reachable(alias)), DEFAULT_DB_ALIAS)


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
        response = self.get_response(request)  # its transactions have committed
        user = getattr(request, "user", None)
        if response.status_code < 400 and user is not None and user.is_authenticated:
            remember_write(user.pk)
        return response

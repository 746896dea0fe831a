"""Where reads go with read replicas (bookit/db/replicas.py): the rules, without a replica.

The test settings have none, so the router is asked directly with pretend
replicas: the test decides whether each answers, the WAL it has replayed and
how long ago its last replayed commit was, where the primary stands, and the
clock. ``tests/test_read_replica.py`` runs the same rules against a real
streaming standby.
"""

import contextlib
import subprocess
import sys
import uuid
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.db import DatabaseError, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from accounts.models import User
from bookings.models import Booking
from bookit.db import replicas
from bookit.db.replicas import CHECK_SECONDS, MARKER_SECONDS, ReadRoutingMiddleware, ReplicaRouter
from bookit.testing.requirements import require_redis
from bookit.tests.test_settings import REPO
from catalog.models import Service

router = ReplicaRouter()
MAX_LAG = 5


@dataclass
class World:
    """The primary and the pretend replicas, as the router's queries would find them."""

    primary: int = 1000  # pg_current_wal_lsn(), in bytes; a write moves it
    up: dict = field(default_factory=lambda: {"replica1": True})
    replayed: dict = field(default_factory=lambda: {"replica1": 1000})  # pg_last_wal_replay_lsn()
    since_commit: dict = field(default_factory=lambda: {"replica1": 0.2})  # now() - pg_last_xact_replay_timestamp()
    now: float = 10_000.0
    checks: int = 0  # how many times a replica was asked where it stands

    def standby_status(self, alias):
        self.checks += 1
        return self.replayed[alias], self.since_commit[alias]

    def later(self, seconds: float = CHECK_SECONDS) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def world(monkeypatch, settings):
    settings.REPLICA_MAX_LAG_SECONDS = MAX_LAG
    world = World()
    monkeypatch.setattr(replicas, "replicas", lambda: list(world.up))
    monkeypatch.setattr(replicas, "reachable", lambda alias: world.up[alias])
    monkeypatch.setattr(replicas, "_primary_written", lambda: world.primary)
    monkeypatch.setattr(replicas, "_write_position", lambda: world.primary)
    monkeypatch.setattr(replicas, "_standby_status", world.standby_status)
    monkeypatch.setattr(replicas, "clock", lambda: world.now)
    monkeypatch.setattr(replicas.routing_cache, "clock", lambda: world.now)
    monkeypatch.setattr(replicas.routing_cache, "down_until", 0.0)
    replicas._standbys.forget()
    caches["routing"].clear()
    yield world
    replicas._standbys.forget()


def serve(method: str, user, respond=lambda: HttpResponse(status=200)):
    """``respond`` called as the view of a ``method`` request by ``user``; what the middleware did around it."""
    request = RequestFactory().generic(method, "/")
    request.user = user

    def view(request):
        return respond()

    return ReadRoutingMiddleware(view)(request)


def reads_for(method: str, user, *between, model=Service, atomic: bool = False) -> list[str]:
    """Where the reads of ``model`` go in one ``method`` request by ``user``: one read, then one after each of
    ``between`` (called in the middle of the request)."""
    answer = []

    def respond():
        with transaction.atomic() if atomic else contextlib.nullcontext():
            answer.append(router.db_for_read(model))
            for step in between:
                step()
                answer.append(router.db_for_read(model))
        return HttpResponse()

    serve(method, user, respond)
    return answer


def read_for(method: str, user, model=Service, *, atomic: bool = False) -> str:
    """Where a read of ``model`` goes while a ``method`` request by ``user`` is served."""
    return reads_for(method, user, model=model, atomic=atomic)[0]


def write(world: World, user, status: int = 201) -> None:
    """``user`` writes successfully (the primary's WAL moves on), or is refused (``status`` >= 400)."""

    def respond():
        world.primary += 100
        return HttpResponse(status=status)

    serve("POST", user, respond)


def test_reads_of_get_requests_go_to_the_replica():
    assert read_for("GET", AnonymousUser()) == "replica1"
    assert read_for("HEAD", AnonymousUser(), Booking) == "replica1"


def test_reads_outside_get_requests_go_to_the_primary():
    assert router.db_for_read(Service) == "default"  # a command, the shell
    assert read_for("POST", AnonymousUser()) == "default"
    assert read_for("PATCH", AnonymousUser()) == "default"


def test_writes_always_go_to_the_primary():
    assert router.db_for_write(Service) == "default"
    assert router.allow_migrate("default", "bookings") and not router.allow_migrate("replica1", "bookings")


def test_who_may_act_is_always_read_from_the_primary():
    from django.contrib.auth.models import Permission
    from django.contrib.sessions.models import Session
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    for model in (User, Permission, Session, OutstandingToken, BlacklistedToken):
        assert read_for("GET", AnonymousUser(), model) == "default", model


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_go_to_the_primary():
    assert read_for("GET", AnonymousUser(), atomic=True) == "default"


# --- Read-your-writes: positions, not a timer ------------------------------------


def test_the_writer_reads_from_the_primary_until_a_replica_has_replayed_the_write_however_long(world):
    user, other_user = User(pk=1), User(pk=2)
    assert read_for("GET", user) == "replica1"
    write(world, user)  # the primary is at 1100; the replica has replayed 1000
    assert read_for("GET", user) == "default"  # sees its own booking at once
    assert read_for("GET", other_user) == "replica1"  # others are not slowed
    world.later(3600)  # an hour later (any timer would have run out), the replica still at 1000 but not lagging
    assert read_for("GET", user) == "default"
    world.replayed["replica1"] = 1099
    world.later()
    assert read_for("GET", user) == "default"  # one byte short is short
    world.replayed["replica1"] = 1100
    world.later()
    assert read_for("GET", user) == "replica1"


def test_the_marker_is_the_primarys_position_after_the_write_kept_a_day(world, monkeypatch):
    stored = {}
    monkeypatch.setattr(caches["routing"], "set", lambda key, value, timeout: stored.update({key: (value, timeout)}))
    write(world, User(pk=1), status=204)
    assert stored == {"wrote:1": (1100, MARKER_SECONDS)}
    assert MARKER_SECONDS == 24 * 3600


def test_two_writes_ending_out_of_order_keep_the_later_position(world, monkeypatch):
    user = User(pk=1)
    positions = iter([1700, 1600])  # the second request read the primary's position first, stored it last
    monkeypatch.setattr(replicas, "_write_position", lambda: next(positions))
    serve("POST", user, lambda: HttpResponse(status=201))
    serve("POST", user, lambda: HttpResponse(status=201))
    assert replicas.last_write_position(user.pk) == 1700


def test_a_refused_write_or_a_read_is_not_a_write(world):
    user = User(pk=1)
    write(world, user, status=409)
    serve("GET", user)
    assert replicas.last_write_position(user.pk) == 0
    assert read_for("GET", user) == "replica1"


def test_the_replicas_position_is_asked_at_most_once_a_second_per_worker(world):
    user = User(pk=1)
    for _ in range(5):
        assert read_for("GET", AnonymousUser()) == "replica1"
    assert world.checks == 1
    write(world, user)
    world.replayed["replica1"] = 1100  # replayed at once, but this worker saw it at 1000 less than a second ago
    world.later(CHECK_SECONDS / 2)
    assert read_for("GET", user) == "default"  # the position it knows is a lower bound: the safe side
    assert world.checks == 1
    world.later(CHECK_SECONDS / 2)
    assert read_for("GET", user) == "replica1"
    assert world.checks == 2


def test_with_two_replicas_the_writer_reads_from_one_that_has_replayed_the_write(world):
    world.up["replica2"] = True
    world.replayed["replica2"] = 1000
    world.since_commit["replica2"] = 0.1
    user = User(pk=1)
    write(world, user)
    world.replayed["replica2"] = 1100
    world.later()
    assert {read_for("GET", user) for _ in range(20)} == {"replica2"}
    assert {read_for("GET", AnonymousUser()) for _ in range(40)} == {"replica1", "replica2"}


# --- The lag bound ---------------------------------------------------------------


def test_a_replica_further_behind_than_the_bound_serves_nobody_until_it_catches_up(world, settings):
    world.primary = 2000  # someone else wrote; the replica has replayed 1000 and its last commit is old
    world.since_commit["replica1"] = MAX_LAG
    assert read_for("GET", AnonymousUser()) == "replica1"  # at the bound
    world.since_commit["replica1"] = MAX_LAG + 0.1
    world.later()
    assert read_for("GET", AnonymousUser()) == "default"
    assert replicas.replica_report() == {"replica1": {"lag_seconds": MAX_LAG + 0.1, "serving": False}}
    world.replayed["replica1"] = 1500  # catching up: its newest commit is recent again
    world.since_commit["replica1"] = 0.3
    world.later()
    assert read_for("GET", AnonymousUser()) == "replica1"
    settings.REPLICA_MAX_LAG_SECONDS = 0.25
    assert read_for("GET", AnonymousUser()) == "default"


def test_a_replica_that_has_replayed_all_the_primary_wrote_does_not_lag_however_old_its_last_commit(world):
    world.since_commit["replica1"] = 3 * 3600  # the primary has been idle for three hours
    assert world.replayed["replica1"] == world.primary
    assert read_for("GET", AnonymousUser()) == "replica1"
    assert replicas.replica_report() == {"replica1": {"lag_seconds": 0.0, "serving": True}}
    world.primary += 8  # the first write after the quiet spell: until it is replayed, the bound says three hours
    world.later()
    assert read_for("GET", AnonymousUser()) == "default"


def test_a_replica_behind_with_no_commit_replayed_or_no_standby_at_all_serves_nobody(world):
    world.primary = 2000
    world.since_commit["replica1"] = None  # started and has replayed no commit yet
    assert read_for("GET", AnonymousUser()) == "default"
    assert replicas.replica_report() == {"replica1": {"lag_seconds": None, "serving": False}}
    world.replayed["replica1"], world.since_commit["replica1"] = None, 0.0  # promoted, or a primary of its own
    world.later()
    assert read_for("GET", AnonymousUser()) == "default"


def test_without_the_primarys_position_the_lag_is_the_age_of_the_last_replayed_commit(world, monkeypatch):
    def unavailable():
        raise DatabaseError("the primary does not answer")

    monkeypatch.setattr(replicas, "_primary_written", unavailable)
    world.since_commit["replica1"] = 1.5
    assert replicas.replica_report() == {"replica1": {"lag_seconds": 1.5, "serving": True}}


def test_an_unreachable_replica_sends_reads_to_the_primary(world):
    world.up["replica1"] = False
    assert read_for("GET", AnonymousUser()) == "default"
    assert replicas.replica_report() == {"replica1": {"lag_seconds": None, "serving": False}}


def test_a_replica_that_fails_when_asked_is_left_alone_for_a_while(world, monkeypatch):
    def fails(alias):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(replicas, "_standby_status", fails)
    monkeypatch.setattr(replicas, "_down_until", {})
    assert read_for("GET", AnonymousUser()) == "default"
    assert replicas._down_until == {"replica1": world.now + replicas.RETRY_SECONDS}


@pytest.mark.django_db
def test_health_reports_each_replicas_lag_and_whether_it_serves(anon, world):
    world.up["replica2"] = True
    world.primary = 1500
    world.replayed["replica2"] = 1200
    world.since_commit["replica2"] = 12.34567
    assert anon.get("/health").json() == {
        "status": "ok",
        "database": "ok",
        "queue": {"waiting": 0, "oldest_waiting_seconds": None},
        "replicas": {
            "replica1": {"lag_seconds": 0.2, "serving": True},
            "replica2": {"lag_seconds": 12.346, "serving": False},
        },
    }


# --- One choice per request --------------------------------------------------------


def test_a_request_that_found_no_replica_at_its_first_read_keeps_the_primary(world):
    world.primary, world.since_commit["replica1"] = 2000, MAX_LAG + 1

    def replica_catches_up():
        world.replayed["replica1"], world.since_commit["replica1"] = 2000, 0.0
        world.later()

    assert reads_for("GET", AnonymousUser(), replica_catches_up, replica_catches_up) == ["default"] * 3
    assert read_for("GET", AnonymousUser()) == "replica1"  # the next request chooses afresh


def test_a_request_keeps_its_replica_for_all_its_reads(world):
    def replica_falls_behind():
        world.primary += 1000
        world.since_commit["replica1"] = MAX_LAG + 1
        world.later()

    assert reads_for("GET", AnonymousUser(), replica_falls_behind) == ["replica1", "replica1"]
    assert read_for("GET", AnonymousUser()) == "default"


def test_the_writers_choice_is_made_once_too(world):
    user = User(pk=1)
    write(world, user)

    def replica_replays_the_write():
        world.replayed["replica1"] = world.primary
        world.later()

    assert reads_for("GET", user, replica_replays_the_write) == ["default", "default"]


# --- The markers' circuit breaker -----------------------------------------------------


@pytest.mark.parametrize("failure", [RedisConnectionError("refused"), RedisTimeoutError("black-holed")])
def test_when_the_markers_cannot_be_read_signed_in_users_read_from_the_primary_without_waiting_each_time(
    world, monkeypatch, caplog, failure
):
    user = User(pk=1)
    calls = []

    def down(*args, **kwargs):
        calls.append(args)
        raise failure

    monkeypatch.setattr(caches["routing"], "get", down)
    monkeypatch.setattr(caches["routing"], "set", down)
    assert read_for("GET", user) == "default"
    assert read_for("GET", AnonymousUser()) == "replica1"  # nobody to remember
    for _ in range(5):  # the breaker is open: no more waits on Redis
        assert read_for("GET", user) == "default"
        write(world, user)
    assert len(calls) == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "bookit.replicas"]
    assert len(warnings) == 1 and "routing cache unavailable" in warnings[0]
    world.later(replicas.routing_cache.retry_seconds)  # tried again after the pause
    assert read_for("GET", user) == "default"
    assert len(calls) == 2


def test_the_breaker_closes_when_redis_answers_again(world, monkeypatch):
    user = User(pk=1)
    real_get = caches["routing"].get
    monkeypatch.setattr(caches["routing"], "get", lambda *args: (_ for _ in ()).throw(RedisConnectionError("down")))
    assert read_for("GET", user) == "default"
    monkeypatch.setattr(caches["routing"], "get", real_get)
    assert read_for("GET", user) == "default"  # still open
    world.later(replicas.routing_cache.retry_seconds)
    assert read_for("GET", user) == "replica1"


def test_the_marker_in_redis_only_ever_rises(settings):
    """The Lua path of ``_raise_marker``, on the machine's Redis (CI's), under a prefix of this test's own."""
    url = require_redis()
    prefix = f"bookit-test-routing-{uuid.uuid4().hex}"
    settings.CACHES = {
        **settings.CACHES,
        "routing": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix},
    }
    cache = caches["routing"]
    try:
        for position in (1700, 1600, 999, 1701, 10_000, 9_999):
            replicas._raise_marker(cache, "wrote:1", position)
        assert cache.get("wrote:1") == 10_000
        assert replicas.last_write_position(1) == 10_000
        client = cache._cache.get_client(write=True)
        assert MARKER_SECONDS - 5 < client.ttl(cache.make_and_validate_key("wrote:1")) <= MARKER_SECONDS
    finally:
        cache.clear()


# --- Settings ------------------------------------------------------------------------


def test_without_replicas_nothing_changes():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(sorted(s.DATABASES), s.DATABASE_ROUTERS)"
    )
    env = {"DJANGO_SETTINGS_MODULE": "bookit.settings", "APP_ENV": "test", "DATABASE_REPLICA_URLS": ""}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['default'] []"


def test_replica_urls_become_aliases_with_the_primarys_database_name_and_options():
    code = (
        "from django.conf import settings as s; r = s.DATABASES['replica2']; "
        "print(r['HOST'], r['PORT'], r['NAME'], r['OPTIONS']['connect_timeout'], r['TEST'], "
        "s.REPLICA_MAX_LAG_SECONDS, s.DATABASE_ROUTERS, sep='|')"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "bookit.settings",
        "APP_ENV": "test",
        "DATABASE_URL": "postgres://bookit@primary:5432/bookit",
        "DATABASE_NAME": "bookit_other",
        "DATABASE_REPLICA_URLS": "postgres://bookit@replica-a:5432/bookit,postgres://bookit@replica-b:5433/bookit",
        "REPLICA_MAX_LAG_SECONDS": "2.5",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split("|") == [
        "replica-b",
        "5433",
        "bookit_other",
        "2",
        "{'MIRROR': 'default'}",
        "2.5",
        "['bookit.db.replicas.ReplicaRouter']\n",
    ]


def test_the_lag_bound_defaults_to_five_seconds():
    code = "from django.conf import settings as s; print(s.REPLICA_MAX_LAG_SECONDS)"
    env = {"DJANGO_SETTINGS_MODULE": "bookit.settings", "APP_ENV": "test"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "5.0"


def test_replicas_without_redis_stop_start_up_with_one_line():
    env = {
        "DJANGO_SETTINGS_MODULE": "bookit.settings",
        "APP_ENV": "test",
        "DATABASE_REPLICA_URLS": "postgres://bookit@replica-a:5432/bookit",
    }
    code = "import bookit.settings"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "BookIt configuration error: DATABASE_REPLICA_URLS needs REDIS_URL: "
        "every instance must know who wrote recently."
    )

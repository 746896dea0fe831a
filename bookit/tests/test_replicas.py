"""Where reads go with read replicas (bookit/db/replicas.py): the rules, without a replica.

The test settings have none, so the router is asked directly with a pretend
``replica1`` (its reachability decided by the test); ``tests/test_read_replica.py``
runs the same rules against a real streaming standby.
"""

import contextlib
import subprocess
import sys

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.models import User
from bookings.models import Booking
from bookit.db import replicas
from bookit.db.replicas import ReadRoutingMiddleware, ReplicaRouter
from bookit.tests.test_settings import REPO
from catalog.models import Service

router = ReplicaRouter()


@pytest.fixture(autouse=True)
def one_replica(monkeypatch, settings):
    settings.READ_YOUR_WRITES_SECONDS = 10
    up = {"replica1": True}
    monkeypatch.setattr(replicas, "replicas", lambda: list(up))
    monkeypatch.setattr(replicas, "reachable", lambda alias: up[alias])
    caches["routing"].clear()
    return up


def serve(method: str, user, respond=lambda: HttpResponse(status=200)):
    """``respond`` called as the view of a ``method`` request by ``user``; what the middleware did around it."""
    request = RequestFactory().generic(method, "/")
    request.user = user

    def view(request):
        return respond()

    return ReadRoutingMiddleware(view)(request)


def read_for(method: str, user, model=Service, *, atomic: bool = False) -> str:
    """Where a read of ``model`` goes while a ``method`` request by ``user`` is served."""
    answer = {}

    def respond():
        with transaction.atomic() if atomic else contextlib.nullcontext():
            answer["db"] = router.db_for_read(model)
        return HttpResponse()

    serve(method, user, respond)
    return answer["db"]


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


def test_after_a_write_the_writer_reads_from_the_primary_for_a_while():
    user, other_user = User(pk=1), User(pk=2)
    assert read_for("GET", user) == "replica1"
    serve("POST", user, lambda: HttpResponse(status=201))
    assert read_for("GET", user) == "default"  # sees its own booking at once
    assert read_for("GET", other_user) == "replica1"  # others are not slowed
    caches["routing"].clear()  # READ_YOUR_WRITES_SECONDS later
    assert read_for("GET", user) == "replica1"


def test_a_refused_write_or_a_read_is_not_a_write():
    user = User(pk=1)
    serve("POST", user, lambda: HttpResponse(status=409))
    serve("GET", user)
    assert read_for("GET", user) == "replica1"


def test_the_marker_lives_for_the_configured_window(settings, monkeypatch):
    user = User(pk=1)
    stored = {}
    monkeypatch.setattr(caches["routing"], "set", lambda key, value, timeout: stored.update({key: timeout}))
    settings.READ_YOUR_WRITES_SECONDS = 3
    serve("DELETE", user, lambda: HttpResponse(status=204))
    assert stored == {f"wrote:{user.pk}": 3}


def test_when_the_markers_cannot_be_read_reads_go_to_the_primary(monkeypatch):
    user = User(pk=1)
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(*args):
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(caches["routing"], "get", down)
    assert read_for("GET", user) == "default"
    assert read_for("GET", AnonymousUser()) == "replica1"  # nobody to remember


def test_an_unreachable_replica_sends_reads_to_the_primary(one_replica):
    one_replica["replica1"] = False
    assert read_for("GET", AnonymousUser()) == "default"


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
        "s.DATABASE_ROUTERS, sep='|')"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "bookit.settings",
        "APP_ENV": "test",
        "DATABASE_URL": "postgres://bookit@primary:5432/bookit",
        "DATABASE_NAME": "bookit_other",
        "DATABASE_REPLICA_URLS": "postgres://bookit@replica-a:5432/bookit,postgres://bookit@replica-b:5433/bookit",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split("|") == [
        "replica-b",
        "5433",
        "bookit_other",
        "2",
        "{'MIRROR': 'default'}",
        "['bookit.db.replicas.ReplicaRouter']\n",
    ]


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

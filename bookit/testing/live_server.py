"""BookIt under a real gunicorn, written once for the outage test, the stress script and the benchmark.

    setup_django({"APP_ENV": "dev", ...})      # a tool's own Django, configured like its server
    throwaway_database("bookit_stress")        # dropped, created empty, migrated; this process uses it
    with LiveServer({"GUNICORN_WORKERS": "4"}) as server:   # gunicorn -c gunicorn.conf.py bookit.wsgi
        status, body, seconds = server.request("GET", "/services")

A server listens on a free port of 127.0.0.1 with this process's environment
plus the overrides given (None removes a variable), logs to a file or a
temporary one, and counts as up when ``/health`` answers 200 and every worker
that gunicorn.conf.py asks for runs; if not within the timeout, it fails with
the tail of its log. ``stop`` terminates it, waits, and kills it if need be.
"""

import contextlib
import http.client
import json
import os
import runpy
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]


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


class LiveServer:
    """``gunicorn -c gunicorn.conf.py bookit.wsgi`` on a free port; ``headers`` go with every request."""

    def __init__(
        self,
        env: Mapping[str, str | None],
        *,
        log_path: Path | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 60,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        overrides = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        self.env = {key: str(value) for key, value in {**os.environ, **overrides}.items() if value is not None}
        self.config = gunicorn_config(overrides)
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.log_path = log_path
        self.log = open(log_path, "a") if log_path else tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in stop)
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> "LiveServer":
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bookit.wsgi"]
        self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.wait_until_up()
        except LiveServerError:
            self.stop()
            raise
        return self

    def wait_until_up(self) -> None:
        """Until /health answers 200 and every worker runs; the log's tail if not within the timeout."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LiveServerError(f"gunicorn exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError):
                if self.request("GET", "/health")[0] == 200 and len(self.workers()) == self.config["workers"]:
                    return
            time.sleep(0.2)
        raise LiveServerError(f"gunicorn did not come up within {self.timeout:g} s:\n{self.tail()}")

    def request(self, method: str, path: str, body=None, token: str | None = None) -> tuple[int, dict, float]:
        """(status, JSON body or {}, seconds) of one request on a connection of its own."""
        headers = {"Content-Type": "application/json", **self.headers}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        started = time.monotonic()
        try:
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            content = json.loads(raw) if raw else {}
        except ValueError:  # not BookIt's JSON (a proxy's or gunicorn's own error page)
            content = {}
        return response.status, content, time.monotonic() - started

    def manage(self, *args: str) -> None:
        """``manage.py`` with the server's environment (``migrate`` before ``start``)."""
        subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, check=True, capture_output=True)

    def workers(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.process.pid).children()}

    def output(self) -> str:
        """Everything the server logged (its JSON lines)."""
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

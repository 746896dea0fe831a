"""The queue's jobs, run inside a test's own transaction, and real servers for what they send.

``run_jobs`` performs the jobs that are due, oldest first, with their task
functions as a worker calls them, in the test's database transaction (so a
test needs no commits and no cleanup), and then the jobs those deferred, until
none is due. The worker process itself (LISTEN/NOTIFY, heartbeats, stalled
jobs) is proved by the system tests with real workers (tests/test_worker.py).
"""

import email
import email.policy
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django import app

from bookit.testing.live_server import Endpoint, free_port

NEXT_DUE_JOB = """
DELETE FROM procrastinate_jobs WHERE id = (
    SELECT id FROM procrastinate_jobs
    WHERE status = 'todo' AND coalesce(scheduled_at, '-infinity') <= %s
    ORDER BY coalesce(scheduled_at, '-infinity'), id LIMIT 1
) RETURNING task_name, args
"""


def queued(task_name: str | None = None) -> list[dict]:
    """The arguments of the jobs waiting (of ``task_name``), oldest first, with ``scheduled_at``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args, scheduled_at FROM procrastinate_jobs WHERE status = 'todo' AND (%s::text IS NULL OR"
            " task_name = %s) ORDER BY id",
            [task_name, task_name],
        )
        return [{**_args(args), "scheduled_at": at} for args, at in cursor.fetchall()]


def _args(value) -> dict:
    return json.loads(value) if isinstance(value, str) else value


def run_jobs(*, at: datetime | None = None) -> list[tuple[str, dict, object]]:
    """Perform every job due at ``at`` (default: now), and those they defer, until none is due.

    Each job's row is taken (deleted, as a worker marks it done) before its task
    runs; returns ``(task_name, args, result)`` in the order they ran.
    """
    ran = []
    while True:
        with connection.cursor() as cursor:
            cursor.execute(NEXT_DUE_JOB, [at or timezone.now()])
            row = cursor.fetchone()
        if row is None:
            return ran
        name, args = row[0], _args(row[1])
        ran.append((name, args, app.tasks[name](**args)))


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1; ``messages`` are what it received."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def of_kind(self, kind: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["X-BookIt-Kind"] == kind]

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.controller.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """A real HTTP server on a free port of 127.0.0.1 that records every POST.

    It answers each request with the next of ``answers`` (status, headers),
    then 200; ``hold`` (an Event) makes it wait before answering, until set.
    """

    answers: list[tuple[int, dict]] = field(default_factory=list)
    hold: threading.Event | None = None
    on_receive: Callable[[Received], None] | None = None  # called in the server's thread as each arrives
    received: list[Received] = field(default_factory=list)

    def __post_init__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                receiver.received.append(request)
                if receiver.on_receive is not None:
                    receiver.on_receive(request)
                if receiver.hold is not None:
                    receiver.hold.wait(60)
                status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"

    def __enter__(self) -> "HttpReceiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


class QueueWorker(Endpoint):
    """``manage.py procrastinate worker`` with this process's environment plus ``env``: up once it has started.

    It answers no HTTP; ``kill`` is SIGKILL, as a lost machine or the OOM killer would stop it.
    """

    name = "worker"

    def __init__(self, env: Mapping[str, str | None], **kwargs):
        super().__init__(**kwargs)
        # INFO: ``is_up`` waits for the worker's "Starting worker" line.
        merged = {**os.environ, "LOG_LEVEL": "INFO", **env}
        self.env = {key: str(value) for key, value in merged.items() if value is not None}

    def start(self) -> "QueueWorker":
        return self.launch([sys.executable, "manage.py", "procrastinate", "worker"], self.env)

    def is_up(self) -> bool:
        return "Starting worker" in self.output()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

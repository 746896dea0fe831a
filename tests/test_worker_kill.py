"""A gunicorn worker killed (SIGKILL) in the middle of a booking write, under load: nothing is half written.

Twelve clients, each a user of its own, race for six overlapping slots of two
services through gunicorn with three workers: new bookings, moves and
cancellations, half of them with an ``Idempotency-Key`` (a request lost with
its worker is retried with its key, as a client would). One service books with
the one-statement INSERT, the other, which caps bookings per user, under the
service's advisory lock (``bookings/writes.py``).

To kill a worker while it is really inside a write, the test holds the writes
with locks of its own, at one of three points: before the write (the services'
advisory locks and their rows ``FOR UPDATE``; the INSERT reads its service
``FOR SHARE``), between the booking's write and its history event (the events'
table locked in SHARE mode), or after the change, before its Idempotency-Key
answer is stored (the same on the keys' table). Once every worker's database
session waits on a lock, every worker is inside a write; one of them is
killed, and the locks are let go. The killed worker's session then finishes
its statement and finds its client gone: what it did commits whole or not at
all. Three kills, one at each point, then a round without one, in which the
last replacement too is caught inside a write.

Afterwards, in SQL: no overlap; every booking has its ``created`` event and its
row is what its events add up to; no event without its booking; every stored
idempotency answer is a state its booking's history went through; every
acknowledged write is there. Only the requests inside the killed workers went
unanswered, and every other answer was a 201, 200 or 409 (or the cap's 400).
"""

import collections
import http.client
import json
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection

from accounts.tests.factories import UserFactory
from bookings.selectors import OVERLAPPING_PAIRS_SQL
from bookings.tests.factories import future
from bookings.writes import LOCK_NAMESPACE
from bookit.testing.live_server import LiveServer, sibling_env
from bookit.tests.http import token_for
from bookit.utc import iso_z
from catalog.tests.factories import ServiceFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKERS = 3
CLIENTS = 12
# (where the workers are held, whether one is killed there): see ``holds`` in the test. The last
# round kills none: it shows the last replacement, too, inside a write.
ROUNDS = [("write", True), ("event", True), ("key", True), ("write", False)]
KILLS = sum(kill for _, kill in ROUNDS)
LOST = 0  # the "status" of a request whose connection broke without an answer
PERIOD = ("start_time", "end_time", "status")

BOOKINGS_WITHOUT_THEIR_CREATION = """
    SELECT id FROM bookings_booking AS b
    WHERE NOT EXISTS (SELECT FROM bookings_bookingevent WHERE booking_id = b.id AND action = 'created')
"""
EVENTS_WITHOUT_THEIR_BOOKING = """
    SELECT id FROM bookings_bookingevent AS e
    WHERE NOT EXISTS (SELECT FROM bookings_booking WHERE id = e.booking_id)
      AND NOT EXISTS (SELECT FROM bookings_bookingevent WHERE booking_id = e.booking_id AND action = 'deleted')
"""


@dataclass
class Answer:
    action: str  # create, move, cancel
    status: int
    body: dict
    key: str | None
    at: float


class Load:
    """``CLIENTS`` threads sending booking writes through ``server`` until ``stop``; every answer kept."""

    def __init__(self, server: LiveServer, tokens: list[str], service_ids: list[int], slots: list[str]):
        self.server, self.tokens, self.service_ids, self.slots = server, tokens, service_ids, slots
        self.answers: list[Answer] = []
        self.failures: list[BaseException] = []  # a client thread's own error, reported by the test
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(CLIENTS)]

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def client(self, index: int) -> None:
        try:
            self.write_until_stopped(index)
        except BaseException as error:
            self.failures.append(error)
            raise

    def write_until_stopped(self, index: int) -> None:
        rng = random.Random(index)
        won: list[int] = []
        while not self.stop.is_set():
            dice = rng.random()
            key = f"kill-{index}-{uuid.uuid4().hex}" if rng.random() < 0.5 else None
            booking_id = rng.choice(won) if won else None
            if won and dice < 0.3:
                action, method, path = "move", "PATCH", f"/bookings/{booking_id}"
                body = {"start_time": rng.choice(self.slots)}
            elif won and dice < 0.4:
                action, method, path, body = "cancel", "PATCH", f"/bookings/{booking_id}", {"status": "cancelled"}
            else:
                action, method, path = "create", "POST", "/bookings"
                body = {"service_id": rng.choice(self.service_ids), "start_time": rng.choice(self.slots)}
            status, answer = self.send(method, path, body, self.tokens[index], key)
            self.keep(action, status, answer, key)
            while (
                status == LOST and key and not self.stop.is_set()
            ):  # the worker died with it: a client retries with its key
                status, answer = self.send(method, path, body, self.tokens[index], key)
                if answer.get("code") == "idempotency_key_in_use":  # the dead worker's session still runs
                    time.sleep(0.05)
                    status = LOST
                    continue
                self.keep(action, status, answer, key)
            if action == "create" and status == 201:
                won.append(answer["id"])
            elif action == "cancel" and status == 200:
                won.remove(booking_id)

    def send(self, method: str, path: str, body: dict, token: str, key: str | None) -> tuple[int, dict]:
        headers = {"Idempotency-Key": key} if key else None
        try:
            status, answer, _ = self.server.request(method, path, body, token=token, headers=headers)
        except (OSError, http.client.HTTPException):
            return LOST, {}
        return status, answer

    def keep(self, action: str, status: int, body: dict, key: str | None) -> None:
        with self.lock:
            self.answers.append(Answer(action, status, body, key, time.monotonic()))


def wait_until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.01)


def test_a_worker_killed_inside_booking_writes_leaves_nothing_half_written(database_server):
    plain = ServiceFactory(duration_minutes=60)
    capped = ServiceFactory(duration_minutes=60, buffer_minutes=15, max_active_bookings_per_user=2)
    service_ids = [plain.id, capped.id]
    tokens = [token_for(UserFactory()) for _ in range(CLIENTS)]
    origin = future(48).replace(minute=0)
    slots = [iso_z(origin + timedelta(minutes=20 * k)) for k in range(6)]  # each overlaps its neighbours
    database = connection.settings_dict["NAME"]
    connection.close()  # from here on, the only sessions on the database are the server's and the two below

    gate, monitor = database_server.connect(database), database_server.connect(database)
    ours = [gate.info.backend_pid, monitor.info.backend_pid]

    def waiting() -> list[str | None]:
        """The wait event types of the server's sessions (pg_stat_activity, read afresh: autocommit)."""
        rows = monitor.execute(
            "SELECT wait_event_type FROM pg_stat_activity"
            " WHERE datname = %s AND backend_type = 'client backend' AND pid <> ALL(%s)",
            [database, ours],
        ).fetchall()
        return [wait for (wait,) in rows]

    # Where the workers are held for a kill: before the write (what every booking write of the two
    # services waits for), between a booking's write and its history event, and after the change,
    # before its Idempotency-Key answer is stored (only keyed writes wait there; the others pass).
    holds = {
        "write": [
            (
                "SELECT pg_advisory_xact_lock(%s::int, hashint8(id)) FROM catalog_service WHERE id = ANY(%s)",
                [LOCK_NAMESPACE, service_ids],
            ),
            ("SELECT FROM catalog_service WHERE id = ANY(%s) FOR UPDATE", [service_ids]),
        ],
        "event": [("LOCK TABLE bookings_bookingevent IN SHARE MODE", [])],
        "key": [("LOCK TABLE accounts_idempotencykey IN SHARE MODE", [])],
    }
    victims, rounds = [], []
    server = LiveServer(sibling_env(GUNICORN_WORKERS=str(WORKERS), GUNICORN_THREADS="1"))
    with gate, monitor, server, Load(server, tokens, service_ids, slots) as load:
        for hold, kill in ROUNDS:
            # One session per worker: the killed worker's is gone, its replacement's there (it has served).
            wait_until(lambda: len(waiting()) == WORKERS, "one database session per worker", timeout=15)
            with gate.transaction():
                for statement, params in holds[hold]:
                    gate.execute(statement, params)
                # Every worker waits inside a write, well within the workers' 5 s statement timeout.
                wait_until(lambda: waiting().count("Lock") == WORKERS, f"every worker held at {hold}", timeout=3)
                if kill:
                    victims.append(random.choice(sorted(server.workers())))
                    os.kill(victims[-1], signal.SIGKILL)
                rounds.append(time.monotonic())
            if kill:
                replaced = lambda: len(server.workers()) == WORKERS and victims[-1] not in server.workers()  # noqa: E731
                wait_until(replaced, "gunicorn replaced the killed worker", timeout=15)
            time.sleep(1)  # the load goes on
        assert server.process.poll() is None  # the master ran throughout
        log = server.output()
    for victim in victims:
        assert f"Worker (pid:{victim}) was sent SIGKILL!" in log

    assert load.failures == []
    answers = load.answers
    statuses = {
        action: collections.Counter(a.status for a in answers if a.action == action)
        for action in ("create", "move", "cancel")
    }
    # Only the requests inside the killed workers went unanswered; every other answer was a decision.
    assert sum(counter[LOST] for counter in statuses.values()) == KILLS, statuses
    assert set(statuses["create"]) <= {201, 409, 400, LOST}, statuses
    assert all(a.body["code"] == "too_many_active" for a in answers if a.status == 400)  # the capped service
    assert set(statuses["move"]) | set(statuses["cancel"]) <= {200, 409, LOST}, statuses
    assert statuses["create"][201] > 0 and statuses["create"][409] > 0 and statuses["move"][200] > 0, statuses
    # ... and the other workers answered in every round, after each kill as before it.
    for start, end in zip(rounds, [*rounds[1:], float("inf")], strict=True):
        assert any(start < a.at < end and a.status != LOST for a in answers)

    with connection.cursor() as cursor:
        for query in (OVERLAPPING_PAIRS_SQL, BOOKINGS_WITHOUT_THEIR_CREATION, EVENTS_WITHOUT_THEIR_BOOKING):
            cursor.execute(query)
            assert cursor.fetchall() == [], query
        cursor.execute("SELECT id, start_time, end_time, status FROM bookings_booking")
        rows = {booking_id: tuple(map(value, rest)) for booking_id, *rest in cursor.fetchall()}
        cursor.execute("SELECT booking_id, action, changes FROM bookings_bookingevent ORDER BY id")
        events = cursor.fetchall()
        cursor.execute("SELECT key, status_code, response_body FROM accounts_idempotencykey")
        keys = {key: (status, json.loads(body)) for key, status, body in cursor.fetchall()}

    # Every booking's row is what its events add up to, from its "created" on: no write without its event.
    history = states(events)
    assert set(history) == set(rows)  # nothing was deleted: no event without its booking
    assert all(history[booking_id][-1] == period for booking_id, period in rows.items())

    # Every answer given is on record: a 201's booking was created as answered, a 200's state is in its history.
    created = {a.body["id"]: period_of(a.body) for a in answers if a.status == 201}
    assert all(history[booking_id][0] == period for booking_id, period in created.items())
    assert all(period_of(a.body) in history[a.body["id"]] for a in answers if a.status == 200)
    # Every stored Idempotency-Key answers a change that happened, and every keyed 2xx answer was stored.
    assert all(period_of(body) in history[body["id"]] for _, body in keys.values())
    assert {a.key for a in answers if a.key and a.status in (200, 201)} <= set(keys)
    # Bookings made: the 201s, and at most the unkeyed creates that died with their worker.
    lost_unkeyed = sum(1 for a in answers if a.status == LOST and a.action == "create" and not a.key)
    assert len(created) <= len(rows) <= len(created) + lost_unkeyed


def value(column):
    return iso_z(column) if hasattr(column, "astimezone") else column


def period_of(body: dict) -> tuple:
    return tuple(body[field] for field in PERIOD)


def states(events) -> dict[int, list[tuple]]:
    """Per booking, its (start, end, status) after each of its events, replayed from the events' changes."""
    fields: dict[int, dict] = collections.defaultdict(dict)
    history: dict[int, list[tuple]] = collections.defaultdict(list)
    for booking_id, _, changes in events:
        changes = json.loads(changes) if isinstance(changes, str) else changes
        fields[booking_id].update({name: after for name, (_, after) in changes.items()})
        history[booking_id].append(tuple(fields[booking_id].get(field) for field in PERIOD))
    return history

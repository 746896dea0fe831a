#!/usr/bin/env python
"""Race stress: many clients fight over a few overlapping slots through a real gunicorn.

    make stress                       # 1,200 attempts from 64 clients
    .venv/bin/python scripts/stress.py --attempts 300 --clients 32   # the CI size

It creates its own database (``bookit_stress``, or STRESS_DATABASE_NAME, on
DATABASE_URL's server or the embedded one), serves BookIt under gunicorn with
several workers (``bookit.testing.live_server``, gunicorn.conf.py), and fires
booking attempts at a handful of overlapping slots, mixed with reschedules and
cancellations of the bookings won. Beside the rooms (one service, one
resource each) fight two services delivered by the same two stylists (booked
"any available": each stylist is shared by both) and a class of a few seats
whose sessions (every 30 minutes, an hour long) overlap on one room. Then it
checks the database directly:

* zero overlapping non-cancelled bookings per resource, but seats of one
  session, and no seat twice (``bookings.selectors.overlapping_pairs``);
* no session with more active bookings than its capacity;
* the number of 201s equals the rows created;
* every other answer to a booking attempt is a 409, every other answer to a
  reschedule or cancellation a 200 or 409;
* zero 5xx.

It prints those counts and exits non-zero on any violation.
"""

import argparse
import collections
import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bookit.testing.live_server import LiveServer, LiveServerError, setup_django, throwaway_database  # noqa: E402
from bookit.utc import iso_z  # noqa: E402

DB_NAME = os.environ.get("STRESS_DATABASE_NAME", "bookit_stress")
SERVER_ENV = {"DATABASE_NAME": DB_NAME, "APP_ENV": "dev", "APP_DEBUG": "false", "THROTTLE_ENABLED": "false"}
LOG = ROOT / ".data" / "stress-gunicorn.log"


SEATS = 4  # of the class's sessions


def setup_database(clients: int, services: int):
    """Fresh database, migrated, with `clients` users, `services` rooms (each its own resource), two services of
    two shared stylists, and a class of SEATS seats; returns (tokens, room and stylist service ids, class id)."""
    setup_django(SERVER_ENV)
    throwaway_database(DB_NAME)

    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from catalog.models import Resource, Service

    users = User.objects.bulk_create(
        [User(email=f"stress{i}@example.com", full_name=f"Stress {i}") for i in range(clients)]
    )
    service_ids = [
        Service.objects.create(name=f"Stress room {i}", price=10, duration_minutes=60).id for i in range(services)
    ]
    styling = [Service.objects.create(name=name, price=10, duration_minutes=60) for name in ("Cut", "Colour")]
    for service in styling:
        service.resources.clear()  # not its own resource: the stylists below deliver it
    for name in ("Stylist A", "Stylist B"):
        Resource.objects.create(name=name).services.set(styling)
    session = Service.objects.create(
        name="Stress class", price=10, duration_minutes=60, slot_step_minutes=30, capacity=SEATS
    )
    return [str(AccessToken.for_user(user)) for user in users], [*service_ids, *(s.id for s in styling)], session.id


# Sessions holding more active bookings than their service's capacity: always empty.
OVERFULL_SESSIONS_SQL = """
    SELECT b.resource_id, b.service_id, b.start_time, count(*) FROM bookings_booking b
    JOIN catalog_service s ON s.id = b.service_id
    WHERE b.status <> 'cancelled' AND b.seat IS NOT NULL
    GROUP BY b.resource_id, b.service_id, b.start_time, s.capacity HAVING count(*) > s.capacity
"""


def start_server(workers: int) -> LiveServer:
    """gunicorn with `workers` sync workers, logging to .data/stress-gunicorn.log."""
    LOG.parent.mkdir(exist_ok=True)
    LOG.write_text("")
    server = LiveServer({**SERVER_ENV, "GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": "1"}, log_path=LOG)
    try:
        return server.start()
    except LiveServerError as error:
        sys.exit(f"stress: {error}")


def call(server: LiveServer, method: str, path: str, token: str, body: dict) -> tuple[int, dict]:
    try:
        status, content, _ = server.request(method, path, body, token=token)
    except OSError:
        return 599, {}  # connection failure: counted as a server error
    return status, content


def run(args) -> int:
    tokens, service_ids, class_id = setup_database(args.clients, args.services)
    server = start_server(args.workers)
    # A handful of one-hour slots per service, 20 minutes apart: each overlaps its neighbours. The class's
    # sessions start on its grid (every 30 minutes from midnight), so it gets starts of its own.
    origin = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    slots = [origin + timedelta(minutes=20 * k) for k in range(args.slots)]
    session_slots = [origin + timedelta(minutes=30 * k) for k in range(max(2, args.slots // 2))]
    slots_of = {service_id: slots for service_id in service_ids} | {class_id: session_slots}

    answers = collections.defaultdict(collections.Counter)  # action -> status -> count
    won = collections.defaultdict(list)  # client -> booking ids it created
    lock = threading.Lock()
    rng = random.Random(args.seed)
    plan = [(i % args.clients, rng.random(), rng.choice([*slots_of]), rng.random()) for i in range(args.attempts)]

    def task(step):
        client, dice, service_id, where = step
        token = tokens[client]
        with lock:
            mine = list(won[client])
        if mine and dice < 0.15:
            action, (booking_id, _) = "cancel", rng.choice(mine)
            status, _ = call(server, "PATCH", f"/bookings/{booking_id}", token, {"status": "cancelled"})
        elif mine and dice < 0.35:
            action, (booking_id, its_service) = "reschedule", rng.choice(mine)
            slot = slots_of[its_service][int(where * len(slots_of[its_service]))]
            status, _ = call(
                server,
                "PATCH",
                f"/bookings/{booking_id}",
                token,
                {"start_time": iso_z(slot)},
            )
        else:
            action = "create"
            slot = slots_of[service_id][int(where * len(slots_of[service_id]))]
            status, body = call(
                server,
                "POST",
                "/bookings",
                token,
                {"service_id": service_id, "start_time": iso_z(slot)},
            )
            if status == 201:
                with lock:
                    won[client].append((body["id"], service_id))
        with lock:
            answers[action][status] += 1

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            list(pool.map(task, plan))
    finally:
        server.stop()
    elapsed = time.monotonic() - started

    from django.db import connection

    from bookings.models import Booking
    from bookings.selectors import overlapping_pairs

    rows = Booking.objects.count()
    overlaps = overlapping_pairs()
    with connection.cursor() as cursor:
        cursor.execute(OVERFULL_SESSIONS_SQL)
        overfull = cursor.fetchall()
    server_errors = sum(n for counter in answers.values() for status, n in counter.items() if status >= 500)
    violations = []
    if overlaps:
        violations.append(f"{len(overlaps)} overlapping pairs, e.g. {overlaps[:3]}")
    if overfull:
        violations.append(f"{len(overfull)} sessions above capacity, e.g. {overfull[:3]}")
    if answers["create"][201] != rows:
        violations.append(f"{answers['create'][201]} bookings answered 201 but {rows} rows exist")
    if set(answers["create"]) - {201, 409}:
        violations.append(f"booking attempts answered {dict(answers['create'])}; expected only 201 and 409")
    for action in ("reschedule", "cancel"):
        if set(answers[action]) - {200, 409}:
            violations.append(f"{action} answered {dict(answers[action])}; expected only 200 and 409")
    if server_errors:
        violations.append(f"{server_errors} server errors")

    print(
        f"stress: {args.attempts} requests from {args.clients} clients, {args.workers} gunicorn workers, "
        f"{len(service_ids)} services x {len(slots)} overlapping slots (2 of them on 2 shared stylists) "
        f"and a class of {SEATS} seats x {len(session_slots)} sessions, {elapsed:.1f} s "
        f"({args.attempts / elapsed:.0f} req/s)"
    )
    for action in ("create", "reschedule", "cancel"):
        counts = ", ".join(f"{status}: {n}" for status, n in sorted(answers[action].items())) or "none"
        print(f"  {action:<10} {counts}")
    print(
        f"  rows created: {rows}; non-cancelled overlapping pairs: {len(overlaps)}; "
        f"sessions above capacity: {len(overfull)}; 5xx: {server_errors}"
    )
    for violation in violations:
        print(f"VIOLATION: {violation}")
    print("stress: OK" if not violations else "stress: FAILED")
    return 1 if violations else 0


OPTIONS = [
    ("--attempts", 1200, "requests to fire"),
    ("--clients", 64, "concurrent clients"),
    ("--workers", 4, "gunicorn workers"),
    ("--services", 3, "rooms to fight over (besides the stylists' two services and the class)"),
    ("--slots", 8, "overlapping slots per service"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for option, default, meaning in OPTIONS:
        parser.add_argument(option, type=int, default=default, help=f"{meaning} (default {default})")
    parser.add_argument("--seed", type=int, default=None, help="random seed for a repeatable plan")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Recurring bookings (issue 21): what a series costs next to one booking, through a live server.

    make bench                                            # runs it after the wrk scenarios
    .venv/bin/python benchmarks/series.py                 # alone: 60 of each, one client
    .venv/bin/python benchmarks/series.py --rounds 200

Serves BookIt under gunicorn (``gunicorn.conf.py``, production-like settings as
``benchmarks/bench.py`` has them) on a throwaway database of its own
(``bookit_bench_series``: migrated, one user, one always-open service with no
horizon), then sends, one request at a time from one client (a request's
cost, not the server's throughput: the machine is shared), interleaved so
that drift hits all three alike:

* ``POST /bookings``: one booking of a fresh slot (201);
* ``POST /bookings/series``: ten weekly occurrences on fresh slots (201);
* ``POST /bookings/series`` with ``dry_run``: 52 weekly occurrences (200).

Targets: the series' median at most 3x the single booking's; the dry run's
p99 under 200 ms. Prints one table; exits non-zero when an answer was not the
expected status (speed never fails it).
"""

import argparse
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks import bench  # noqa: E402
from bookit.testing import live_server  # noqa: E402

DATABASE = "bookit_bench_series"
ERA = datetime(2300, 1, 5, 10, 0, tzinfo=UTC)  # a Monday far from every other benchmark's rows
SERIES_TARGET, DRY_RUN_P99_MS = 3.0, 200.0


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def prepare(database: str) -> tuple[int, str]:
    """The service to book and a user's access token, in a fresh database."""
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from catalog.models import Service

    live_server.throwaway_database(database)
    user = User.objects.create_user(email="series@bench.local", password=None, full_name="Bench")  # a token, no login
    service = Service.objects.create(name="Benchmark: weekly class", price="10.00", duration_minutes=30)
    return service.pk, str(AccessToken.for_user(user))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=60, help="requests of each kind (default 60, at most 150)")
    parser.add_argument("--warmup", type=int, default=5, help="rounds not counted (default 5)")
    parser.add_argument("--database", default=DATABASE, help=f"database name (default {DATABASE})")
    args = parser.parse_args()
    bench.setup_django()
    return run(rounds=args.rounds, warmup=args.warmup, database=args.database, start_server=bench.start_server)


def run(*, rounds: int, warmup: int, database: str, start_server) -> int:
    """Serve, send, print the table; 1 when an answer was not the expected status.

    ``start_server`` is the caller's ``bench.start_server``: run from ``bench.py`` (its ``__main__``), the
    server must get that module's ``JWT_SECRET``, the one this process mints tokens with.
    """
    args = argparse.Namespace(rounds=rounds, warmup=warmup)
    rounds = min(args.rounds, 150) + args.warmup  # a series per hour of the week: never overlapping
    service_id, token = prepare(database)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    server = start_server(database, results / "series-gunicorn.log", {})
    timings: dict[str, list[float]] = {"single": [], "series": [], "dry_run": []}
    wrong = []
    try:
        for n in range(rounds):
            hour = ERA + timedelta(hours=n)
            requests = {
                # Singles far past the series' ten weeks; series and dry runs on the hours of the first weeks.
                "single": ("/bookings", {"start_time": iso(hour + timedelta(weeks=20))}, 201),
                "series": ("/bookings/series", {"start_time": iso(hour), "recurrence": "FREQ=WEEKLY;COUNT=10"}, 201),
                "dry_run": (
                    "/bookings/series",
                    {
                        "start_time": iso(hour + timedelta(weeks=30)),
                        "recurrence": "FREQ=WEEKLY;COUNT=52",
                        "dry_run": True,
                    },
                    200,
                ),
            }
            for kind, (path, body, expected) in requests.items():
                status, answer, seconds = server.request("POST", path, {"service_id": service_id, **body}, token=token)
                if status != expected:
                    wrong.append((kind, status, answer.get("code")))
                elif n >= args.warmup:
                    timings[kind].append(seconds * 1000)
    finally:
        server.stop()
    print(f"Recurring bookings (issue 21): {rounds - args.warmup} of each, one client, {datetime.now(UTC):%Y-%m-%d}")
    print(f"  {'request':<44} {'p50 ms':>8} {'p99 ms':>8}")
    names = {
        "single": "POST /bookings (one booking)",
        "series": "POST /bookings/series (10 weekly)",
        "dry_run": "POST /bookings/series (52 weekly, dry run)",
    }
    for kind, values in timings.items():
        if values:
            print(f"  {names[kind]:<44} {statistics.median(values):8.1f} {percentile(values, 0.99):8.1f}")
    if timings["single"] and timings["series"]:
        ratio = statistics.median(timings["series"]) / statistics.median(timings["single"])
        print(f"  series / single (p50): {ratio:.2f}x (target <= {SERIES_TARGET:g}x)")
    if timings["dry_run"]:
        p99 = percentile(timings["dry_run"], 0.99)
        print(f"  dry run p99: {p99:.1f} ms (target < {DRY_RUN_P99_MS:g} ms)")
    if wrong:
        print(f"series bench: FAILED, unexpected answers: {wrong[:5]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

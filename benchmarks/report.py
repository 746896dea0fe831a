"""Reporting: each result judged against its ceiling and the issue's targets, the tables, the JSON file."""

import json
import os
import platform
from pathlib import Path

from benchmarks.scenarios import READ_P99_MS, SCALE_TARGET, SCENARIOS, Result, Scenario
from bookit.testing.live_server import REPO

RESULTS = REPO / "benchmarks" / "results"


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


def print_tables(args, runs: list[dict], info: dict) -> list:
    """Every run's table, the 10k -> 1M ratios when there are two runs, the queries; returns the scale rows."""
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
    return scale_rows


def write_json(args, *, stamp: str, info: dict, gunicorn_conf: dict, runs: list[dict], scale_rows: list) -> Path:
    """Everything, the SQL of every counted query included, to benchmarks/results/bench-<stamp>.json."""
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
    return path

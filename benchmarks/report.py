"""Reporting: each result judged against its ceiling and the issue's targets, the tables, the JSON file."""

import json
import os
import platform
from pathlib import Path

from benchmarks.scenarios import BARE, DIRECT, POST_201, SCALE_TARGET, SCENARIOS, STACK, Result, Scenario
from bookit.testing.live_server import REPO

RESULTS = REPO / "benchmarks" / "results"


def judge(scenarios: list[Scenario], results: dict[str, Result]) -> None:
    """Fill in each result's ratios and whether the issue's targets are met.

    Every ratio is to the minimal project's bare view (``bare``); the earlier
    columns stay beside it: the bare view through BookIt's stack (``stack``),
    pgbench, the all-201 POST for the all-409 one, and the direct booking (a
    ``resource_id`` given) for "any available".
    """
    ceilings = {
        "bare": results.get(BARE),
        "stack": results.get(STACK),
        "pgbench": results.get("pgbench INSERT booking (ceiling)"),
        "201": results.get(POST_201),
        "direct": results.get(DIRECT),
    }
    for scenario in scenarios:
        result = results[scenario.name]
        if scenario.ceiling:
            if scenario.server and scenario.name != BARE and ceilings["bare"]:
                result.ratio["bare"] = result.rps / ceilings["bare"].rps
            continue
        for name in ("bare", *scenario.old):
            if ceilings[name]:
                result.ratio[name] = result.rps / ceilings[name].rps
        targets, met = [], []
        if scenario.target is not None and "bare" in result.ratio:
            targets.append(f">= {scenario.target:.2f} bare")
            met.append(result.ratio["bare"] >= scenario.target)
        if scenario.p99_ms is not None:
            targets.append(f"p99 < {scenario.p99_ms:g} ms")
            met.append(result.p99_ms < scenario.p99_ms)
        result.target = ", ".join(targets)
        result.met = all(met) if met else None


def _ratios(result: Result) -> str:
    parts = [f"{result.ratio['bare']:.2f} bare"] if "bare" in result.ratio else []
    parts += [f"{value:.0%} {name}" for name, value in result.ratio.items() if name != "bare"]
    return ", ".join(parts)


def table(run: dict) -> str:
    lines = [
        f"{'scenario':<44} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}  {'ratio':<34} target",
    ]
    for result in run["results"].values():
        verdict = {True: "met", False: "MISSED", None: ""}[result.met]
        target = f"{result.target} {verdict}".strip()
        lines.append(
            f"{result.scenario:<44} {result.rps:>8.0f} {result.p50_ms:>7.1f} {result.p99_ms:>7.1f} {result.errors:>6}"
            f"  {_ratios(result):<34} {target}"
        )
    return "\n".join(lines)


def scale_table(small: dict, large: dict) -> tuple[str, list]:
    lines = [f"{'scenario':<44} {small['scale']:>10,} {large['scale']:>10,}  {'ratio':>6}  target"]
    rows = []
    for scenario in SCENARIOS:
        if scenario.name not in small["results"] or scenario.name not in large["results"]:
            continue
        a, b = small["results"][scenario.name].rps, large["results"][scenario.name].rps
        ratio = b / a
        met = "" if scenario.ceiling else "met" if ratio >= SCALE_TARGET else "MISSED"
        target = "" if scenario.ceiling else f">= {SCALE_TARGET:.0%} {met}"
        lines.append(f"{scenario.name:<44} {a:>10.0f} {b:>10.0f}  {ratio:>6.0%}  {target}")
        rows.append({"scenario": scenario.name, "small_rps": a, "large_rps": b, "ratio": ratio, "met": met})
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

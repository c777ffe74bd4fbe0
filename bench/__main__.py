"""``python -m bench`` (``make bench``): run every benchmark and print one ``name: value`` line per
result, then one ``<name>_goal: <goal> (met|not met)`` line per goal (or the reason it has no
number, e.g. ``skipped: wrk missing``). Takes about 30 s on a 2-core machine plus about 90 s of HTTP
load under wrk and 70 s for the scan benchmark in Chromium (more with PostgreSQL configured for the
batch benchmark); ``--quick`` runs each benchmark with tiny counts (for the smoke test; its
numbers mean nothing)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from bench import batch, issue, qr_size, redis_http, scan, shared_state, verify, verify_http

# (result name, goal, "min" = at least the goal, "max" = at most the goal)
GOALS: tuple[tuple[str, float, str], ...] = (
    ("verify_vs_reference", verify.GOAL, "min"),
    ("verify_vs_signature_floor", verify.GOAL_FLOOR, "min"),
    ("qr_version_live", qr_size.GOAL_LIVE, "max"),
    ("qr_version_paper", qr_size.GOAL_PAPER, "max"),
    ("issue_vs_reference", issue.GOAL, "min"),
    ("batch_issue_per_s", batch.GOAL, "min"),
    ("batch_vs_credcore", batch.GOAL_VS_CREDCORE, "min"),
    ("verify_http_vs_bare_hello", verify_http.GOAL_VERIFY, "min"),
    ("hello_vs_bare_hello", verify_http.GOAL_HELLO, "min"),
    ("scan_live_420_page", scan.GOAL, "min"),
    ("verify_http_redis_vs_memory", redis_http.GOAL, "min"),
)


def format_value(value: float | str) -> str:
    if isinstance(value, str):  # e.g. "skipped (no database)"
        return value
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


def goal_line(name: str, goal: float, kind: str, value: float) -> str:
    met = value >= goal if kind == "min" else value <= goal
    return f"{name}_goal: {goal:g} ({'met' if met else 'not met'})"


def benchmarks(quick: bool) -> list[Callable[[], Mapping[str, float | str]]]:
    if quick:
        return [
            lambda: verify.run(rounds=1, iterations=3),
            lambda: qr_size.run(samples=1),
            lambda: issue.run(rounds=1, iterations=3),
            lambda: batch.run(rows=40),
            lambda: verify_http.run(rounds=1, seconds=0.5, quick=True),
            lambda: scan.run(per_cell=1, goal_frames=2),
            lambda: shared_state.run(rounds=1, count=200, per_round=5),
            lambda: redis_http.run(rounds=1, seconds=0.5, quick=True),
        ]
    return [verify.run, qr_size.run, issue.run, batch.run, verify_http.run, scan.run, shared_state.run, redis_http.run]


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny iteration counts; a smoke run only")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results: dict[str, float | str] = {}
    print(f"verify_reference: {verify.REFERENCE}", file=out, flush=True)
    for bench in benchmarks(args.quick):
        for name, value in bench().items():
            results[name] = value
            print(f"{name}: {format_value(value)}", file=out, flush=True)
    for name, goal, kind in GOALS:
        value = results[name]
        if isinstance(value, str):  # e.g. "skipped: wrk missing": no number, so neither met nor not met
            print(f"{name}_goal: {goal:g} ({value})", file=out)
        else:
            print(goal_line(name, goal, kind, value), file=out)
    print(f"bench_seconds: {time.perf_counter() - started:.1f}", file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

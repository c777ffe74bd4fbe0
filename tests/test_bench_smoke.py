"""Smoke test of bench/: every benchmark runs with tiny counts and returns sane numbers.

Nothing here asserts on a time or a ratio's size; ``make bench`` is where the numbers are read."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil

import pytest

from bench import BenchmarkError, issue, qr_size, redis_http, verify, verify_http
from bench import __main__ as bench_main
from bench.fixtures import build_reference


def test_verify_benchmark_returns_positive_rates() -> None:
    results = verify.run(rounds=2, iterations=2)
    assert set(results) == {"verify_per_s", "verify_reference_per_s", "verify_vs_reference", "es256_verify_per_s",
                            "verify_vs_signature_floor"}
    assert all(value > 0 for value in results.values())


def test_verify_benchmark_refuses_a_presentation_either_side_rejects() -> None:
    ref = build_reference()
    verify.check_both_accept(ref)
    head, _, tail = ref.presentation.rpartition(".")
    forged = head + "." + ("A" if tail[0] != "A" else "B") + tail[1:]  # the KB-JWT signature
    with pytest.raises(BenchmarkError):
        verify.check_both_accept(dataclasses.replace(ref, presentation=forged))


def test_qr_benchmark_returns_qr_versions() -> None:
    results = qr_size.run(samples=1)
    assert 1 <= results["qr_version_live"] <= 40
    assert 1 <= results["qr_version_paper"] <= 40
    assert results["qr_chars_live"] > results["qr_chars_paper"] > 0


@pytest.mark.parametrize(("version", "ecc", "chars"), [(1, "H", 10), (13, "Q", 352), (22, "M", 1134), (40, "L", 4296)])
def test_alphanumeric_capacity_matches_the_qr_standard_table(version: int, ecc: str, chars: int) -> None:
    assert qr_size.alphanumeric_capacity(version, ecc) == chars


def test_issue_benchmark_returns_positive_rates() -> None:
    results = issue.run(rounds=1, iterations=2)
    assert set(results) == {"issue_per_s", "issue_reference_per_s", "issue_vs_reference"}
    assert all(value > 0 for value in results.values())


def test_main_prints_name_value_lines_and_one_line_per_goal() -> None:
    out = io.StringIO()
    assert bench_main.main(["--quick"], out=out) == 0
    lines = out.getvalue().splitlines()
    assert all(len(line.split(": ", 1)) == 2 for line in lines)
    values = dict(line.split(": ", 1) for line in lines)
    for name in ("verify_per_s", "verify_vs_reference", "qr_version_live", "qr_version_paper", "issue_per_s"):
        assert float(values[name]) > 0
    for name, goal, _ in bench_main.GOALS:
        skipped = () if shutil.which("wrk") else (f"{goal:g} (skipped: wrk missing)",)
        if not redis_http.redis_url():
            skipped = (*skipped, f"{goal:g} ({redis_http.NO_REDIS})")
        assert values[f"{name}_goal"] in (f"{goal:g} (met)", f"{goal:g} (not met)", *skipped)
    if not shutil.which("wrk"):
        return
    for name in ("bare_hello_per_s", "hello_http_per_s", "verify_http_per_s", "verify_inprocess_per_s",
                 "verify_http_p50_ms", "verify_http_p99_ms"):
        assert float(values[name]) > 0, name
    for name in ("verify_http_vs_bare_hello", "hello_vs_bare_hello", "verify_http_vs_inprocess"):
        assert float(values[name]) >= 0, name  # quick counts: a ratio may round to 0.00
    two_workers = ("verify_http_per_s_2w", "verify_http_p99_ms_2w", "verify_http_vs_bare_hello_2w")
    if not redis_http.redis_url():  # two workers need a shared store: those lines say why they were skipped
        assert all(values[name].startswith("skipped") for name in two_workers), values
        return
    assert all(float(values[name]) >= 0 for name in two_workers)
    assert float(values["verify_http_memory_per_s"]) > 0 and float(values["verify_http_redis_per_s"]) > 0
    assert float(values["verify_http_redis_vs_memory"]) >= 0


def test_http_lines_say_skipped_without_wrk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_http.wrk, "available", lambda: False)
    results = verify_http.run(rounds=1, seconds=1, quick=True)
    assert set(results) == set(verify_http.LINES)
    assert set(results.values()) == {"skipped: wrk missing"}


def test_wrk_is_there_in_ci() -> None:
    if not os.environ.get("CI"):
        pytest.skip("CI installs wrk (Debian package) in .ci/run; locally the HTTP lines say skipped")
    assert shutil.which("wrk"), "wrk missing: .ci/run installs it"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [("min", 1.6, "met"), ("min", 1.4, "not met"), ("max", 22, "met"), ("max", 23, "not met")],
)
def test_goal_line(kind: str, value: float, expected: str) -> None:
    goal = 1.5 if kind == "min" else 22
    assert bench_main.goal_line("x", goal, kind, value) == f"x_goal: {goal:g} ({expected})"

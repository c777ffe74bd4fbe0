"""The interop suite: Puente against independent implementations. Node peers are pinned by
package.json + package-lock.json and installed with `npm ci` (make interop-deps, part of make test);
sd-jwt-python comes from the bench extra. Locally a missing peer skips; in CI (CI=true) it fails."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.live import live  # noqa: F401  (a real issuer on HTTP, module scoped)
from tests.interop.node import OUTCOMES, Node
from tests.interop.pairs import BY_ID, HERE


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI needs every interop peer: run `make interop-deps`)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node() -> Node:
    executable = shutil.which("node")
    if executable is None:
        _missing("node is not installed")
    if not (HERE / "node_modules" / ".package-lock.json").is_file():
        _missing("interop peers not installed (cd tests/interop && npm ci)")
    return Node(str(executable))


@pytest.fixture(scope="session")
def sd_jwt_python() -> Any:
    try:
        import sd_jwt  # noqa: F401
    except ImportError:
        _missing("sd-jwt (python) is not installed (the bench extra)")
    return True


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("pair")
        if marker is not None:
            assert marker.args[0] in BY_ID, marker.args[0]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    marker = item.get_closest_marker("pair")
    if marker is None or (report.when != "call" and not report.failed):
        return
    pair = marker.args[0]
    if report.failed:
        OUTCOMES[pair] = "fails"
    elif report.skipped:
        OUTCOMES.setdefault(pair, "not run")
    elif report.when == "call" and OUTCOMES.get(pair) != "fails":
        OUTCOMES[pair] = "passes"


def results_path() -> Path:
    return HERE / "results.json"

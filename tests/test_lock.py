"""The lock files pin every dependency pyproject.toml declares (refresh them with `make lock`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _pinned(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text("utf-8")
    return {_name(m.group(1)): m.group(2) for m in re.finditer(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)", text, re.M)}


def _declared(*extras: str) -> set[str]:
    names = {_name(r) for r in PYPROJECT["dependencies"]}
    for extra in extras:
        names |= {_name(r) for r in PYPROJECT["optional-dependencies"][extra]}
    return names


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ("server",)),
                                              ("requirements-dev.lock", ("server", "test", "bench"))])
def test_every_declared_dependency_is_pinned_with_hashes(lock: str, extras: tuple[str, ...]) -> None:
    pinned = _pinned(lock)
    missing = sorted(_declared(*extras) - set(pinned))
    assert not missing, f"{lock} lacks {missing}: run `make lock`"
    text = (ROOT / lock).read_text("utf-8")
    blocks = [block for block in re.split(r"\n(?=[A-Za-z0-9])", text) if "==" in block]
    assert len(blocks) == len(pinned)
    assert all("--hash=sha256:" in block for block in blocks), "every pin carries its hashes"


def test_the_application_lock_holds_no_test_tools() -> None:
    assert not {"pytest", "playwright", "sd-jwt"} & set(_pinned("requirements.lock"))


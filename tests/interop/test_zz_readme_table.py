"""The README's interoperability table is the outcome of this suite's run: each pair passes only when
all of its tests passed here, versions are read from what `npm ci` and pip installed. Runs last in
tests/interop (file order); `PUENTE_WRITE_README=1 pytest tests/interop` rewrites the table."""

from __future__ import annotations

import os

import pytest

from tests.interop.node import OUTCOMES
from tests.interop.pairs import PAIRS, readme_table, render, write_readme


def test_readme_interop_table_is_this_runs_outcome() -> None:
    missing = [pair.id for pair in PAIRS if pair.id not in OUTCOMES]
    if missing:
        message = f"pairs not run in this session: {missing} (run the whole tests/interop)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    table = render(OUTCOMES)
    if os.environ.get("PUENTE_WRITE_README") == "1":
        write_readme(table)
    assert readme_table() == table, "README interop table differs: PUENTE_WRITE_README=1 pytest tests/interop"
    assert all(OUTCOMES[pair.id] == "passes" for pair in PAIRS), OUTCOMES

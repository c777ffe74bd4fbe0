"""Fixtures of the operator-command tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from puente.cli import app


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated SQLite database under a temporary var/, in development mode."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PUENTE_MASTER_KEY", raising=False)
    monkeypatch.setenv("PUENTE_ENV", "development")
    monkeypatch.setenv("PUENTE_DATABASE_URL", f"sqlite:///{tmp_path}/var/puente.db")
    monkeypatch.setenv("PUENTE_VAR_DIR", str(tmp_path / "var"))
    assert CliRunner().invoke(app, ["migrate"]).exit_code == 0
    return tmp_path / "var"

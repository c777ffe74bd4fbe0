"""Fail closed (issue 12): several workers, or production, without a shared store refuse to start
and say which variable to set, in Spanish and English."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from puente.cli import app

runner = CliRunner()


@pytest.mark.parametrize("service", ["issuer", "verifier"])
@pytest.mark.parametrize(("env", "workers"), [("development", "2"), ("production", "1")])
def test_refuses_to_start_without_a_shared_store(service: str, env: str, workers: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUENTE_ENV", env)
    monkeypatch.delenv("PUENTE_REDIS_URL", raising=False)
    result = runner.invoke(app, ["serve", service, "--workers", workers, "--port", "1"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "PUENTE_REDIS_URL" in text
    assert "necesita Redis" in text and "needs Redis" in text


def test_create_app_refuses_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever starts the app (another process manager), production needs the shared store."""
    from servicekit.shared_store import SharedStoreRequired
    from verifier.app import create_app
    from verifier.config import VerifierSettings

    with pytest.raises(SharedStoreRequired, match="PUENTE_REDIS_URL"):
        create_app(VerifierSettings(env="production", redis_url=None), service=object())  # type: ignore[arg-type]
    with pytest.raises(SharedStoreRequired, match="PUENTE_REDIS_URL"):
        create_app(VerifierSettings(workers=4, redis_url=None), service=object())  # type: ignore[arg-type]

"""Who may create presentation requests (issue 11 #4, docs/security-cases.md #164): verifier
clients with keys from `puente verifier-client`, the scanning page with a short-lived token bound
to its cookie; each client has its own quota of open requests."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from credcore.clock import FixedClock
from puente.cli import app as cli
from servicekit.shared_store import MemoryStore
from testkit.live import Live
from verifier.app import create_app
from verifier.oid4vp import TransactionStore

runner = CliRunner()
KYC = {"preset": "bank-kyc"}


def _cli(var: Path, *args: str) -> str:
    result = runner.invoke(cli, ["verifier-client", *args], env={"PUENTE_VAR_DIR": str(var)})
    assert result.exit_code == 0, result.output
    return result.output


def _create_client(var: Path, name: str) -> tuple[str, str]:
    lines = _cli(var, "create", "--name", name).splitlines()
    return lines[0].split()[0], lines[1].rsplit(" ", 1)[1]


@pytest.fixture
def var(tmp_path: Path) -> Path:
    return tmp_path / "verifier-var"


def _app(live: Live, var: Path, **overrides: object) -> TestClient:
    service = live.verifier_service(var_dir=var, require_client_credentials=True, **overrides)
    return TestClient(create_app(service.settings, service=service))


def test_the_cli_keeps_only_digests(var: Path) -> None:
    client_id, key = _create_client(var, "Banco Ejemplo – apertura de cuentas")
    assert key.startswith("pvc_") and client_id.startswith("vc_")
    stored = (var / "verifier-clients.json").read_text()
    assert key not in stored and "Banco Ejemplo" in stored
    assert stat.S_IMODE((var / "verifier-clients.json").stat().st_mode) == 0o600
    assert "activo / active" in _cli(var, "list")
    _cli(var, "revoke", client_id)
    assert "revocado / revoked" in _cli(var, "list")
    unknown = runner.invoke(cli, ["verifier-client", "revoke", "vc_nobody"], env={"PUENTE_VAR_DIR": str(var)})
    assert unknown.exit_code == 1 and "unknown client" in unknown.output


def test_creating_a_request_needs_a_client_key(live: Live, var: Path) -> None:
    client_id, key = _create_client(var, "Empleador")
    with _app(live, var) as client:
        for lang, word in (("es", "clave"), ("en", "key")):
            missing = client.post("/api/v1/presentation-requests", json=KYC, headers={"Accept-Language": lang})
            assert missing.status_code == 401 and missing.json()["code"] == "client_credential_required"
            assert word in missing.json()["title"] and missing.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = client.post("/api/v1/presentation-requests", json=KYC,
                            headers={"Authorization": "Bearer pvc_" + "x" * 43})
        assert wrong.status_code == 401 and wrong.json()["code"] == "client_credential_invalid"
        good = client.post("/api/v1/presentation-requests", json=KYC, headers={"Authorization": f"Bearer {key}"})
        assert good.status_code == 201, good.text
        _cli(var, "revoke", client_id)  # every replica re-reads the file: no restart
        revoked = client.post("/api/v1/presentation-requests", json=KYC, headers={"Authorization": f"Bearer {key}"})
        assert revoked.status_code == 401 and revoked.json()["code"] == "client_credential_invalid"


def test_one_client_filling_its_quota_never_stops_another_from_the_same_address(live: Live, var: Path) -> None:
    _, flooder = _create_client(var, "Cliente abusivo")
    _, bank = _create_client(var, "Banco")
    with _app(live, var, open_requests_per_client=2) as client:
        for _ in range(2):
            created = client.post("/api/v1/presentation-requests", json=KYC,
                                  headers={"Authorization": f"Bearer {flooder}"})
            assert created.status_code == 201
        full = client.post("/api/v1/presentation-requests", json=KYC, headers={"Authorization": f"Bearer {flooder}"})
        assert full.status_code == 429 and full.json()["code"] == "client_quota_exceeded"
        other = client.post("/api/v1/presentation-requests", json=KYC, headers={"Authorization": f"Bearer {bank}"})
        assert other.status_code == 201


def test_the_page_token_works_only_with_its_cookie_and_for_ten_minutes(live: Live, var: Path) -> None:
    service = live.verifier_service(var_dir=var, require_client_credentials=True)
    clock = FixedClock(service.clock.now())
    service.clock = clock
    service.transactions = TransactionStore(store=MemoryStore())
    with TestClient(create_app(service.settings, service=service)) as page, \
            TestClient(create_app(service.settings, service=service)) as elsewhere:
        issued = page.post("/api/v1/page-token")
        assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
        cookie = issued.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        token = issued.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert page.post("/api/v1/presentation-requests", json=KYC, headers=headers).status_code == 201
        stolen = elsewhere.post("/api/v1/presentation-requests", json=KYC, headers=headers)  # no cookie
        assert stolen.status_code == 401 and stolen.json()["code"] == "client_credential_invalid"
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        assert page.post("/api/v1/presentation-requests", json=KYC,
                         headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        clock.advance(601)
        expired = page.post("/api/v1/presentation-requests", json=KYC, headers=headers)
        assert expired.status_code == 401
    assert json.loads(issued.text)["expires_at"] == clock.now() - 1

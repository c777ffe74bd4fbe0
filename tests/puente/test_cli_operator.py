"""The operator's ``puente`` commands against a real SQLite database under a temporary var/."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from credcore.trust import TrustList
from issuer.config import Settings
from issuer.db.engine import make_engine
from puente.cli import app
from testkit.world import SCHEMAS

runner = CliRunner()


def _issue(var: Path, institution: str = "migracion", type_id: str = "ppt-status") -> dict:
    claims = var.parent / "claims.json"
    claims.write_text((SCHEMAS / "types" / type_id / "examples" / "valid.json").read_text("utf-8"), "utf-8")
    result = runner.invoke(app, ["issue", "--institution", institution, "--type", type_id, "--claims", str(claims)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_seed_prints_full_keys_once_and_keeps_secrets_private(var: Path) -> None:
    result = runner.invoke(app, ["seed"])
    assert result.exit_code == 0, result.output
    keys_part, users_part = result.stdout.split("consola / console")
    lines = [line.split() for line in keys_part.splitlines() if line.strip()]
    assert {(line[0], line[1]) for line in lines} >= {("sena", "officer"), ("migracion", "admin")}
    assert all(line[2].startswith("pk_") and len(line[2]) > 40 for line in lines)
    users = [line.split() for line in users_part.splitlines()[1:] if line.strip()]
    assert {(line[0], line[1], line[2]) for line in users} >= {("sena", "officer", "oficial.sena"),
                                                               ("sena", "admin", "admin.sena"),
                                                               ("migracion", "auditor", "auditor.migracion")}
    assert all(len(line[3]) >= 12 for line in users)
    for secret in (var / "master.key", var / "demo-keys.json"):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    again = runner.invoke(app, ["seed"])
    assert again.exit_code == 0 and "pk_" not in again.stdout  # keys are never shown twice
    assert "oficial.sena" not in again.stdout


def test_staff_users_are_created_listed_and_disabled(var: Path) -> None:
    runner.invoke(app, ["seed"])
    created = runner.invoke(app, ["staff", "create", "--institution", "sena", "--username", "Ana.Gomez",
                                  "--name", "Ana Gómez", "--role", "officer", "--password-stdin"],
                            input="una frase inicial larga\n")
    assert created.exit_code == 0, created.output
    assert "ana.gomez" in created.stdout
    weak = runner.invoke(app, ["staff", "create", "--institution", "sena", "--username", "beto",
                               "--name", "Beto", "--role", "officer", "--password-stdin"], input="corta\n")
    assert weak.exit_code == 1 and "12" in weak.output
    twice = runner.invoke(app, ["staff", "create", "--institution", "sena", "--username", "ana.gomez",
                                "--name", "Otra", "--role", "auditor", "--password-stdin"],
                          input="otra frase inicial larga\n")
    assert twice.exit_code == 1 and "ya existe" in twice.output
    listed = runner.invoke(app, ["staff", "list", "--institution", "sena"])
    assert "ana.gomez" in listed.stdout and "activo/active" in listed.stdout
    assert runner.invoke(app, ["staff", "disable", "ana.gomez"]).exit_code == 0
    after = runner.invoke(app, ["staff", "list", "--institution", "sena"]).stdout.splitlines()
    assert "disabled" in next(row for row in after if "ana.gomez" in row)
    assert runner.invoke(app, ["staff", "disable", "nadie"]).exit_code == 1
    reset = runner.invoke(app, ["staff", "reset", "oficial.sena", "--password-stdin"], input="temporal para ana 1\n")
    assert reset.exit_code == 0 and "restablecido" in reset.stdout
    disabled = runner.invoke(app, ["staff", "reset", "ana.gomez", "--second-factor", "--password-stdin"],
                             input="temporal para ana 1\n")
    assert disabled.exit_code == 1 and "desactivado" in disabled.output


def test_issue_revoke_and_revocation_is_final(var: Path) -> None:
    runner.invoke(app, ["seed"])
    issued = _issue(var)
    assert len(issued["offer"]["tx_code"]) == 6
    revoke = runner.invoke(app, ["revoke", issued["id"], "--institution", "migracion", "--reason", "permiso cancelado"])
    assert revoke.exit_code == 0 and "revoked" in revoke.output
    back = runner.invoke(app, ["reinstate", issued["id"], "--institution", "migracion", "--reason", "error"])
    assert back.exit_code == 1
    assert "la revocación es definitiva" in back.output


def test_reissue_for_a_new_phone_prints_a_new_offer_and_refuses_what_cannot_be_shown_again(var: Path) -> None:
    """Issue 15 #7 from the command line: the same claims to a new phone, as the console's button does."""
    runner.invoke(app, ["seed"])
    issued = _issue(var)
    again = runner.invoke(app, ["reissue", issued["id"], "--institution", "migracion"])
    assert again.exit_code == 0, again.output
    new = json.loads(again.stdout)
    assert new["replaces"] == issued["id"] and new["id"] != issued["id"] and new["type"] == "ppt-status"
    assert new["valid_until"] == issued["valid_until"]
    assert len(new["offer"]["tx_code"]) == 6 and new["offer"]["offer_uri"] != issued["offer"]["offer_uri"]
    elsewhere = runner.invoke(app, ["reissue", issued["id"], "--institution", "sena"])  # not SENA's credential
    assert elsewhere.exit_code == 1 and "Credencial no encontrada" in elsewhere.output
    assert "Traceback" not in elsewhere.output
    revoke = ["revoke", issued["id"], "--institution", "migracion", "--reason", "permiso cancelado"]
    revoked = runner.invoke(app, revoke)
    assert revoked.exit_code == 0, revoked.output
    refused = runner.invoke(app, ["reissue", issued["id"], "--institution", "migracion"])
    assert refused.exit_code == 1 and "La credencial está revocada: no se puede emitir de nuevo" in refused.output
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_issue_rejects_bad_claims_with_field_messages(var: Path) -> None:
    runner.invoke(app, ["seed"])
    claims = var.parent / "bad.json"
    claims.write_text(json.dumps({"given_name": "Ana"}), "utf-8")
    args = ["issue", "--institution", "migracion", "--type", "ppt-status", "--claims", str(claims)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "family_name" in result.output and "Falta este dato obligatorio" in result.output


def test_audit_verify_detects_tampering(var: Path) -> None:
    runner.invoke(app, ["seed"])
    _issue(var)
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    engine = make_engine(Settings().database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 2"))
    engine.dispose()
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and "2" in broken.output


def test_trust_list_export_feeds_offline_verification(var: Path) -> None:
    runner.invoke(app, ["seed"])
    out = var.parent / "trust-list.json"
    assert runner.invoke(app, ["trust-list", "export", "--out", str(out)]).exit_code == 0
    trust = TrustList.from_json(json.loads(out.read_text("utf-8")))
    assert {"https://issuer.example/i/sena", "http://127.0.0.1:8001/i/sena"} & set(trust.issuers)
    signed = runner.invoke(app, ["trust-list", "export", "--signed"])
    assert signed.exit_code == 0 and signed.stdout.count(".") == 2


def test_key_rotation_and_compromise_commands(var: Path) -> None:
    runner.invoke(app, ["seed"])
    rotated = runner.invoke(app, ["keys", "rotate", "--institution", "sena"])
    assert rotated.exit_code == 0
    kid = rotated.output.strip().rsplit(" ", 1)[1]
    # "--" ends the options: a thumbprint kid may begin with "-"
    compromised = runner.invoke(app, ["keys", "compromised", "--institution", "sena", "--", kid])
    assert compromised.exit_code == 0
    export = json.loads(runner.invoke(app, ["trust-list", "export"]).stdout)
    sena = next(entry for entry in export["issuers"] if entry["id"].endswith("/i/sena"))
    assert any(key["kid"] == kid and key.get("compromised") for key in sena["keys"])


def test_production_without_master_key_refuses(var: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUENTE_ENV", "production")
    result = runner.invoke(app, ["seed"])
    assert result.exit_code == 2
    assert "PUENTE_MASTER_KEY" in result.output

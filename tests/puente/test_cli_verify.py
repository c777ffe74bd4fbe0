"""``puente verify``: offline verification from files, as an operator runs it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from credcore import qr
from credcore.status_list import INVALID
from puente.cli import app
from servicekit import qr_image
from testkit.world import World

runner = CliRunner()


@pytest.fixture
def world() -> World:
    return World(now=int(time.time()))


@pytest.fixture
def files(tmp_path: Path, world: World) -> dict[str, Path]:
    trust = tmp_path / "trust-list.json"
    trust.write_text(json.dumps(world.trust_document()), "utf-8")
    status = tmp_path / "sena-status-1.jwt"
    status.write_text(world.status_token(world.sena), "utf-8")
    return {"trust": trust, "status": status}


def _run(*args: str, stdin: str | None = None) -> tuple[int, dict | None, str]:
    result = runner.invoke(app, ["verify", *args], input=stdin)
    try:
        body = json.loads(result.stdout)
    except ValueError:
        body = None
    return result.exit_code, body, result.output


def test_valid_qr_text_file_exits_zero_with_report(tmp_path: Path, world: World, files: dict[str, Path]) -> None:
    code = tmp_path / "qr.txt"
    code.write_text(qr.encode(world.present(world.issue())) + "\n", "utf-8")
    exit_code, body, _ = _run("--trust-list", str(files["trust"]), "--status-list", str(files["status"]), str(code))
    assert exit_code == 0
    assert body is not None and body["valid"] is True and body["verdict"] == "valid"
    assert body["issuer"] == {"id": world.sena.id, "name": "SENA"}
    assert body["holder_binding"] == "verified"
    assert body["claims"]["given_name"] == "José Gregorio"
    assert "document_number" not in body["claims"]


def test_compact_sd_jwt_from_stdin_in_english(world: World, files: dict[str, Path]) -> None:
    paper = world.issue("ppt-status", paper=True, idx=77)
    status = files["status"].parent / "migracion.jwt"
    status.write_text(world.status_token(world.migracion), "utf-8")
    exit_code, body, _ = _run("--trust-list", str(files["trust"]), "--status-list", str(status), "--lang", "en", "-",
                              stdin=paper.sd_jwt)
    assert exit_code == 0 and body is not None
    assert body["holder_binding"] == "absent"
    assert body["credential_type"] == "ppt-status"
    assert body["credential_name"] == "Temporary Protection Permit (PPT)"
    assert body["error"] is None


def test_revoked_credential_exits_one(tmp_path: Path, world: World, files: dict[str, Path]) -> None:
    issued = world.issue(idx=9)
    world.status_list(world.sena).set(9, INVALID)
    files["status"].write_text(world.status_token(world.sena), "utf-8")
    code = tmp_path / "qr.txt"
    code.write_text(qr.encode(world.present(issued)), "utf-8")
    exit_code, body, _ = _run("--trust-list", str(files["trust"]), "--status-list", str(files["status"]), str(code))
    assert exit_code == 1 and body is not None
    assert body["verdict"] == "revoked" and body["claims"] == {}
    assert body["error"]["message"] == "La credencial fue revocada por la entidad emisora."


def test_without_status_list_the_status_is_unavailable(tmp_path: Path, world: World, files: dict[str, Path]) -> None:
    code = tmp_path / "qr.txt"
    code.write_text(qr.encode(world.present(world.issue())), "utf-8")
    exit_code, body, _ = _run("--trust-list", str(files["trust"]), str(code))
    assert exit_code == 1 and body is not None and body["verdict"] == "status_unavailable"


def test_without_trust_list_the_issuer_is_untrusted(tmp_path: Path, world: World) -> None:
    code = tmp_path / "qr.txt"
    code.write_text(qr.encode(world.present(world.issue())), "utf-8")
    exit_code, body, _ = _run(str(code))
    assert exit_code == 1 and body is not None and body["verdict"] == "untrusted_issuer"


@pytest.mark.parametrize("problem", ["missing-input", "bad-trust-list", "bad-status-list", "bad-lang"])
def test_usage_errors_exit_two(tmp_path: Path, files: dict[str, Path], problem: str) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"issuers": 1}', "utf-8")
    args = {
        "missing-input": ["--trust-list", str(files["trust"]), str(tmp_path / "nope.txt")],
        "bad-trust-list": ["--trust-list", str(junk), str(junk)],
        "bad-status-list": ["--trust-list", str(files["trust"]), "--status-list", str(junk), str(junk)],
        "bad-lang": ["--lang", "fr", str(junk)],
    }[problem]
    exit_code, body, output = _run(*args)
    assert exit_code == 2 and body is None
    assert "error:" in output


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_qr_image_through_the_installed_command(tmp_path: Path, world: World, files: dict[str, Path],
                                                image_format: str) -> None:
    code = qr.encode(world.present(world.issue()))
    image = Image.open(io.BytesIO(qr_image.render_png(code, "M", box_size=5))).convert("RGB")
    path = tmp_path / f"qr.{image_format.lower()}"
    image.save(path, image_format, quality=92)
    proc = subprocess.run(
        [sys.executable, "-m", "puente", "verify", "--trust-list", str(files["trust"]),
         "--status-list", str(files["status"]), str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "valid"


def test_image_without_a_qr_is_malformed(tmp_path: Path, files: dict[str, Path]) -> None:
    path = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(path)
    exit_code, body, _ = _run("--trust-list", str(files["trust"]), str(path))
    assert exit_code == 1 and body is not None and body["verdict"] == "malformed"

"""`puente accredit` for institutions running other software (issue 14, items 1 and 2): ordinary and
long kids, X.509 CAs, optional status; the accredited credentials verify offline through the exported
trust list, and every operator mistake is a clear message, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from credcore.clock import SystemClock
from credcore.credential_types import TypeRegistry
from credcore.issue import issue_credential
from credcore.keys import generate_key, private_key_to_jwk
from credcore.x509_chain import der_b64
from puente.cli import app
from testkit.world import example_claims
from tests.x509_support import make_ca, make_leaf

runner = CliRunner()
LONG_KID = "did:jwk:" + "eyJrdHkiOiJFQyIsImNydiI6IlAtMjU2In0" * 5 + "#0"


def _accredit(*args: str) -> Any:
    return runner.invoke(app, ["accredit", *args])


def _export(var: Path) -> tuple[Path, dict[str, Any]]:
    out = var.parent / "trust-list.json"
    result = runner.invoke(app, ["trust-list", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, json.loads(out.read_text("utf-8"))


def _verify(trust: Path, credential: str, tmp: Path) -> dict[str, Any]:
    source = tmp / "credential.txt"
    source.write_text(credential, "utf-8")
    result = runner.invoke(app, ["verify", "--trust-list", str(trust), "--lang", "en", str(source)])
    return json.loads(result.stdout)


def _issue(document: dict[str, Any], issuer: str, key: Any, header: dict[str, Any]) -> str:
    """A credential of the outside institution, for the type base the exported trust list names."""
    types = TypeRegistry.load(_skills_vct(document).rsplit("/vct/", 1)[0])
    return issue_credential(ctype=types.get("skills-certification"), claims=example_claims("skills-certification"),
                            issuer=issuer, key=key, clock=SystemClock(), paper=True, header=header).sd_jwt


def _skills_vct(document: dict[str, Any]) -> str:
    return next(v for e in document["issuers"] for v in e["vcts"] if v.endswith("/vct/skills-certification"))


def test_ordinary_and_long_kids_are_accredited_and_verify(var: Path) -> None:
    first, second = generate_key(), generate_key("EdDSA")
    jwks = var.parent / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**first.public.jwk(), "kid": "key-1", "use": "sig"},
                                         {**second.public.jwk(), "kid": LONG_KID}]}), "utf-8")
    issuer = "https://ong.example/emisor"
    result = _accredit("--issuer-id", issuer, "--name", "ONG Ejemplo", "--jwks", str(jwks), "--type",
                       "skills-certification", "--status-optional", "skills-certification")
    assert result.exit_code == 0, result.output
    trust, document = _export(var)
    entry = next(e for e in document["issuers"] if e["id"] == issuer)
    assert [k["kid"] for k in entry["keys"]] == ["key-1", LONG_KID] and len(LONG_KID) > 128
    vct = _skills_vct(document)
    assert entry["status"] == {vct: "optional"}
    for key, kid in ((first, "key-1"), (second, LONG_KID)):
        report = _verify(trust, _issue(document, issuer, key, {"kid": kid}), var.parent)
        assert report["verdict"] == "valid", report
        assert report["checks"][-1]["name"] == "status" and report["checks"][-1]["code"] == "not_applicable"
    # two keys: a token without kid cannot say which one signed it
    report = _verify(trust, _issue(document, issuer, first, {"kid": None}), var.parent)
    assert report["error"]["code"] == "kid_required"
    # the kid of one key on a token signed by the other
    report = _verify(trust, _issue(document, issuer, first, {"kid": LONG_KID}), var.parent)
    assert report["verdict"] == "signature_invalid"


def test_one_key_without_kid_and_a_token_without_kid(var: Path) -> None:
    key = generate_key()
    jwks = var.parent / "jwks.json"
    public = {k: v for k, v in key.public.jwk().items() if k != "kid"}
    jwks.write_text(json.dumps({"keys": [public]}), "utf-8")
    issuer = "https://otra.example"
    result = _accredit("--issuer-id", issuer, "--name", "Otra", "--jwks", str(jwks), "--type", "skills-certification",
                       "--status-optional", "skills-certification")
    assert result.exit_code == 0, result.output
    trust, document = _export(var)
    entry = next(e for e in document["issuers"] if e["id"] == issuer)
    assert entry["keys"][0]["kid"] == key.kid  # no kid of its own: its thumbprint
    assert _verify(trust, _issue(document, issuer, key, {"kid": None}), var.parent)["verdict"] == "valid"


def test_institution_accredited_by_an_x509_ca(var: Path) -> None:
    root = make_ca("Autoridad Certificadora Raíz de Ejemplo")
    issuing = make_ca("CA Emisora de Ejemplo", root)
    issuer = "https://universidad.example/emisor"
    signer, leaf = make_leaf(issuing, uri=issuer)
    ca_file = var.parent / "root.pem"
    ca_file.write_bytes(root.pem)
    result = _accredit("--issuer-id", issuer, "--name", "Universidad de Ejemplo", "--x509-ca", str(ca_file),
                       "--type", "skills-certification", "--status-optional", "skills-certification")
    assert result.exit_code == 0, result.output
    trust, document = _export(var)
    entry = next(e for e in document["issuers"] if e["id"] == issuer)
    assert entry["keys"] == [] and entry["x509_cas"] == [root.b64]
    chain = [der_b64(leaf), issuing.b64]
    report = _verify(trust, _issue(document, issuer, signer, {"kid": None, "x5c": chain}), var.parent)
    assert report["verdict"] == "valid", report
    other_signer, other_leaf = make_leaf(issuing, uri="https://otra.example/emisor")
    other_chain = [der_b64(other_leaf), issuing.b64]
    report = _verify(trust, _issue(document, issuer, other_signer, {"kid": None, "x5c": other_chain}), var.parent)
    assert report["error"]["code"] == "x5c_iss_mismatch"
    assert report["error"]["message"] == "The signing certificate belongs to another institution."
    # a leaf certificate is no CA
    leaf_file = var.parent / "leaf.pem"
    from cryptography.hazmat.primitives.serialization import Encoding

    leaf_file.write_bytes(leaf.public_bytes(Encoding.PEM))
    refused = _accredit("--issuer-id", "https://tercera.example", "--name", "Tercera", "--x509-ca", str(leaf_file),
                        "--type", "skills-certification")
    assert refused.exit_code == 1 and "is not a CA certificate" in refused.output


@pytest.mark.parametrize("mistake", ["same-key-twice", "same-issuer-twice", "kid-twice", "private-key", "not-json",
                                     "missing-file", "no-keys", "bad-kid", "unknown-type", "not-a-pem"])
def test_operator_mistakes_are_clear_errors(var: Path, mistake: str) -> None:
    key, other = generate_key(), generate_key()
    jwks = var.parent / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**key.public.jwk(), "kid": "key-1"}]}), "utf-8")
    first = _accredit("--issuer-id", "https://a.example", "--name", "A", "--jwks", str(jwks), "--type",
                      "skills-certification")
    assert first.exit_code == 0, first.output
    args = ["--issuer-id", "https://b.example", "--name", "B", "--jwks", str(jwks), "--type", "skills-certification"]
    expected = {
        "same-key-twice": "already accredited (to this or another institution)",
        "same-issuer-twice": "That institution is already accredited",
        "kid-twice": "lists a key or a kid twice",
        "private-key": "A private key was sent where a public key belongs",
        "not-json": "the JWKS is not JSON",
        "missing-file": "cannot read",
        "no-keys": "Give a JWKS with keys or a CA certificate",
        "bad-kid": "The key identifier is not valid",
        "unknown-type": "Unknown types: nope",
        "not-a-pem": "is not a PEM certificate",
    }[mistake]
    if mistake == "same-issuer-twice":
        args[1] = "https://a.example"
        jwks.write_text(json.dumps({"keys": [other.public.jwk()]}), "utf-8")
    elif mistake == "kid-twice":
        jwks.write_text(json.dumps({"keys": [{**other.public.jwk(), "kid": "k"}, {**generate_key().public.jwk(),
                                                                                 "kid": "k"}]}), "utf-8")
    elif mistake == "private-key":
        jwks.write_text(json.dumps({"keys": [private_key_to_jwk(other)]}), "utf-8")
    elif mistake == "not-json":
        jwks.write_text("{keys: [", "utf-8")
    elif mistake == "missing-file":
        args[5] = str(var.parent / "nowhere.json")
    elif mistake == "no-keys":
        jwks.write_text(json.dumps({"keys": []}), "utf-8")
    elif mistake == "bad-kid":
        jwks.write_text(json.dumps({"keys": [{**other.public.jwk(), "kid": "clé"}]}), "utf-8")
    elif mistake == "unknown-type":
        jwks.write_text(json.dumps({"keys": [other.public.jwk()]}), "utf-8")
        args[-1] = "nope"
    elif mistake == "not-a-pem":
        jwks.write_text(json.dumps({"keys": [other.public.jwk()]}), "utf-8")
        args += ["--x509-ca", str(jwks)]
    result = _accredit(*args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert expected in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


def test_installed_command_prints_no_traceback(var: Path) -> None:
    """The real `puente` entry point in a process of its own: a key accredited twice, a broken file."""
    key = generate_key()
    jwks = var.parent / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.public.jwk()]}), "utf-8")
    env = dict(os.environ)
    command = [sys.executable, "-c", "from puente.cli import main; main()", "accredit", "--name", "X",
               "--jwks", str(jwks), "--type", "skills-certification", "--issuer-id"]
    assert subprocess.run([*command, "https://x.example"], env=env, capture_output=True, cwd=var.parent,
                          timeout=60).returncode == 0
    again = subprocess.run([*command, "https://y.example"], env=env, capture_output=True, cwd=var.parent, timeout=60,
                           text=True)
    assert again.returncode == 1 and "Traceback" not in again.stderr + again.stdout
    assert "ya está acreditada" in again.stderr

"""OpenID4VP requests a HAIP wallet accepts (issue 14 #3): request objects signed by the verifier's
certified key with the x509_hash or x509_san_dns client identifier prefix, the verifier's name in
Spanish and English, answers encrypted to the request's ephemeral key (direct_post.jwt, ECDH-ES
with A128GCM or A256GCM), and redirect_uri requests passed by value in the QR."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient

from credcore import jws
from credcore.encoding import b64url_decode, b64url_encode
from credcore.keys import public_key_from_key
from testkit.live import Live
from tests.verifier.support import KYC_CLAIMS, held_credential, present_to
from verifier.app import create_app
from verifier.oid4vp.secure import IdentityError, load_identity, self_signed_identity
from verifier.service import VerifierService


def encrypt(plaintext: dict[str, Any], recipient: dict[str, Any], enc: str = "A128GCM", **header: Any) -> str:
    """A wallet's direct_post.jwt answer: compact JWE, ECDH-ES to the request's key (RFC 7518 §4.6)."""
    bits = {"A128GCM": 128, "A256GCM": 256}[enc]
    peer = ec.EllipticCurvePublicNumbers(int.from_bytes(b64url_decode(recipient["x"]), "big"),
                                         int.from_bytes(b64url_decode(recipient["y"]), "big"),
                                         ec.SECP256R1()).public_key()
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    numbers = ephemeral.public_key().public_numbers()
    epk = {"kty": "EC", "crv": "P-256", "x": b64url_encode(numbers.x.to_bytes(32, "big")),
           "y": b64url_encode(numbers.y.to_bytes(32, "big"))}
    protected = b64url_encode(json.dumps({"alg": "ECDH-ES", "enc": enc, "epk": epk, "kid": recipient["kid"],
                                          **header}).encode())
    alg_id = enc.encode()
    other = len(alg_id).to_bytes(4, "big") + alg_id + bytes(8) + bits.to_bytes(4, "big")
    cek = hashlib.sha256((1).to_bytes(4, "big") + ephemeral.exchange(ec.ECDH(), peer) + other).digest()[:bits // 8]
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, json.dumps(plaintext).encode(), protected.encode("ascii"))
    return ".".join([protected, "", b64url_encode(iv), b64url_encode(sealed[:-16]), b64url_encode(sealed[-16:])])


def _service(live: Live, tmp_path: Path, prefix: str = "x509_hash", **overrides: Any) -> VerifierService:
    _, cert_pem, key_pem = self_signed_identity("Banco de Ejemplo S.A.", "verificador.example", prefix=prefix)
    (tmp_path / "vp.pem").write_bytes(cert_pem)
    (tmp_path / "vp.key").write_bytes(key_pem)
    return live.verifier_service(vp_certificate_file=tmp_path / "vp.pem", vp_key_file=tmp_path / "vp.key",
                                 vp_client_id_prefix=prefix, **overrides)


@pytest.fixture
def secure(live: Live, tmp_path: Path) -> Iterator[TestClient]:
    service = _service(live, tmp_path)
    with TestClient(create_app(service.settings, service=service)) as client:
        yield client


def _request(client: TestClient, body: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any], str]:
    created = client.post("/api/v1/presentation-requests", json=body or {"preset": "bank-kyc"})
    assert created.status_code == 201, created.text
    params = parse_qs(urlsplit(created.json()["qr"]).query, strict_parsing=True)
    fetched = client.get(urlsplit(params["request_uri"][0]).path)
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "application/oauth-authz-req+jwt"
    return created.json(), params, fetched.text


def test_signed_x509_hash_request_with_names_and_an_encryption_key(secure: TestClient) -> None:
    created, params, token = _request(secure)
    parsed = jws.parse(token)
    assert parsed.header["typ"] == "oauth-authz-req+jwt" and parsed.header["alg"] == "ES256"
    leaf = x509.load_der_x509_certificate(base64.b64decode(parsed.header["x5c"][0]))
    digest = b64url_encode(hashlib.sha256(base64.b64decode(parsed.header["x5c"][0])).digest())
    assert params["client_id"] == [f"x509_hash:{digest}"] == [created["client_id"]]
    jws.verify_signature(parsed, public_key_from_key(leaf.public_key()))
    request = parsed.claims()
    assert request["client_id"] == created["client_id"] and request["response_mode"] == "direct_post.jwt"
    metadata = request["client_metadata"]
    assert metadata["client_name#es"] == "Verificador Puente" and metadata["client_name#en"] == "Puente verifier"
    assert metadata["encrypted_response_enc_values_supported"] == ["A128GCM", "A256GCM"]
    [key] = metadata["jwks"]["keys"]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["use"] == "enc" and "d" not in key
    assert leaf.subject.rfc4514_string().startswith("CN=verificador.example,O=Banco de Ejemplo")


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_an_encrypted_answer_is_valid(live: Live, secure: TestClient, enc: str) -> None:
    created, _, token = _request(secure)
    request = jws.parse(token).claims()
    sd_jwt, holder = held_credential(live)
    presentation = present_to(sd_jwt, holder, aud=request["client_id"], nonce=request["nonce"], disclose=KYC_CLAIMS)
    jwe = encrypt({"vp_token": {"kyc": [presentation]}, "state": request["state"]},
                  request["client_metadata"]["jwks"]["keys"][0], enc)
    answered = secure.post(urlsplit(request["response_uri"]).path, data={"response": jwe})
    assert answered.status_code == 200, answered.text
    result = secure.get(f"/api/v1/presentation-requests/{created['id']}",
                        headers={"Authorization": f"Bearer {created['result_token']}"}).json()["result"]
    assert result["valid"] is True, result
    assert set(result["credentials"]["kyc"]["claims"]) == set(KYC_CLAIMS)


def test_answers_an_encrypted_request_refuses(live: Live, secure: TestClient) -> None:
    created, _, token = _request(secure)
    request = jws.parse(token).claims()
    key = request["client_metadata"]["jwks"]["keys"][0]
    sd_jwt, holder = held_credential(live)
    presentation = present_to(sd_jwt, holder, aud=request["client_id"], nonce=request["nonce"], disclose=KYC_CLAIMS)
    inner = {"vp_token": {"kyc": [presentation]}, "state": request["state"]}
    path = urlsplit(request["response_uri"]).path
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    stranger = {**key, "x": b64url_encode(other.x.to_bytes(32, "big")), "y": b64url_encode(other.y.to_bytes(32, "big"))}
    good = encrypt(inner, key)
    head, empty, iv, ciphertext, tag = good.split(".")
    refused = {
        "in the clear": {"vp_token": json.dumps(inner["vp_token"]), "state": request["state"]},
        "to another key": {"response": encrypt(inner, stranger)},
        "tampered": {"response": ".".join([head, empty, iv, ciphertext[:-2] + "AA", tag])},
        "alg dir": {"response": encrypt(inner, key, alg="dir")},
        "not a JWE": {"response": "a.b.c"},
        "response and vp_token": {"response": good, "vp_token": "{}"},
    }
    for name, form in refused.items():
        response = secure.post(path, data=form)
        assert response.status_code == 400, (name, response.text)
        assert response.json()["error"] == "invalid_request", name
    assert secure.post(path, data={"response": good}).status_code == 200  # none of those used the request up
    result = secure.get(f"/api/v1/presentation-requests/{created['id']}",
                        headers={"Authorization": f"Bearer {created['result_token']}"}).json()["result"]
    assert result["valid"] is True


def test_x509_san_dns_prefix(live: Live, tmp_path: Path) -> None:
    service = _service(live, tmp_path, prefix="x509_san_dns")
    with TestClient(create_app(service.settings, service=service)) as client:
        created, _, token = _request(client)
    assert created["client_id"] == "x509_san_dns:verificador.example" == jws.parse(token).claims()["client_id"]


def test_a_key_that_is_not_the_certificates_is_refused(tmp_path: Path) -> None:
    _, cert_pem, _ = self_signed_identity("A", "a.example")
    _, _, other_key = self_signed_identity("B", "b.example")
    (tmp_path / "a.pem").write_bytes(cert_pem)
    (tmp_path / "b.key").write_bytes(other_key)
    with pytest.raises(IdentityError):
        load_identity(tmp_path / "a.pem", tmp_path / "b.key", "x509_hash")


def test_redirect_uri_request_by_value(live: Live) -> None:
    service = live.verifier_service(vp_request_by_value=True)
    with TestClient(create_app(service.settings, service=service)) as client:
        created = client.post("/api/v1/presentation-requests", json={"preset": "bank-kyc"}).json()
        params = {k: v[0] for k, v in parse_qs(urlsplit(created["qr"]).query, strict_parsing=True).items()}
        assert "request_uri" not in params and params["client_id"].startswith("redirect_uri:")
        assert params["response_mode"] == "direct_post" and json.loads(params["dcql_query"])["credentials"]
        assert json.loads(params["client_metadata"])["client_name#es"] == "Verificador Puente"
        sd_jwt, holder = held_credential(live)
        presentation = present_to(sd_jwt, holder, aud=params["client_id"], nonce=params["nonce"], disclose=KYC_CLAIMS)
        answered = client.post(urlsplit(params["response_uri"]).path,
                               data={"vp_token": json.dumps({"kyc": [presentation]}), "state": params["state"]})
        assert answered.status_code == 200, answered.text
        result = client.get(f"/api/v1/presentation-requests/{created['id']}",
                            headers={"Authorization": f"Bearer {created['result_token']}"}).json()["result"]
        assert result["valid"] is True

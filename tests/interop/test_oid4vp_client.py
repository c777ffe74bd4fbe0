"""The OWF OpenID4VP client (oid4vc-ts) answers Puente's verifier over HTTP as a wallet built on it
would: a request object signed with the x509_hash prefix and an encrypted answer (direct_post.jwt,
A128GCM and A256GCM), and a redirect_uri request passed by value (direct_post). The verifier's
result is valid, with exactly the claims asked for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from credcore.keys import private_key_to_jwk
from testkit.live import Live
from testkit.servers import ServerThread, free_port
from tests.interop.node import Node
from verifier.app import create_app
from verifier.oid4vp.secure import self_signed_identity

pytestmark = pytest.mark.pair("oid4vp-client-answers")
KYC = ["given_name", "family_name", "document_number", "birthdate"]


def _serve(live: Live, tmp: Path, **overrides: Any) -> Iterator[str]:
    port = free_port()
    service = live.verifier_service(public_verifier_url=f"http://127.0.0.1:{port}", **overrides)
    with ServerThread(create_app(service.settings, service=service), port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def signed_verifier(live: Live, tmp_path: Path) -> Iterator[str]:
    _, cert, key = self_signed_identity("Banco de Ejemplo S.A.", "verificador.example")
    (tmp_path / "vp.pem").write_bytes(cert)
    (tmp_path / "vp.key").write_bytes(key)
    yield from _serve(live, tmp_path, vp_certificate_file=tmp_path / "vp.pem", vp_key_file=tmp_path / "vp.key")


@pytest.fixture
def by_value_verifier(live: Live, tmp_path: Path) -> Iterator[str]:
    yield from _serve(live, tmp_path, vp_request_by_value=True)


def _answer(live: Live, node: Node, verifier: str, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    created = httpx.post(f"{verifier}/api/v1/presentation-requests", json={"preset": "bank-kyc"}, timeout=10).json()
    wallet = live.wallet()
    credential = wallet.redeem(live.issue("ppt-status", "migracion:officer"))
    answer = node("oid4vp.mjs", "answer", {"qr": created["qr"], "credential": credential, "disclose": KYC,
                                           "holderPrivateJwk": private_key_to_jwk(wallet.holder), **extra})
    result = httpx.get(f"{verifier}/api/v1/presentation-requests/{created['id']}",
                       headers={"Authorization": f"Bearer {created['result_token']}"}, timeout=10).json()["result"]
    return answer, result


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_owf_client_answers_a_signed_x509_hash_request_encrypted(live: Live, node: Node, signed_verifier: str,
                                                                  enc: str) -> None:
    answer, result = _answer(live, node, signed_verifier, enc=enc)
    assert answer["signed"] is True and answer["clientId"].startswith("x509_hash:")
    assert answer["responseMode"] == "direct_post.jwt" and answer["status"] == 200, answer
    assert answer["clientName"] == "Verificador Puente"
    assert result["valid"] is True, result
    assert set(result["credentials"]["kyc"]["claims"]) == set(KYC)


def test_owf_client_answers_a_redirect_uri_request_by_value(live: Live, node: Node, by_value_verifier: str) -> None:
    answer, result = _answer(live, node, by_value_verifier)
    assert answer["signed"] is False and answer["clientId"].startswith("redirect_uri:")
    assert answer["responseMode"] == "direct_post" and answer["status"] == 200, answer
    assert result["valid"] is True, result

"""Every verdict of PRODUCT.md over HTTP, with credentials from a live issuer on loopback."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credcore import qr
from credcore.clock import FixedClock
from credcore.encoding import b64url_encode, dumps_compact
from credcore.issue import issue_credential
from credcore.keys import generate_key
from issuer import credentials as creds
from issuer.db.models import Credential
from issuer.institutions import active_key
from issuer.operator import institution
from testkit.live import Live
from testkit.world import example_claims


def _verify(client: TestClient, lang: str = "es", **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/verify", json=body, headers={"Accept-Language": lang})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _sign_as(live: Live, slug: str, type_id: str, *, at: int | None = None, **kwargs: Any) -> str:
    """A credential really signed with an institution's key (straight from its key store)."""
    deps = live.issuer_deps
    with deps.session() as session:
        key = active_key(session, deps, institution(session, slug))
    clock = FixedClock(at or int(time.time()))
    return issue_credential(ctype=deps.types.get(type_id), claims=example_claims(type_id),
                            issuer=f"{live.issuer_url}/i/{slug}", key=key, clock=clock, paper=True, **kwargs).sd_jwt


def test_valid_wallet_qr(live: Live, verifier_client: TestClient) -> None:
    _, presentation = live.wallet_presentation()
    report = _verify(verifier_client, qr=qr.encode(presentation))
    assert report["valid"] is True and report["verdict"] == "valid" and report["error"] is None
    assert report["holder_binding"] == "verified"
    assert report["issuer"] == {"id": f"{live.issuer_url}/i/sena", "name": "SENA"}
    assert set(report["claims"]) == {"given_name", "family_name", "competency_title"}
    assert report["credential_type"] == "skills-certification"
    assert all(check["ok"] for check in report["checks"])


def test_compact_presentation_and_english(live: Live, verifier_client: TestClient) -> None:
    _, presentation = live.wallet_presentation()
    report = _verify(verifier_client, lang="en", presentation=presentation)
    assert report["verdict"] == "valid" and report["labels"]["given_name"] == "Given names"


def test_paper_qr_is_valid_without_holder_binding(live: Live, verifier_client: TestClient) -> None:
    created = live.issue("ppt-status", "migracion:officer")
    with live.issuer_deps.session() as session:
        record = session.get(Credential, created["id"])
        assert record is not None
        paper = creds.paper_of(live.issuer_deps, record)
    report = _verify(verifier_client, qr=qr.encode(paper))
    assert report["verdict"] == "valid" and report["holder_binding"] == "absent"
    assert report["claims"]["document_number"] == example_claims("ppt-status")["document_number"]


def test_replayed_qr(live: Live, verifier_client: TestClient) -> None:
    _, presentation = live.wallet_presentation()
    code = qr.encode(presentation)
    assert _verify(verifier_client, qr=code)["valid"]
    again = _verify(verifier_client, qr=code)
    assert again["verdict"] == "key_binding_invalid" and again["error"]["code"] == "replayed"
    assert again["claims"] == {}


@pytest.mark.parametrize(("action", "verdict"), [("revoke", "revoked"), ("suspend", "suspended")])
def test_revoked_and_suspended(live: Live, verifier_client: TestClient, action: str, verdict: str) -> None:
    created, presentation = live.wallet_presentation()
    live.change(created["id"], action)
    report = _verify(verifier_client, qr=qr.encode(presentation))
    assert report["verdict"] == verdict and report["claims"] == {}


def test_malformed(verifier_client: TestClient) -> None:
    for text in ("hola", "PT1:abc", "PT1:", "eyJ.eyJ.sig~", "javascript:alert(1)"):
        report = _verify(verifier_client, qr=text)
        assert report["verdict"] == "malformed", text


def test_signature_invalid(live: Live, verifier_client: TestClient) -> None:
    _, presentation = live.wallet_presentation()
    head, body, rest = presentation.split(".", 2)
    payload = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    assert _verify(verifier_client, presentation=f"{head}.{payload}.{rest}")["verdict"] in (
        "signature_invalid", "malformed")
    signature_part = rest.split("~", 1)
    flipped = ("A" if signature_part[0][0] != "A" else "B") + signature_part[0][1:]
    tampered = f"{head}.{body}.{flipped}~{signature_part[1]}"
    assert _verify(verifier_client, presentation=tampered)["verdict"] == "signature_invalid"


def test_untrusted_issuer(live: Live, verifier_client: TestClient) -> None:
    stranger = issue_credential(ctype=live.issuer_deps.types.get("skills-certification"),
                                claims=example_claims("skills-certification"), issuer=f"{live.issuer_url}/i/sena",
                                key=generate_key(), clock=FixedClock(int(time.time())), paper=True)
    assert _verify(verifier_client, presentation=stranger.sd_jwt)["verdict"] == "untrusted_issuer"


def test_not_accredited_for_type(live: Live, verifier_client: TestClient) -> None:
    forged = _sign_as(live, "sena", "ppt-status")
    report = _verify(verifier_client, presentation=forged)
    assert report["verdict"] == "not_accredited_for_type" and report["claims"] == {}


def test_expired_and_not_yet_valid(live: Live, verifier_client: TestClient) -> None:
    now = int(time.time())
    expired = _sign_as(live, "sena", "skills-certification", at=now - 10 * 86_400, valid_until=now - 86_400)
    assert _verify(verifier_client, presentation=expired)["verdict"] == "expired"
    future = _sign_as(live, "sena", "skills-certification", at=now + 86_400)
    assert _verify(verifier_client, presentation=future)["verdict"] == "not_yet_valid"


def test_disclosure_invalid(live: Live, verifier_client: TestClient) -> None:
    invented = b64url_encode(dumps_compact(["c2FsdHNhbHRzYWx0c2FsdA", "level", 8]).encode())
    _, presentation = live.wallet_presentation()
    issuer_jwt, rest = presentation.split("~", 1)
    report = _verify(verifier_client, presentation=f"{issuer_jwt}~{invented}~{rest}")
    assert report["verdict"] == "disclosure_invalid" and report["error"]["code"] == "disclosure_unreferenced"
    paper = _sign_as(live, "sena", "skills-certification")
    assert _verify(verifier_client, presentation=f"{paper}{invented}~")["verdict"] == "disclosure_invalid"


def test_key_binding_missing_and_wrong_audience(live: Live, verifier_client: TestClient) -> None:
    _, presentation = live.wallet_presentation()
    stripped = presentation[: presentation.rindex("~") + 1]
    report = _verify(verifier_client, presentation=stripped)
    assert report["verdict"] == "key_binding_invalid" and report["error"]["code"] == "kb_missing"
    _, other = live.wallet_presentation(aud="https://bank.example")
    assert _verify(verifier_client, presentation=other)["error"]["code"] == "kb_audience"


def test_status_unavailable(live: Live, verifier_client: TestClient) -> None:
    missing_list = _sign_as(live, "sena", "skills-certification", status=(f"{live.issuer_url}/i/sena/status/999", 3))
    report = _verify(verifier_client, presentation=missing_list)
    assert report["verdict"] == "status_unavailable" and report["claims"] == {}


def test_wrong_shapes_are_422_and_huge_bodies_413(verifier_client: TestClient) -> None:
    for body in ({}, {"qr": "a", "presentation": "b"}, {"qr": 5}, {"qr": "x", "extra": 1}, [1, 2]):
        response = verifier_client.post("/api/v1/verify", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
    big = verifier_client.post("/api/v1/verify", content=b'{"qr": "' + b"A" * 200_000 + b'"}',
                               headers={"Content-Type": "application/json"})
    assert big.status_code == 413
    not_json = verifier_client.post("/api/v1/verify", content=b"\xff\xfe garbage",
                                    headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422


def test_messages_follow_accept_language(live: Live, verifier_client: TestClient) -> None:
    es = _verify(verifier_client, qr="PT1:abc")
    en = _verify(verifier_client, lang="en-US,en;q=0.9", qr="PT1:abc")
    assert es["error"]["message"] == "El código o la credencial no se puede leer."
    assert en["error"]["message"] == "The code or credential cannot be read."


def test_verifier_keeps_no_claims(live: Live) -> None:
    service = live.verifier_service()
    _, presentation = live.wallet_presentation()
    service.verify(qr.encode(presentation), "es")
    remembered = [vars(outcome) for outcome in service.outcomes]
    assert remembered and set(remembered[-1]) == {"at", "credential_type", "issuer", "verdict"}
    assert "José" not in repr(remembered)

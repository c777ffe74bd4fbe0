"""Signing-key rotation and compromise, the signed trust list, and external accreditation — checked
the way a verifier sees them: through GET /trust-list and the status lists, verified by credcore."""

from __future__ import annotations

import json

import pytest

from credcore import jws
from credcore.clock import FixedClock
from credcore.errors import CredentialError
from credcore.issue import issue_credential
from credcore.keys import generate_key
from credcore.ports import MappingStatusSource, MemoryNonceStore
from credcore.trust import verify_trust_list
from credcore.verify import VerificationPolicy, VerificationReport, verification_report
from issuer import credentials as creds
from issuer.db.models import Credential
from issuer.institutions import accredit_external, mark_compromised, registry_key
from issuer.operator import institution as find_institution
from issuer.operator import rotate_key
from testkit.world import example_claims
from tests.issuer.deployment import Deployment


def _trust(deployment: Deployment):  # type: ignore[no-untyped-def]
    token = deployment.client.get("/trust-list")
    assert token.status_code == 200 and token.headers["content-type"].startswith("application/jwt")
    with deployment.deps.session() as session:
        pinned = registry_key(session, deployment.deps).public
    return verify_trust_list(token.text, pinned).trust_list


def _verify_paper(deployment: Deployment, credential_id: str, **policy: object) -> VerificationReport:
    with deployment.deps.session() as session:
        record = session.get(Credential, credential_id)
        assert record is not None
        paper = creds.paper_of(deployment.deps, record)
    status_uri = jws.parse(paper.split("~")[0]).claims()["status"]["status_list"]["uri"]
    path = status_uri.removeprefix(deployment.client.base_url.__str__().rstrip("/"))
    status = deployment.client.get(path)
    assert status.status_code == 200, status.text
    return verification_report(paper, trust=_trust(deployment), types=deployment.deps.types,
                               clock=deployment.clock, status_source=MappingStatusSource({status_uri: status.text}),
                               nonce_store=MemoryNonceStore(), policy=VerificationPolicy(**policy))  # type: ignore[arg-type]


def _kid(deployment: Deployment, credential_id: str) -> str:
    with deployment.deps.session() as session:
        record = session.get(Credential, credential_id)
        assert record is not None
        return str(jws.parse(creds.paper_of(deployment.deps, record).split("~")[0]).header["kid"])


def test_rotation_keeps_old_credentials_valid_and_signs_new_ones_with_the_new_key(deployment: Deployment) -> None:
    old = deployment.issue()
    new_kid = rotate_key(deployment.deps, "sena")
    new = deployment.issue()
    assert _kid(deployment, new["id"]) == new_kid != _kid(deployment, old["id"])
    assert _verify_paper(deployment, old["id"]).verdict == "valid"
    assert _verify_paper(deployment, new["id"]).verdict == "valid"
    jwks = deployment.client.get("/.well-known/jwt-vc-issuer/i/sena").json()
    assert jwks["issuer"] == "https://issuer.test/i/sena"
    assert {k["kid"] for k in jwks["jwks"]["keys"]} == {new_kid, _kid(deployment, old["id"])}


def test_compromised_key_fails_everything_it_signed(deployment: Deployment) -> None:
    before = deployment.issue()
    bad_kid = _kid(deployment, before["id"])
    with deployment.deps.session() as session:
        mark_compromised(session, deployment.deps, find_institution(session, "sena"), bad_kid, actor="test")
        session.commit()
    report = _verify_paper(deployment, before["id"])
    assert report.verdict == "untrusted_issuer" and report.error is not None
    assert report.error.code == "key_compromised"
    after = deployment.issue()  # a fresh key was made active automatically
    assert _kid(deployment, after["id"]) != bad_kid
    assert _verify_paper(deployment, after["id"]).verdict == "valid"
    published = deployment.client.get("/.well-known/jwt-vc-issuer/i/sena").json()["jwks"]["keys"]
    assert bad_kid not in {k["kid"] for k in published}


def test_trust_list_is_signed_by_the_registry_and_names_types(deployment: Deployment) -> None:
    trust = _trust(deployment)
    sena = trust.issuers["https://issuer.test/i/sena"]
    assert sena.vcts == {"https://issuer.test/vct/skills-certification",
                         "https://issuer.test/vct/qualification-validation"}
    migracion = trust.issuers["https://issuer.test/i/migracion"]
    assert migracion.vcts == {"https://issuer.test/vct/ppt-status"}
    token = deployment.client.get("/trust-list").text
    head, body, sig = token.split(".")
    tampered_body = body[:-4] + ("AAAA" if body[-4:] != "AAAA" else "BBBB")
    with deployment.deps.session() as session:
        pinned = registry_key(session, deployment.deps).public
    with pytest.raises(CredentialError):
        verify_trust_list(f"{head}.{tampered_body}.{sig}", pinned)
    with pytest.raises(CredentialError):
        verify_trust_list(token, generate_key().public)


def test_external_institution_accredited_by_its_jwks(deployment: Deployment) -> None:
    external_key = generate_key("EdDSA")
    issuer_url = "https://ong.example/issuer"
    with deployment.deps.session() as session:
        accredit_external(session, deployment.deps, issuer_id=issuer_url, name="ONG Ejemplo",
                          jwks={"keys": [external_key.public.jwk()]}, types=["skills-certification"])
        session.commit()
    trust = _trust(deployment)
    assert trust.issuers[issuer_url].vcts == {"https://issuer.test/vct/skills-certification"}
    types = deployment.deps.types
    clock = FixedClock(deployment.clock.now())
    own = issue_credential(ctype=types.get("skills-certification"), claims=example_claims("skills-certification"),
                           issuer=issuer_url, key=external_key, clock=clock, paper=True)
    report = verification_report(own.sd_jwt, trust=trust, types=types, clock=clock,
                                 policy=VerificationPolicy(require_status=False))
    assert report.verdict == "valid", report.error
    ppt = issue_credential(ctype=types.get("ppt-status"), claims=example_claims("ppt-status"), issuer=issuer_url,
                           key=external_key, clock=clock, paper=True)
    refused = verification_report(ppt.sd_jwt, trust=trust, types=types, clock=clock,
                                  policy=VerificationPolicy(require_status=False))
    assert refused.verdict == "not_accredited_for_type"


def test_type_metadata_is_served_with_the_full_vct(deployment: Deployment) -> None:
    body = deployment.client.get("/vct/skills-certification").json()
    assert body["vct"] == "https://issuer.test/vct/skills-certification"
    assert [d["locale"] for d in body["display"]] == ["es", "en"]
    assert deployment.client.get("/vct/nope").status_code == 404


def test_claims_are_encrypted_at_rest_and_documents_only_hashed(deployment: Deployment) -> None:
    created = deployment.issue("ppt-status", who="migracion:officer")
    with deployment.deps.session() as session:
        record = session.get(Credential, created["id"])
        assert record is not None
        raw = record.claims_sealed + record.paper_sealed + (record.document_hash or "").encode()
    claims = example_claims("ppt-status")
    for value in (claims["given_name"], claims["document_number"]):
        assert value.encode() not in raw
        assert json.dumps(value).encode() not in raw
    found = deployment.client.get("/api/v1/credentials", params={"document_number": claims["document_number"]},
                                  headers=deployment.auth("migracion:officer")).json()
    assert [item["id"] for item in found["items"]] == [created["id"]]

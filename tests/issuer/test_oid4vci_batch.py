"""OpenID4VCI batch issuance (issue 14 #4): several proofs, several copies of the same credential —
each bound to its own holder key with its own salts and decoys, so two verifiers see nothing in
common but the claims shown — sharing the credential's one status entry, so a revocation covers
every copy."""

from __future__ import annotations

from typing import Any

from credcore import jws
from credcore.keys import generate_key
from credcore.sdjwt import parse_compact
from testkit.wallet import Wallet, issuer_payload, present, verify_online
from tests.issuer.deployment import Deployment
from tests.issuer.support import SENA, SKILLS, oauth_error, ready


def _batch(deployment: Deployment, wallet: Wallet, size: int) -> tuple[Any, list[str], list[Any]]:
    flow = ready(deployment, wallet)
    nonce = wallet.nonce(SENA)
    keys = [generate_key() for _ in range(size)]
    proofs = [wallet.proof(aud=SENA, nonce=nonce, key=key, header={"typ": "openid4vci-proof+jwt",
                                                                    "jwk": key.public.jwk()}) for key in keys]
    response = wallet.credential_response(SENA, flow.access, wallet.request_body(SKILLS, proofs))
    assert response.status_code == 200, response.text
    copies = [item["credential"] for item in response.json()["credentials"]]
    return flow, copies, keys


def test_metadata_offers_batches(deployment: Deployment) -> None:
    metadata = deployment.client.get("/.well-known/openid-credential-issuer/i/sena").json()
    assert metadata["batch_credential_issuance"] == {"batch_size": 10}


def test_a_batch_gives_unlinkable_copies_sharing_one_status_entry(deployment: Deployment, wallet: Wallet) -> None:
    flow, copies, keys = _batch(deployment, wallet, 5)
    assert len(copies) == 5
    payloads = [issuer_payload(c) for c in copies]
    assert [p["cnf"]["jwk"]["x"] for p in payloads] == [k.public.jwk()["x"] for k in keys]
    assert len({jws.parse(parse_compact(c).issuer_jwt).signature for c in copies}) == 5
    disclosures = [set(parse_compact(c).disclosures) for c in copies]
    assert all(not (a & b) for i, a in enumerate(disclosures) for b in disclosures[i + 1:])  # fresh salts
    digests = [set(p["_sd"]) for p in payloads]
    assert all(not (a & b) for i, a in enumerate(digests) for b in digests[i + 1:])  # decoys differ too
    assert len({(p["status"]["status_list"]["uri"], p["status"]["status_list"]["idx"]) for p in payloads}) == 1
    assert len({p["iat"] for p in payloads}) == 1 and len({p["exp"] for p in payloads}) == 1
    now = deployment.clock.now()
    for copy, key in zip(copies, keys, strict=True):
        report = verify_online(deployment.client, deployment.deps, present(copy, key, now=now))
        assert report.verdict == "valid", report.error
    revoked = deployment.client.post(f"/api/v1/credentials/{flow.created['id']}/revoke", json={"reason": "prueba"},
                                     headers={"Authorization": f"Bearer {deployment.keys['sena:officer']}"})
    assert revoked.status_code == 200, revoked.text
    for copy, key in zip(copies, keys, strict=True):
        assert verify_online(deployment.client, deployment.deps, present(copy, key, now=now)).verdict == "revoked"


def test_batch_proofs_that_must_be_refused(deployment: Deployment, wallet: Wallet) -> None:
    flow = ready(deployment, wallet)
    key, other = generate_key(), generate_key()

    def proof(signer: Any, nonce: str) -> str:
        return wallet.proof(aud=SENA, nonce=nonce, key=signer, header={"typ": "openid4vci-proof+jwt",
                                                                        "jwk": signer.public.jwk()})

    nonce = wallet.nonce(SENA)
    refused = {
        "same key twice": [proof(key, nonce), proof(key, nonce)],
        "two nonces": [proof(key, nonce), proof(other, wallet.nonce(SENA))],
        "eleven": [proof(generate_key(), nonce) for _ in range(11)],
        "one bad among good": [proof(key, nonce), proof(other, nonce)[:-4] + "AAAA"],
    }
    for name, proofs in refused.items():
        response = wallet.credential_response(SENA, flow.access, wallet.request_body(SKILLS, proofs))
        assert response.json().get("error") == "invalid_proof", name
        oauth_error(response, 400, "invalid_proof")
    # none of those consumed the nonce or the token: the right batch of ten goes through once
    ten = [proof(generate_key(), nonce) for _ in range(10)]
    response = wallet.credential_response(SENA, flow.access, wallet.request_body(SKILLS, ten))
    assert response.status_code == 200 and len(response.json()["credentials"]) == 10
    again = wallet.credential_response(SENA, flow.access, wallet.request_body(SKILLS, ten[:1]))
    assert again.status_code == 401

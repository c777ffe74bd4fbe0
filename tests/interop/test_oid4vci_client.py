"""The OWF OpenID4VCI client (oid4vc-ts) redeems Puente offers as a wallet built on it would: offer
resolution, issuer and authorization-server metadata, the pre-authorized code with the tx_code, a
nonce and proof JWTs. The credentials it receives verify in Puente's verifier."""

from __future__ import annotations

import pytest

from credcore.keys import public_key_from_jwk
from testkit.live import Live
from testkit.wallet import issuer_payload
from tests.interop.node import Node

pytestmark = pytest.mark.pair("oid4vci-client-redeems")


def test_owf_client_redeems_a_puente_offer(live: Live, node: Node) -> None:
    created = live.issue()
    answer = node("oid4vci.mjs", "redeem", {"offer": created["offer"]["offer_uri"],
                                            "txCode": created["offer"]["tx_code"], "keys": 1})
    assert answer["configuration"] == "skills-certification"
    [credential] = answer["credentials"]
    payload = issuer_payload(credential)
    holder = public_key_from_jwk({k: v for k, v in answer["holderJwks"][0].items() if k != "kid"})
    assert payload["cnf"]["jwk"]["x"] == holder.jwk()["x"]
    report = live.verifier_service().verify(credential, "en")
    # issued to the OWF client's own key: without its KB-JWT the verifier asks for one, nothing else fails
    assert report["error"]["code"] == "kb_missing"
    assert [c["name"] for c in report["checks"] if c["ok"]] == [
        "format", "issuer_trust", "signature", "accreditation", "validity", "disclosures", "claims"]
    # the offer is spent: a second redemption by the same client is refused by the issuer
    again = node("oid4vci.mjs", "redeem", {"offer": created["offer"]["offer_uri"],
                                           "txCode": created["offer"]["tx_code"], "keys": 1}, expect_ok=False)
    assert not again["ok"]


def test_owf_client_with_a_wrong_tx_code_gets_nothing(live: Live, node: Node) -> None:
    created = live.issue()
    wrong = "000000" if created["offer"]["tx_code"] != "000000" else "111111"
    answer = node("oid4vci.mjs", "redeem", {"offer": created["offer"]["offer_uri"], "txCode": wrong, "keys": 1},
                  expect_ok=False)
    assert not answer["ok"] and "invalid_grant" in answer["error"]


def test_owf_client_redeems_a_batch(live: Live, node: Node) -> None:
    """Three keys, three proofs with one c_nonce: three copies, each bound to its key, one status entry."""
    created = live.issue()
    answer = node("oid4vci.mjs", "redeem", {"offer": created["offer"]["offer_uri"],
                                            "txCode": created["offer"]["tx_code"], "keys": 3})
    assert answer["batchSize"] == 10 and len(answer["credentials"]) == 3
    payloads = [issuer_payload(c) for c in answer["credentials"]]
    assert [p["cnf"]["jwk"]["x"] for p in payloads] == [jwk["x"] for jwk in answer["holderJwks"]]
    assert len({p["status"]["status_list"]["idx"] for p in payloads}) == 1
    assert len({c.split("~")[1] for c in answer["credentials"]}) == 3  # fresh salts per copy
    for credential in answer["credentials"]:
        assert live.verifier_service().verify(credential, "en")["error"]["code"] == "kb_missing"

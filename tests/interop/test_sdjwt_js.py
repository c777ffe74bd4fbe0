"""OWF sd-jwt-js verifies what Puente issues: the wallet credential from a real OpenID4VCI redemption,
a presentation with its KB-JWT, and the status list the issuer serves — before and after revocation."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

import credcore.holder
from credcore.keys import SigningKey
from credcore.sdjwt import parse_compact
from testkit.live import Live
from testkit.wallet import issuer_payload
from testkit.world import example_claims
from tests.interop.node import Node

pytestmark = pytest.mark.pair("sdjwt-js-verifies-puente")


def present(sd_jwt: str, holder: SigningKey, *, now: int, aud: str, nonce: str,
            disclose: tuple[str, ...] = ("given_name", "family_name")) -> str:
    return credcore.holder.present(sd_jwt, holder, disclose_claims=disclose, aud=aud, nonce=nonce, iat=now)


def _issuer_jwk(live: Live, credential: str) -> dict[str, Any]:
    from credcore import jws

    kid = jws.parse(parse_compact(credential).issuer_jwt).header["kid"]
    metadata = live.http.get(f"{live.issuer_url}/.well-known/jwt-vc-issuer/i/sena").json()
    key: dict[str, Any] = next(k for k in metadata["jwks"]["keys"] if k["kid"] == kid)
    return key


def _status_lists(live: Live, credential: str) -> dict[str, str]:
    uri = issuer_payload(credential)["status"]["status_list"]["uri"]
    response = live.http.get(uri)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/statuslist+jwt")
    return {uri: response.text}


def test_sd_jwt_js_verifies_a_puente_credential_and_presentation_with_status(live: Live, node: Node) -> None:
    created = live.issue()
    wallet = live.wallet()
    credential = wallet.redeem(created)
    issuer_jwk = _issuer_jwk(live, credential)
    answer = node("sdjwt.mjs", "verify", {"credential": credential, "issuerJwk": issuer_jwk,
                                          "statusLists": _status_lists(live, credential)})
    assert answer["payload"]["iss"] == f"{live.issuer_url}/i/sena"
    expected = example_claims("skills-certification")
    assert {name: answer["claims"][name] for name in expected} == expected

    nonce = secrets.token_urlsafe(16)
    shown = present(credential, wallet.holder, now=int(time.time()), disclose=("given_name", "competency_title"),
                    aud="https://verifier.example", nonce=nonce)
    answer = node("sdjwt.mjs", "verify", {"credential": shown, "issuerJwk": issuer_jwk, "nonce": nonce,
                                          "statusLists": _status_lists(live, credential)})
    assert answer["kb"]["aud"] == "https://verifier.example" and answer["kb"]["nonce"] == nonce
    assert set(answer["claims"]) >= {"given_name", "competency_title"} and "family_name" not in answer["claims"]

    # the issuer revokes: the same presentation now fails in sd-jwt-js, through the list it reads
    live.change(created["id"], "revoke")
    refused = node("sdjwt.mjs", "verify", {"credential": shown, "issuerJwk": issuer_jwk, "nonce": nonce,
                                           "statusLists": _status_lists(live, credential)}, expect_ok=False)
    assert not refused["ok"] and "status" in refused["error"].lower()


def test_sd_jwt_js_refuses_a_tampered_puente_presentation(live: Live, node: Node) -> None:
    """The peer is a real verifier: a disclosure swapped for another credential's fails there too."""
    wallet = live.wallet()
    one, other = wallet.redeem(live.issue()), wallet.redeem(live.issue())
    nonce = secrets.token_urlsafe(16)
    shown = present(one, wallet.holder, now=int(time.time()), aud="https://verifier.example", nonce=nonce)
    foreign = other.split("~")[1]
    parts = shown.split("~")
    parts[1] = foreign
    refused = node("sdjwt.mjs", "verify", {"credential": "~".join(parts), "issuerJwk": _issuer_jwk(live, one),
                                           "nonce": nonce, "statusLists": _status_lists(live, one)}, expect_ok=False)
    assert not refused["ok"]

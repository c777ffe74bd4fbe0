"""A test wallet that redeems OpenID4VCI offers over HTTP the way a phone wallet does: scan the
offer URI, fetch the offer, exchange the pre-authorized code and tx_code for an access token, fetch
a c_nonce, prove possession of its key in an ``openid4vci-proof+jwt`` and receive the SD-JWT VC."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

import credcore.holder
from credcore import jws
from credcore.key_binding import OFFLINE_AUDIENCE
from credcore.keys import SigningKey, generate_key
from credcore.ports import MappingStatusSource, MemoryNonceStore
from credcore.sdjwt import parse_compact
from credcore.trust import verify_trust_list
from credcore.verify import VerificationReport, verification_report
from issuer.deps import Deps
from issuer.institutions import registry_key

PRE_AUTH_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYP = "openid4vci-proof+jwt"


def offer_url(offer_uri: str) -> str:
    """The https URL inside ``openid-credential-offer://?credential_offer_uri=…``."""
    parts = urlsplit(offer_uri)
    assert parts.scheme == "openid-credential-offer"
    query = parse_qs(parts.query, strict_parsing=True)
    assert set(query) == {"credential_offer_uri"} and len(query["credential_offer_uri"]) == 1
    return query["credential_offer_uri"][0]


class Wallet:
    """One holder key; each step is a separate call so tests can break the flow anywhere."""

    def __init__(self, client: TestClient, clock_now: Any, holder: SigningKey | None = None) -> None:
        self.client = client
        self.now = clock_now  # a callable returning the issuer's current time
        self.holder = holder or generate_key()

    def fetch_offer(self, offer_uri: str) -> dict[str, Any]:
        response = self.client.get(offer_url(offer_uri))
        assert response.status_code == 200, response.text
        offer: dict[str, Any] = response.json()
        return offer

    @staticmethod
    def pre_authorized_code(offer: dict[str, Any]) -> str:
        code: str = offer["grants"][PRE_AUTH_GRANT]["pre-authorized_code"]
        return code

    def token_response(self, issuer: str, code: str | None, tx_code: str | None,
                       **extra: str) -> httpx.Response:
        form = {"grant_type": PRE_AUTH_GRANT, **extra}
        if code is not None:
            form["pre-authorized_code"] = code
        if tx_code is not None:
            form["tx_code"] = tx_code
        return self.client.post(f"{issuer}/token", data=form)

    def token(self, issuer: str, code: str, tx_code: str) -> str:
        response = self.token_response(issuer, code, tx_code)
        assert response.status_code == 200, response.text
        access: str = response.json()["access_token"]
        return access

    def nonce(self, issuer: str) -> str:
        response = self.client.post(f"{issuer}/nonce")
        assert response.status_code == 200, response.text
        value: str = response.json()["c_nonce"]
        return value

    def proof(self, *, aud: str, nonce: str | None, iat: int | None = None, header: dict[str, Any] | None = None,
              key: SigningKey | None = None, include_kid: bool = False, **claims: Any) -> str:
        signer = key or self.holder
        payload: dict[str, Any] = {"aud": aud, "iat": self.now() if iat is None else iat, **claims}
        if nonce is not None:
            payload["nonce"] = nonce
        head = header if header is not None else {"typ": PROOF_TYP, "jwk": signer.public.jwk()}
        return jws.sign(payload, signer, head, include_kid=include_kid)

    def credential_response(self, issuer: str, access: str | None, body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {access}"} if access is not None else {}
        return self.client.post(f"{issuer}/credential", json=body, headers=headers)

    def request_body(self, configuration_id: str, proofs: list[str] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"credential_configuration_id": configuration_id}
        if proofs is not None:
            body["proofs"] = {"jwt": proofs}
        return body

    def redeem(self, created: dict[str, Any]) -> str:
        """The whole flow for a credential the staff API just issued; returns the SD-JWT VC."""
        offer = self.fetch_offer(created["offer"]["offer_uri"])
        issuer = offer["credential_issuer"]
        access = self.token(issuer, self.pre_authorized_code(offer), created["offer"]["tx_code"])
        proof = self.proof(aud=issuer, nonce=self.nonce(issuer))
        response = self.credential_response(issuer, access,
                                            self.request_body(offer["credential_configuration_ids"][0], [proof]))
        assert response.status_code == 200, response.text
        sd_jwt: str = response.json()["credentials"][0]["credential"]
        return sd_jwt


def issuer_payload(sd_jwt: str) -> dict[str, Any]:
    """The issuer-signed payload of an SD-JWT (not verified: tests verify with ``verify_online``)."""
    return jws.parse(parse_compact(sd_jwt).issuer_jwt).claims()


def present(sd_jwt: str, holder: SigningKey, *, now: int, disclose: tuple[str, ...] = ("given_name", "family_name"),
            aud: str = OFFLINE_AUDIENCE) -> str:
    """A presentation as the wallet makes one: chosen disclosures and a KB-JWT by ``holder``."""
    return credcore.holder.present(sd_jwt, holder, disclose_claims=disclose, aud=aud, iat=now)


def verify_online(client: TestClient, deps: Deps, text: str) -> VerificationReport:
    """Verify with credcore as a verifier would: the trust list from ``GET /trust-list`` checked
    against the pinned registry key, and the credential's status list fetched from its URI."""
    trust_token = client.get("/trust-list")
    assert trust_token.status_code == 200 and trust_token.headers["content-type"].startswith("application/jwt")
    with deps.session() as session:
        pinned = registry_key(session, deps).public
    trust = verify_trust_list(trust_token.text, pinned).trust_list
    uri = issuer_payload(text)["status"]["status_list"]["uri"]
    status = client.get(uri)
    assert status.status_code == 200, status.text
    return verification_report(text, trust=trust, types=deps.types, clock=deps.clock,
                               status_source=MappingStatusSource({uri: status.text}), nonce_store=MemoryNonceStore())

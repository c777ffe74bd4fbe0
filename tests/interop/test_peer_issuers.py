"""Puente verifies credentials that independent SD-JWT VC issuers made and their holders presented:
OWF sd-jwt-js and OWF sd-jwt-python, each signing with a thumbprint kid, an ordinary kid, no kid,
and an x5c chain to a CA — accredited with `accredit_external` on a live issuer and checked by the
verifier service through the registry-signed trust list it fetches over HTTP."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import pytest

from credcore.keys import SigningKey, generate_key, private_key_to_jwk
from credcore.x509_chain import der_b64
from issuer.institutions import accredit_external
from testkit.live import Live
from testkit.world import example_claims
from tests.interop.node import Node
from tests.x509_support import make_ca, make_leaf

VARIANTS = ("thumbprint-kid", "ordinary-kid", "no-kid", "x5c-chain")
SHOWN = ("given_name", "family_name", "competency_title")


class Peer:
    """An outside institution: its keys or CA accredited on the live issuer, its signing header."""

    def __init__(self, live: Live, peer: str, variant: str) -> None:
        self.issuer = f"https://{peer}-{variant}-{secrets.token_hex(3)}.example/emisor"
        self.header: dict[str, Any] = {}
        jwks: dict[str, Any] | None = None
        cas: list[bytes] = []
        if variant == "x5c-chain":
            root = make_ca(f"{peer} Root CA")
            issuing = make_ca(f"{peer} Issuing CA", root)
            self.key, leaf = make_leaf(issuing, uri=self.issuer)
            self.header["x5c"] = [der_b64(leaf), issuing.b64]
            cas = [root.pem]
        else:
            self.key = generate_key()
            public = self.key.public.jwk()
            if variant == "thumbprint-kid":
                jwks, self.header["kid"] = {"keys": [public]}, self.key.kid
            elif variant == "ordinary-kid":  # two keys with ordinary names; the second one signs
                other = generate_key().public.jwk()
                jwks = {"keys": [{**other, "kid": "key-1"}, {**public, "kid": "key-2", "use": "sig"}]}
                self.header["kid"] = "key-2"
            else:
                jwks = {"keys": [{k: v for k, v in public.items() if k != "kid"}]}
        with live.issuer_deps.session() as session:
            accredit_external(session, live.issuer_deps, issuer_id=self.issuer, name=f"{peer} ({variant})",
                              jwks=jwks, types=["skills-certification"], ca_pems=cas,
                              status_optional=["skills-certification"])
            session.commit()
        self.holder = generate_key()
        self.vct = f"{live.issuer_url}/vct/skills-certification"

    def payload(self) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.issuer, "vct": self.vct, "iat": now, "exp": now + 86_400 * 30,
                "cnf": {"jwk": {k: v for k, v in self.holder.public.jwk().items() if k != "kid"}},
                **example_claims("skills-certification")}


def _verify(live: Live, presentation: str) -> dict[str, Any]:
    report = live.verifier_service().verify(presentation, "en")
    assert report["verdict"] == "valid", json.dumps(report, ensure_ascii=False)[:2000]
    assert {c["name"]: c["code"] for c in report["checks"]}["status"] == "not_applicable"
    assert report["holder_binding"] == "verified"
    assert set(report["claims"]) == set(SHOWN)
    return report


def _sd_jwt_js(node: Node, peer: Peer, claims: dict[str, Any]) -> str:
    disclosable = sorted(example_claims("skills-certification"))
    issued = node("sdjwt.mjs", "issue", {"claims": claims, "disclosable": disclosable,
                                         "issuerPrivateJwk": private_key_to_jwk(peer.key), "header": peer.header})
    shown = node("sdjwt.mjs", "present", {"credential": issued["credential"], "disclose": list(SHOWN),
                                          "holderPrivateJwk": private_key_to_jwk(peer.holder),
                                          "aud": "urn:puente:offline", "nonce": secrets.token_urlsafe(16),
                                          "iat": int(time.time())})
    presentation: str = shown["presentation"]
    return presentation


def _sd_jwt_python(peer: Peer, claims: dict[str, Any]) -> str:
    from jwcrypto.jwk import JWK
    from sd_jwt.common import SDObj
    from sd_jwt.holder import SDJWTHolder
    from sd_jwt.issuer import SDJWTIssuer

    def jwcrypto_key(key: SigningKey) -> Any:
        return JWK(**{k: v for k, v in private_key_to_jwk(key).items() if k not in ("kid", "alg")})

    disclosable = set(example_claims("skills-certification"))
    user_claims = {(SDObj(name) if name in disclosable else name): value
                   for name, value in claims.items() if name != "cnf"}
    issuer = SDJWTIssuer(user_claims, jwcrypto_key(peer.key), holder_key=JWK(**claims["cnf"]["jwk"]),
                         sign_alg="ES256", add_decoy_claims=True,
                         extra_header_parameters={"typ": "dc+sd-jwt", **peer.header})
    holder = SDJWTHolder(issuer.sd_jwt_issuance)
    holder.create_presentation({name: True for name in SHOWN}, nonce=secrets.token_urlsafe(16),
                               aud="urn:puente:offline", holder_key=jwcrypto_key(peer.holder), sign_alg="ES256")
    presentation: str = holder.sd_jwt_presentation
    return presentation


@pytest.mark.pair("puente-verifies-sdjwt-js")
@pytest.mark.parametrize("variant", VARIANTS)
def test_puente_verifies_sd_jwt_js(live: Live, node: Node, variant: str) -> None:
    peer = Peer(live, "sd-jwt-js", variant)
    report = _verify(live, _sd_jwt_js(node, peer, peer.payload()))
    assert report["issuer"]["id"] == peer.issuer


@pytest.mark.pair("puente-verifies-sdjwt-python")
@pytest.mark.parametrize("variant", VARIANTS)
def test_puente_verifies_sd_jwt_python(live: Live, sd_jwt_python: Any, variant: str) -> None:
    peer = Peer(live, "sd-jwt-python", variant)
    report = _verify(live, _sd_jwt_python(peer, peer.payload()))
    assert report["issuer"]["id"] == peer.issuer


@pytest.mark.pair("puente-verifies-sdjwt-js")
def test_a_peer_credential_signed_by_an_unaccredited_key_is_refused(live: Live, node: Node) -> None:
    """The same peer path refuses what it must: a key the registry never accredited for that issuer."""
    peer = Peer(live, "sd-jwt-js", "ordinary-kid")
    peer.key = generate_key()  # a key the institution never published, under its kid
    report = live.verifier_service().verify(_sd_jwt_js(node, peer, peer.payload()), "en")
    assert report["verdict"] == "signature_invalid"

"""OpenID4VCI 1.0 (standards.md §4) over HTTP, as a wallet redeems an offer: the offer by
reference, issuer and authorization-server metadata, the pre-authorized code grant with a tx_code,
the nonce endpoint, an ``openid4vci-proof+jwt`` and the SD-JWT VC bound to the proven key; then
every way the flow must refuse (issue 3 tests; security.md D, I #118)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from credcore import jws
from credcore.encoding import b64url_encode
from credcore.keys import generate_key, private_key_to_jwk
from credcore.sdjwt import parse_compact
from issuer import oid4vci
from issuer.db.models import Offer
from testkit.wallet import PRE_AUTH_GRANT, PROOF_TYP, Wallet, issuer_payload, offer_url, present, verify_online
from tests.issuer.deployment import BASE, Deployment
from tests.issuer.support import SENA, SKILLS, oauth_error, ready

MIGRACION = f"{BASE}/i/migracion"
WALLET_ORIGIN = "http://127.0.0.1:8003"


def wrong(tx_code: str) -> str:
    return f"{(int(tx_code) + 1) % 1_000_000:06d}"


def compact(header: dict[str, Any], payload: dict[str, Any], signature: bytes) -> str:
    """A hand-made compact JWS, for headers credcore.jws.sign refuses to write."""
    head = b64url_encode(json.dumps(header).encode())
    body = b64url_encode(json.dumps(payload).encode())
    return f"{head}.{body}.{b64url_encode(signature) if signature else ''}"


# ----------------------------------------------------------------------------- the happy path


def test_wallet_redeems_an_offer_and_the_credential_verifies(deployment: Deployment, wallet: Wallet) -> None:
    client, deps = deployment.client, deployment.deps
    created = deployment.issue()
    url = offer_url(created["offer"]["offer_uri"])
    assert url.startswith(f"{SENA}/offers/")

    fetched = client.get(url)
    assert fetched.status_code == 200 and fetched.headers["cache-control"] == "no-store"
    offer = fetched.json()
    assert offer["credential_issuer"] == SENA
    assert offer["credential_configuration_ids"] == [SKILLS]
    grant = offer["grants"][PRE_AUTH_GRANT]
    assert grant["tx_code"]["input_mode"] == "numeric" and grant["tx_code"]["length"] == 6
    assert len(grant["tx_code"]["description"]) <= 300

    # Discovery: the wallet discards metadata whose credential_issuer is not the identifier it used.
    metadata = client.get("/.well-known/openid-credential-issuer/i/sena").json()
    assert metadata["credential_issuer"] == offer["credential_issuer"]
    assert metadata["credential_endpoint"] == f"{SENA}/credential"
    assert metadata["nonce_endpoint"] == f"{SENA}/nonce"
    configuration = metadata["credential_configurations_supported"][SKILLS]
    assert configuration["format"] == "dc+sd-jwt"
    assert configuration["vct"] == deps.types.get(SKILLS).vct
    assert "jwk" in configuration["cryptographic_binding_methods_supported"]
    assert "ES256" in configuration["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
    assert "ppt-status" not in metadata["credential_configurations_supported"]  # SENA is not accredited for it
    authorization_server = client.get("/.well-known/oauth-authorization-server/i/sena").json()
    assert authorization_server["issuer"] == SENA
    assert authorization_server["token_endpoint"] == f"{SENA}/token"
    assert PRE_AUTH_GRANT in authorization_server["grant_types_supported"]
    assert authorization_server["pre-authorized_grant_anonymous_access_supported"] is True

    token = wallet.token_response(SENA, grant["pre-authorized_code"], created["offer"]["tx_code"])
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
    assert token.json()["token_type"] == "Bearer" and 0 < token.json()["expires_in"] <= 300

    nonce = client.post(f"{SENA}/nonce")
    assert nonce.status_code == 200 and nonce.headers["cache-control"] == "no-store"
    proof = wallet.proof(aud=SENA, nonce=nonce.json()["c_nonce"])
    header = jws.parse(proof).header
    assert header == {"alg": "ES256", "typ": PROOF_TYP, "jwk": wallet.holder.public.jwk()}
    assert "d" not in header["jwk"] and "kid" not in header

    response = wallet.credential_response(SENA, token.json()["access_token"],
                                          wallet.request_body(SKILLS, [proof]))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    sd_jwt = response.json()["credentials"][0]["credential"]

    issuer_jwt = jws.parse(parse_compact(sd_jwt).issuer_jwt)
    assert issuer_jwt.header["typ"] == "dc+sd-jwt"
    jwks = client.get("/.well-known/jwt-vc-issuer/i/sena").json()
    assert jwks["issuer"] == SENA
    assert issuer_jwt.header["kid"] in {key["kid"] for key in jwks["jwks"]["keys"]}
    payload = issuer_payload(sd_jwt)
    holder_jwk = {k: v for k, v in wallet.holder.public.jwk().items() if k not in ("kid", "alg")}
    assert payload["cnf"] == {"jwk": holder_jwk}
    assert payload["iss"] == SENA and payload["vct"] == deps.types.get(SKILLS).vct
    staff_view = client.get(f"/api/v1/credentials/{created['id']}", headers=deployment.auth()).json()
    assert payload["status"]["status_list"] == staff_view["status_list"]
    assert staff_view["delivered"] is True

    shown = present(sd_jwt, wallet.holder, now=deployment.clock.now())
    report = verify_online(client, deps, shown)
    assert report.valid, report.as_json("en")
    assert report.credential is not None and report.credential.holder_binding == "verified"
    assert report.credential.claims == {"given_name": "José Gregorio", "family_name": "Pérez Rodríguez"}

    # The credential is bound: a presentation signed with any other key is refused.
    stolen = present(sd_jwt, generate_key(), now=deployment.clock.now())
    assert verify_online(client, deps, stolen).verdict == "key_binding_invalid"


def test_an_ed25519_holder_key_is_accepted(deployment: Deployment, wallet: Wallet) -> None:
    wallet.holder = generate_key("EdDSA")
    sd_jwt = wallet.redeem(deployment.issue())
    assert issuer_payload(sd_jwt)["cnf"]["jwk"]["crv"] == "Ed25519"
    assert verify_online(deployment.client, deployment.deps, present(sd_jwt, wallet.holder,
                                                                     now=deployment.clock.now())).valid


def test_a_redeemed_offer_is_closed(deployment: Deployment, wallet: Wallet) -> None:
    created = deployment.issue()
    wallet.redeem(created)
    assert deployment.client.get(offer_url(created["offer"]["offer_uri"])).status_code == 404


# ----------------------------------------------------------------------------- token endpoint


def test_wrong_tx_code_is_invalid_grant_and_the_right_one_still_works(deployment: Deployment,
                                                                      wallet: Wallet) -> None:
    created = deployment.issue()
    offer = wallet.fetch_offer(created["offer"]["offer_uri"])
    code, tx_code = wallet.pre_authorized_code(offer), created["offer"]["tx_code"]
    oauth_error(wallet.token_response(SENA, code, wrong(tx_code)), 400, "invalid_grant")
    oauth_error(wallet.token_response(SENA, code, "12345"), 400, "invalid_grant")
    assert wallet.token_response(SENA, code, tx_code).status_code == 200


def test_the_offer_dies_after_five_wrong_tx_codes(deployment: Deployment, wallet: Wallet) -> None:
    created = deployment.issue()
    tx_code = created["offer"]["tx_code"]
    for attempt in range(5):
        # A fresh pre-authorized code per attempt: the attempts count against the offer, not the code.
        offer = wallet.fetch_offer(created["offer"]["offer_uri"])
        response = wallet.token_response(SENA, wallet.pre_authorized_code(offer), wrong(tx_code))
        oauth_error(response, 400, "invalid_grant")
        assert ("closed" in response.json()["error_description"]) == (attempt == 4)
    oauth_error(wallet.token_response(SENA, wallet.pre_authorized_code(offer), tx_code), 400, "invalid_grant")
    assert deployment.client.get(offer_url(created["offer"]["offer_uri"])).status_code == 404
    audit = deployment.client.get("/api/v1/audit", headers=deployment.auth("sena:auditor")).json()["events"]
    outcomes = [e["outcome"] for e in audit if e["action"] == "offer.tx_code_wrong"]
    assert outcomes == ["refused"] * 4 + ["dead"]
    assert tx_code not in json.dumps(audit)


def test_a_pre_authorized_code_is_single_use(deployment: Deployment, wallet: Wallet) -> None:
    created = deployment.issue()
    offer = wallet.fetch_offer(created["offer"]["offer_uri"])
    code = wallet.pre_authorized_code(offer)
    assert wallet.token_response(SENA, code, created["offer"]["tx_code"]).status_code == 200
    oauth_error(wallet.token_response(SENA, code, created["offer"]["tx_code"]), 400, "invalid_grant")


def test_an_expired_pre_authorized_code_is_refused(deployment: Deployment, wallet: Wallet) -> None:
    created = deployment.issue()
    code = wallet.pre_authorized_code(wallet.fetch_offer(created["offer"]["offer_uri"]))
    deployment.clock.advance(deployment.deps.settings.pre_authorized_code_ttl_seconds + 1)
    oauth_error(wallet.token_response(SENA, code, created["offer"]["tx_code"]), 400, "invalid_grant")
    # The offer itself lives for weeks: fetching it again gives a fresh code.
    fresh = wallet.pre_authorized_code(wallet.fetch_offer(created["offer"]["offer_uri"]))
    assert wallet.token_response(SENA, fresh, created["offer"]["tx_code"]).status_code == 200


def test_token_request_shape_errors(deployment: Deployment, wallet: Wallet) -> None:
    created = deployment.issue()
    code = wallet.pre_authorized_code(wallet.fetch_offer(created["offer"]["offer_uri"]))
    oauth_error(wallet.token_response(SENA, code, None), 400, "invalid_request")  # the offer had a tx_code
    oauth_error(wallet.token_response(SENA, code, ""), 400, "invalid_request")
    oauth_error(wallet.token_response(SENA, None, created["offer"]["tx_code"]), 400, "invalid_request")
    unsupported = deployment.client.post(f"{SENA}/token", data={"grant_type": "authorization_code", "code": code})
    oauth_error(unsupported, 400, "unsupported_grant_type")
    as_json = deployment.client.post(f"{SENA}/token", json={"grant_type": PRE_AUTH_GRANT, "pre-authorized_code": code,
                                                            "tx_code": created["offer"]["tx_code"]})
    oauth_error(as_json, 400, "invalid_request")
    oauth_error(wallet.token_response(SENA, "x" * 5000, created["offer"]["tx_code"]), 400, "invalid_grant")
    # None of these used the code up.
    assert wallet.token_response(SENA, code, created["offer"]["tx_code"]).status_code == 200


def test_codes_of_one_institution_mean_nothing_to_another(deployment: Deployment, wallet: Wallet) -> None:
    created = deployment.issue()
    offer_id = offer_url(created["offer"]["offer_uri"]).rsplit("/", 1)[1]
    assert deployment.client.get(f"{MIGRACION}/offers/{offer_id}").status_code == 404
    code = wallet.pre_authorized_code(wallet.fetch_offer(created["offer"]["offer_uri"]))
    oauth_error(wallet.token_response(MIGRACION, code, created["offer"]["tx_code"]), 400, "invalid_grant")
    access = wallet.token(SENA, code, created["offer"]["tx_code"])
    proof = wallet.proof(aud=MIGRACION, nonce=wallet.nonce(MIGRACION))
    oauth_error(wallet.credential_response(MIGRACION, access, wallet.request_body(SKILLS, [proof])),
                401, "invalid_token")
    nonce_elsewhere = wallet.nonce(MIGRACION)
    oauth_error(wallet.credential_response(SENA, access, wallet.request_body(
        SKILLS, [wallet.proof(aud=SENA, nonce=nonce_elsewhere)])), 400, "invalid_nonce")


def test_an_unknown_offer_is_404(deployment: Deployment) -> None:
    assert deployment.client.get(f"{SENA}/offers/nope").status_code == 404
    assert deployment.client.get(f"{BASE}/i/nobody/offers/nope").status_code == 404


# ----------------------------------------------------------------------------- credential endpoint


def test_the_access_token_is_single_use(deployment: Deployment, wallet: Wallet) -> None:
    flow = ready(deployment, wallet)
    body = wallet.request_body(SKILLS, [wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))])
    assert wallet.credential_response(SENA, flow.access, body).status_code == 200
    again = wallet.request_body(SKILLS, [wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))])
    response = wallet.credential_response(SENA, flow.access, again)
    oauth_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_access_token_expires(deployment: Deployment, wallet: Wallet) -> None:
    flow = ready(deployment, wallet)
    deployment.clock.advance(deployment.deps.settings.access_token_ttl_seconds + 1)
    body = wallet.request_body(SKILLS, [wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))])
    oauth_error(wallet.credential_response(SENA, flow.access, body), 401, "invalid_token")


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Bearer not-a-token", "Basic dXNlcjpwdw==",
                                           "bearer-ish token"])
def test_missing_or_invalid_bearer_is_invalid_token(deployment: Deployment, wallet: Wallet,
                                                   authorization: str | None) -> None:
    ready(deployment, wallet)
    body = wallet.request_body(SKILLS, [wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))])
    headers = {} if authorization is None else {"Authorization": authorization}
    response = deployment.client.post(f"{SENA}/credential", json=body, headers=headers)
    oauth_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_stale_c_nonce_is_invalid_nonce(deployment: Deployment, wallet: Wallet) -> None:
    created = deployment.issue()
    offer = wallet.fetch_offer(created["offer"]["offer_uri"])
    stale = wallet.nonce(SENA)
    deployment.clock.advance(deployment.deps.settings.c_nonce_ttl_seconds + 1)
    access = wallet.token(SENA, wallet.pre_authorized_code(offer), created["offer"]["tx_code"])
    response = wallet.credential_response(SENA, access, wallet.request_body(
        SKILLS, [wallet.proof(aud=SENA, nonce=stale)]))
    oauth_error(response, 400, "invalid_nonce")
    # The wallet fetches a new nonce and retries with the same access token.
    retry = wallet.request_body(SKILLS, [wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))])
    assert wallet.credential_response(SENA, access, retry).status_code == 200


def test_a_used_c_nonce_is_invalid_nonce(deployment: Deployment, wallet: Wallet) -> None:
    first, second = ready(deployment, wallet), ready(deployment, wallet)
    nonce = wallet.nonce(SENA)
    proof = wallet.proof(aud=SENA, nonce=nonce)
    assert wallet.credential_response(SENA, first.access, wallet.request_body(SKILLS, [proof])).status_code == 200
    replay = wallet.credential_response(SENA, second.access, wallet.request_body(SKILLS, [proof]))
    oauth_error(replay, 400, "invalid_nonce")
    fresh_proof_same_nonce = wallet.proof(aud=SENA, nonce=nonce)
    oauth_error(wallet.credential_response(SENA, second.access, wallet.request_body(SKILLS, [fresh_proof_same_nonce])),
                400, "invalid_nonce")


def test_an_unknown_c_nonce_is_invalid_nonce(deployment: Deployment, wallet: Wallet) -> None:
    flow = ready(deployment, wallet)
    for nonce in ("made-up-nonce", "", "x" * 300):
        body = wallet.request_body(SKILLS, [wallet.proof(aud=SENA, nonce=nonce)])
        oauth_error(wallet.credential_response(SENA, flow.access, body), 400, "invalid_nonce")


def test_a_proof_without_a_nonce_is_invalid_proof(deployment: Deployment, wallet: Wallet) -> None:
    """OpenID4VCI 1.0 §8.3.1.2: a key proof that does not contain a c_nonce is ``invalid_proof``;
    ``invalid_nonce`` is for a c_nonce that is there but not valid (fetch a new one)."""
    flow = ready(deployment, wallet)
    body = wallet.request_body(SKILLS, [wallet.proof(aud=SENA, nonce=None)])
    oauth_error(wallet.credential_response(SENA, flow.access, body), 400, "invalid_proof")


@pytest.mark.parametrize("aud", [MIGRACION, BASE, f"{SENA}/", "https://evil.example/i/sena", [SENA], None])
def test_a_proof_for_another_audience_is_refused(deployment: Deployment, wallet: Wallet, aud: Any) -> None:
    flow = ready(deployment, wallet)
    body = wallet.request_body(SKILLS, [wallet.proof(aud=aud, nonce=wallet.nonce(SENA))])
    oauth_error(wallet.credential_response(SENA, flow.access, body), 400, "invalid_proof")


def test_proofs_missing_empty_or_too_many(deployment: Deployment, wallet: Wallet) -> None:
    flow = ready(deployment, wallet)
    one = wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))
    two = wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))
    bodies: list[Any] = [
        wallet.request_body(SKILLS, None),
        wallet.request_body(SKILLS, []),
        wallet.request_body(SKILLS, [one, two]),
        {"credential_configuration_id": SKILLS, "proofs": {"jwt": [one], "attestation": [one]}},
        {"credential_configuration_id": SKILLS, "proofs": {"di_vp": [one]}},
        {"credential_configuration_id": SKILLS, "proofs": {"jwt": one}},
        {"credential_configuration_id": SKILLS, "proofs": {"jwt": [{"jwt": one}]}},
        {"credential_configuration_id": SKILLS, "proof": {"proof_type": "jwt", "jwt": one}},
    ]
    for body in bodies:
        oauth_error(wallet.credential_response(SENA, flow.access, body), 400, "invalid_proof")
    # Nothing was consumed by the refusals.
    assert wallet.credential_response(SENA, flow.access, wallet.request_body(SKILLS, [one])).status_code == 200


def test_a_proof_carrying_a_private_key_is_refused(deployment: Deployment, wallet: Wallet) -> None:
    flow = ready(deployment, wallet)
    header = {"typ": PROOF_TYP, "jwk": private_key_to_jwk(wallet.holder)}
    assert "d" in header["jwk"]
    proof = wallet.proof(aud=SENA, nonce=wallet.nonce(SENA), header=header)
    response = wallet.credential_response(SENA, flow.access, wallet.request_body(SKILLS, [proof]))
    oauth_error(response, 400, "invalid_proof")
    assert header["jwk"]["d"] not in response.text


def test_the_proof_key_must_be_an_embedded_jwk(deployment: Deployment, wallet: Wallet) -> None:
    flow = ready(deployment, wallet)
    jwk = wallet.holder.public.jwk()
    headers: list[tuple[dict[str, Any], bool]] = [
        ({"typ": PROOF_TYP}, True),  # kid only
        ({"typ": PROOF_TYP, "jwk": jwk}, True),  # kid and jwk
        ({"typ": PROOF_TYP, "x5c": ["MIIB"], "jwk": jwk}, False),
        ({"typ": PROOF_TYP, "trust_chain": ["e30.e30.e30"], "jwk": jwk}, False),
        ({"typ": PROOF_TYP}, False),  # no key at all
        ({"typ": PROOF_TYP, "jwk": "not-an-object"}, False),
        ({"typ": PROOF_TYP, "jwk": {"kty": "oct", "k": "c2VjcmV0"}}, False),
    ]
    for header, include_kid in headers:
        proof = wallet.proof(aud=SENA, nonce=wallet.nonce(SENA), header=header, include_kid=include_kid)
        oauth_error(wallet.credential_response(SENA, flow.access, wallet.request_body(SKILLS, [proof])),
                    400, "invalid_proof")


@pytest.mark.parametrize("typ", ["JWT", "jwt", "kb+jwt", "dc+sd-jwt", "statuslist+jwt", "openid4vci-proof+JWT", None])
def test_the_proof_typ_must_be_openid4vci_proof_jwt(deployment: Deployment, wallet: Wallet, typ: Any) -> None:
    flow = ready(deployment, wallet)
    header = {"jwk": wallet.holder.public.jwk()} | ({} if typ is None else {"typ": typ})
    proof = wallet.proof(aud=SENA, nonce=wallet.nonce(SENA), header=header)
    oauth_error(wallet.credential_response(SENA, flow.access, wallet.request_body(SKILLS, [proof])),
                400, "invalid_proof")


def test_proof_alg_none_and_hs256_are_refused(deployment: Deployment, wallet: Wallet) -> None:
    flow = ready(deployment, wallet)
    jwk = wallet.holder.public.jwk()
    payload = {"aud": SENA, "iat": deployment.clock.now(), "nonce": wallet.nonce(SENA)}
    unsigned = compact({"alg": "none", "typ": PROOF_TYP, "jwk": jwk}, payload, b"")
    head = b64url_encode(json.dumps({"alg": "HS256", "typ": PROOF_TYP, "jwk": jwk}).encode())
    signing_input = f"{head}.{b64url_encode(json.dumps(payload).encode())}"
    # HS256 keyed with the public key's text: the classic algorithm-confusion forgery.
    mac = hmac.new(json.dumps(jwk).encode(), signing_input.encode(), hashlib.sha256).digest()
    hs256 = f"{signing_input}.{b64url_encode(mac)}"
    other = generate_key()
    wrong_signer = wallet.proof(aud=SENA, nonce=payload["nonce"], key=other,
                                header={"typ": PROOF_TYP, "jwk": jwk})  # header names the holder, other signs
    for proof in (unsigned, unsigned + "x", hs256, wrong_signer):
        oauth_error(wallet.credential_response(SENA, flow.access, wallet.request_body(SKILLS, [proof])),
                    400, "invalid_proof")


@pytest.mark.parametrize("offset", [-301, -3600, 301])
def test_a_proof_outside_the_iat_window_is_refused(deployment: Deployment, wallet: Wallet, offset: int) -> None:
    flow = ready(deployment, wallet)
    proof = wallet.proof(aud=SENA, nonce=wallet.nonce(SENA), iat=deployment.clock.now() + offset)
    oauth_error(wallet.credential_response(SENA, flow.access, wallet.request_body(SKILLS, [proof])),
                400, "invalid_proof")


@pytest.mark.parametrize("iat", ["now", 1.5, True, None])
def test_a_proof_iat_must_be_an_integer(deployment: Deployment, wallet: Wallet, iat: Any) -> None:
    flow = ready(deployment, wallet)
    signer = wallet.holder
    payload = {"aud": SENA, "nonce": wallet.nonce(SENA)} | ({} if iat is None else {"iat": iat})
    proof = jws.sign(payload, signer, {"typ": PROOF_TYP, "jwk": signer.public.jwk()}, include_kid=False)
    oauth_error(wallet.credential_response(SENA, flow.access, wallet.request_body(SKILLS, [proof])),
                400, "invalid_proof")


def test_a_request_for_another_configuration_is_refused(deployment: Deployment, wallet: Wallet) -> None:
    flow = ready(deployment, wallet)
    for configuration in ("qualification-validation", "ppt-status", "nope", None):
        proof = wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))
        body = {"proofs": {"jwt": [proof]}} | ({} if configuration is None else
                                               {"credential_configuration_id": configuration})
        oauth_error(wallet.credential_response(SENA, flow.access, body), 400, "unknown_credential_configuration")


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'"text"', b"null", b"\xff\xfe"])
def test_a_credential_request_that_is_not_a_json_object(deployment: Deployment, wallet: Wallet, raw: bytes) -> None:
    flow = ready(deployment, wallet)
    response = deployment.client.post(f"{SENA}/credential", content=raw,
                                      headers={"Authorization": f"Bearer {flow.access}",
                                               "Content-Type": "application/json"})
    oauth_error(response, 400, "invalid_credential_request")


def test_the_offer_of_a_revoked_credential_is_dead(deployment: Deployment, wallet: Wallet) -> None:
    staff = deployment.auth()
    created = deployment.issue()
    revoked = deployment.client.post(f"/api/v1/credentials/{created['id']}/revoke", json={"reason": "error"},
                                     headers=staff)
    assert revoked.status_code == 200
    response = deployment.client.get(offer_url(created["offer"]["offer_uri"]))
    assert response.status_code == 404 and response.json()["error"] == "invalid_request"

    # Revoked between the token and the credential request: the wallet is denied.
    flow = ready(deployment, wallet)
    deployment.client.post(f"/api/v1/credentials/{flow.created['id']}/revoke", json={"reason": "error"},
                           headers=staff)
    body = wallet.request_body(SKILLS, [wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))])
    oauth_error(wallet.credential_response(SENA, flow.access, body), 400, "credential_request_denied")


def test_a_suspended_credential_is_not_delivered_until_reinstated(deployment: Deployment, wallet: Wallet) -> None:
    staff = deployment.auth()
    flow = ready(deployment, wallet)
    path = f"/api/v1/credentials/{flow.created['id']}"
    assert deployment.client.post(f"{path}/suspend", json={"reason": "review"}, headers=staff).status_code == 200
    assert deployment.client.get(offer_url(flow.created["offer"]["offer_uri"])).status_code == 404
    body = wallet.request_body(SKILLS, [wallet.proof(aud=SENA, nonce=wallet.nonce(SENA))])
    oauth_error(wallet.credential_response(SENA, flow.access, body), 400, "credential_request_denied")
    assert deployment.client.post(f"{path}/reinstate", json={"reason": "ok"}, headers=staff).status_code == 200
    assert wallet.redeem(flow.created)


# ----------------------------------------------------------------------------- concurrency


def _gate(monkeypatch: pytest.MonkeyPatch, kind: str, parties: int) -> None:
    """Hold every request that has just read a one-time code of ``kind`` until ``parties`` of them
    have, so concurrent requests all see it unused before any of them writes."""
    barrier = threading.Barrier(parties, timeout=20)
    take = oid4vci._take_code

    def gated(*args: Any, **kwargs: Any) -> Any:
        row = take(*args, **kwargs)
        if kwargs.get("kind") == kind:
            barrier.wait()
        return row

    monkeypatch.setattr(oid4vci, "_take_code", gated)


def _together(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    results: list[httpx.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def test_concurrent_token_requests_redeem_a_code_once(deployment: Deployment, wallet: Wallet,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    created = deployment.issue()
    code = wallet.pre_authorized_code(wallet.fetch_offer(created["offer"]["offer_uri"]))
    _gate(monkeypatch, "pre_auth", 2)
    responses = _together([lambda: wallet.token_response(SENA, code, created["offer"]["tx_code"])] * 2)
    assert sorted(r.status_code for r in responses) == [200, 400]


def test_concurrent_credential_requests_deliver_once(deployment: Deployment, wallet: Wallet,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    flow = ready(deployment, wallet)
    # Two holder keys racing with one access token: at most one credential may come out.
    bodies = [wallet.request_body(SKILLS, [wallet.proof(aud=SENA, nonce=wallet.nonce(SENA), key=key)])
              for key in (wallet.holder, generate_key())]
    _gate(monkeypatch, "access", 2)
    responses = _together([lambda b=body: wallet.credential_response(SENA, flow.access, b) for body in bodies])
    assert sorted(r.status_code for r in responses) == [200, 401]


def test_concurrent_wrong_tx_codes_are_all_counted(deployment: Deployment, wallet: Wallet,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    created = deployment.issue()
    tx_code = created["offer"]["tx_code"]
    code = wallet.pre_authorized_code(wallet.fetch_offer(created["offer"]["offer_uri"]))
    guesses = [f"{(int(tx_code) + n) % 1_000_000:06d}" for n in range(1, 9)]
    _gate(monkeypatch, "pre_auth", len(guesses))
    responses = _together([lambda g=g: wallet.token_response(SENA, code, g) for g in guesses])
    assert all(r.status_code == 400 for r in responses)
    monkeypatch.undo()
    with deployment.deps.session() as session:
        offer = session.get(Offer, offer_url(created["offer"]["offer_uri"]).rsplit("/", 1)[1])
        assert offer is not None and offer.state == "dead" and offer.failed_attempts >= 5
    oauth_error(wallet.token_response(SENA, code, tx_code), 400, "invalid_grant")


# ----------------------------------------------------------------------------- CORS


@pytest.mark.parametrize("path", ["/i/sena/token", "/i/sena/nonce", "/i/sena/credential", "/i/sena/offers/x",
                                  "/.well-known/openid-credential-issuer/i/sena"])
def test_cors_allows_the_wallet_origin_only(deployment: Deployment, path: str) -> None:
    assert deployment.deps.settings.wallet_origin == WALLET_ORIGIN
    request_headers = {"Access-Control-Request-Method": "POST",
                       "Access-Control-Request-Headers": "authorization, content-type"}
    allowed = deployment.client.options(path, headers={"Origin": WALLET_ORIGIN, **request_headers})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == WALLET_ORIGIN
    assert "access-control-allow-credentials" not in allowed.headers
    for origin in ("https://evil.example", "http://127.0.0.1:8003.evil.example", "null", "http://127.0.0.1:8004"):
        refused = deployment.client.options(path, headers={"Origin": origin, **request_headers})
        assert refused.status_code >= 400
        assert "access-control-allow-origin" not in refused.headers
        simple = deployment.client.get(path, headers={"Origin": origin})
        assert "access-control-allow-origin" not in simple.headers

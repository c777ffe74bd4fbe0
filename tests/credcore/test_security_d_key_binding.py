"""security.md group D — key binding and replay (#41–#54), one test per case.

Skipped (no credential-core aspect):
- #50 browser verifier session fixation (result released only to the initiating browser session
  with a fresh ``response_code``): OpenID4VP session handling in the verifier service.
- #52 credential-offer QR and ``tx_code`` attempt limits: OpenID4VCI token endpoint (issuer service).
- #53 replayed key-proof JWT at the credential endpoint (stale ``c_nonce``): issuer service.
- #54 phishing offers for untrusted issuers: wallet offer handling.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from credcore import qr
from credcore.encoding import b64url_encode
from credcore.key_binding import OFFLINE_AUDIENCE, KeyBindingPolicy
from credcore.keys import generate_key
from credcore.verify import VerificationPolicy
from testkit.world import REFERENCE_DISCLOSED, World
from tests.credcore.hostile import (
    assert_rejected,
    assert_valid,
    kb_claims,
    kb_header,
    payload_of,
    present,
    sign_credential,
    texts,
    with_kb,
)

ONLINE_AUD = "https://verifier.example/api/v1"
STRICT = VerificationPolicy(key_binding=KeyBindingPolicy(audience=ONLINE_AUD, nonce="n-0S6_WzA2Mj"),
                            require_holder_binding=True)


def _presented(world: World) -> str:
    issued = world.issue()
    return present(world, issued.parts.issuer_jwt, texts(issued, REFERENCE_DISCLOSED), kb=False)


# ----------------------------------------------------------------------------- #41


@pytest.mark.parametrize("policy", [VerificationPolicy(), STRICT], ids=["offline", "require-binding"])
def test_case_041_kb_jwt_stripped(world: World, policy: VerificationPolicy) -> None:
    """The credential's cnf decides that binding is needed, not the presence of a KB-JWT."""
    stripped = world.present(world.issue(), kb=False)
    assert stripped.endswith("~")
    assert_rejected(world.verify(stripped, policy=policy), "key_binding_invalid", "kb_missing")


def test_case_041_paper_credential_where_binding_is_required(world: World) -> None:
    paper = world.issue(paper=True).sd_jwt
    assert_rejected(world.verify(paper, policy=STRICT), "key_binding_invalid", "kb_missing")


def test_case_041_kb_jwt_on_a_credential_without_cnf(world: World) -> None:
    paper = world.issue(paper=True).sd_jwt
    assert_rejected(world.verify(with_kb(world, paper)), "key_binding_invalid", "kb_unexpected")


# ----------------------------------------------------------------------------- #42


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_case_042_kb_jwt_signed_by_another_key(world: World, alg: str) -> None:
    text = world.present(world.issue(), holder=generate_key(alg))
    assert_rejected(world.verify(text), "key_binding_invalid", "kb_invalid")


# ----------------------------------------------------------------------------- #43


def test_case_043_nonce_of_another_session(world: World) -> None:
    text = world.present(world.issue(), aud=ONLINE_AUD, nonce="another-session-nonce")
    assert_rejected(world.verify(text, policy=STRICT), "key_binding_invalid", "replayed")


def test_case_043_nonce_already_consumed(world: World) -> None:
    issued = world.issue()
    first = world.present(issued, nonce="reused-nonce-123")
    second = world.present(issued, disclose=("given_name",), nonce="reused-nonce-123")
    assert first != second
    assert_valid(world.verify(first))
    assert_rejected(world.verify(second), "key_binding_invalid", "replayed")


@pytest.mark.parametrize("nonce", [None, "", 42, ["n"], "n" * 129], ids=["absent", "empty", "number", "array",
                                                                       "too-long"])
def test_case_043_nonce_missing_or_invalid(world: World, nonce: Any) -> None:
    presented = _presented(world)
    claims = kb_claims(world, presented)
    if nonce is None:
        del claims["nonce"]
    else:
        claims["nonce"] = nonce
    assert_rejected(world.verify(with_kb(world, presented, claims=claims)), "key_binding_invalid", "kb_invalid")


# ----------------------------------------------------------------------------- #44


@pytest.mark.parametrize("aud", [
    "https://other-verifier.example", [OFFLINE_AUDIENCE, "https://other-verifier.example"], [OFFLINE_AUDIENCE],
    None, "", OFFLINE_AUDIENCE.upper(), OFFLINE_AUDIENCE + "/",
], ids=["other", "array-with-us", "array-of-us", "absent", "empty", "case", "trailing-slash"])
def test_case_044_kb_jwt_audience(world: World, aud: Any) -> None:
    presented = _presented(world)
    claims = kb_claims(world, presented)
    if aud is None:
        del claims["aud"]
    else:
        claims["aud"] = aud
    assert_rejected(world.verify(with_kb(world, presented, claims=claims)), "key_binding_invalid", "kb_audience")


# ----------------------------------------------------------------------------- #45


def _sd_hash(text: str, algorithm: str = "sha256") -> str:
    return b64url_encode(hashlib.new(algorithm, text.encode("ascii")).digest())


@pytest.mark.parametrize("change", ["added", "removed", "reordered"])
def test_case_045_disclosures_changed_after_signing(world: World, change: str) -> None:
    issued = world.issue()
    signed = texts(issued, REFERENCE_DISCLOSED)
    kb_jwt = world.present(issued).rsplit("~", 1)[1]
    if change == "added":
        shown = [*signed, texts(issued, ["level"])[0]]
    elif change == "removed":
        shown = signed[:-1]
    else:
        shown = list(reversed(signed))
    text = present(world, issued.parts.issuer_jwt, shown, kb=False) + kb_jwt
    assert_rejected(world.verify(text), "key_binding_invalid", "kb_sd_hash")


@pytest.mark.parametrize("variant", ["absent", "without-final-tilde", "issuer-jwt-only", "sha-384",
                                     "hex-digest", "number"])
def test_case_045_sd_hash_wrong(world: World, variant: str) -> None:
    presented = _presented(world)
    value: Any = {
        "absent": None,
        "without-final-tilde": _sd_hash(presented[:-1]),
        "issuer-jwt-only": _sd_hash(presented.split("~")[0]),
        "sha-384": _sd_hash(presented, "sha384"),
        "hex-digest": hashlib.sha256(presented.encode()).hexdigest(),
        "number": 1,
    }[variant]
    claims = kb_claims(world, presented, sd_hash=value)
    assert_rejected(world.verify(with_kb(world, presented, claims=claims)), "key_binding_invalid", "kb_sd_hash")


# ----------------------------------------------------------------------------- #46


@pytest.mark.parametrize(("iat_offset", "code"), [
    (-365 * 86_400, "kb_expired"),
    (-(300 + 60) - 1, "kb_expired"),
    (60 + 1, "iat_invalid"),
    (86_400, "iat_invalid"),
], ids=["one-year-old", "max-age-plus-leeway-plus-1s", "leeway-plus-1s-ahead", "one-day-ahead"])
def test_case_046_kb_jwt_iat_out_of_window(world: World, iat_offset: int, code: str) -> None:
    text = world.present(world.issue(), iat=world.clock.now() + iat_offset)
    assert_rejected(world.verify(text), "key_binding_invalid", code)


@pytest.mark.parametrize("iat_offset", [-(300 + 60), 60], ids=["oldest-accepted", "newest-accepted"])
def test_case_046_kb_jwt_iat_window_edges(world: World, iat_offset: int) -> None:
    assert_valid(world.verify(world.present(world.issue(), iat=world.clock.now() + iat_offset)))


@pytest.mark.parametrize("iat", [None, "1795000000", 1_795_000_000.5, True], ids=["absent", "string", "float", "bool"])
def test_case_046_kb_jwt_iat_missing_or_not_an_integer(world: World, iat: Any) -> None:
    presented = _presented(world)
    claims = kb_claims(world, presented)
    if iat is None:
        del claims["iat"]
    else:
        claims["iat"] = iat
    assert_rejected(world.verify(with_kb(world, presented, claims=claims)), "key_binding_invalid", "kb_invalid")


# ----------------------------------------------------------------------------- #47


@pytest.mark.parametrize("header", [
    {"typ": None}, {"typ": "JWT"}, {"typ": "dc+sd-jwt"}, {"typ": "KB+JWT"}, {"typ": "application/kb+jwt"},
    {"alg": "none"}, {"alg": "HS256"},
], ids=["no-typ", "JWT", "dc+sd-jwt", "uppercase", "media-type", "alg-none", "alg-HS256"])
def test_case_047_kb_jwt_header(world: World, header: dict[str, Any]) -> None:
    presented = _presented(world)
    text = with_kb(world, presented, header=kb_header(world.holder, **header))
    assert_rejected(world.verify(text), "key_binding_invalid", "kb_invalid")


# ----------------------------------------------------------------------------- #48


REMOTE = "https://attacker.example/holder-key"


@pytest.mark.parametrize("cnf", ["jku", "x5u", "kid-url", "jwk-and-jku", "jwk-with-url-kid", "jwk-private"])
def test_case_048_cnf_remote_key_reference(world: World, no_network: list[Any], cnf: str) -> None:
    issued = world.issue()
    payload = payload_of(issued)
    jwk = payload["cnf"]["jwk"]
    payload["cnf"] = {
        "jku": {"jku": REMOTE},
        "x5u": {"x5u": REMOTE},
        "kid-url": {"kid": REMOTE},
        "jwk-and-jku": {"jwk": jwk, "jku": REMOTE},
        "jwk-with-url-kid": {"jwk": {**jwk, "kid": REMOTE}},
        "jwk-private": {"jwk": {**jwk, "d": b64url_encode(b"\x01" * 32)}},
    }[cnf]
    text = present(world, sign_credential(payload, world.sena), texts(issued, REFERENCE_DISCLOSED))
    assert_rejected(world.verify(text), "key_binding_invalid", "cnf_invalid")


# ----------------------------------------------------------------------------- #49


def test_case_049_same_presentation_twice(world: World) -> None:
    text = world.present(world.issue())
    assert_valid(world.verify(text))
    assert_rejected(world.verify(text), "key_binding_invalid", "replayed")


def test_case_049_same_online_response_twice(world: World) -> None:
    assert STRICT.key_binding.nonce is not None
    text = world.present(world.issue(), aud=ONLINE_AUD, nonce=STRICT.key_binding.nonce)
    assert_valid(world.verify(text, policy=STRICT))
    assert_rejected(world.verify(text, policy=STRICT), "key_binding_invalid", "replayed")


# ----------------------------------------------------------------------------- #51


def test_case_051_paper_qr_is_a_bearer_credential(world: World) -> None:
    """Accepted by design, and reported as not holder-bound so the verifier checks ID in person."""
    code = qr.encode(world.issue(paper=True).sd_jwt)
    for _ in range(2):  # a photocopy or screenshot verifies just the same
        report = world.verify(code)
        assert_valid(report)
        assert report.as_json()["holder_binding"] == "absent"
    assert_rejected(world.verify(code, policy=STRICT), "key_binding_invalid", "kb_missing")


def test_case_051_wallet_credential_reports_binding(world: World) -> None:
    report = world.verify(world.present(world.issue()))
    assert_valid(report)
    assert report.as_json()["holder_binding"] == "verified"

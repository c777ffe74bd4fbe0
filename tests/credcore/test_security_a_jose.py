"""security.md group A — JOSE header attacks (#1–#16), one test per case, inputs built by hand.

Every case of the group has a core aspect; none is skipped. Where a case names a token other
than the credential (KB-JWT, status-list token), the same attack is run there too.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from credcore import qr
from credcore.encoding import b64url_encode, dumps_compact
from credcore.issue import IssuedCredential
from credcore.keys import SigningKey, generate_key
from credcore.ports import MappingStatusSource
from credcore.status_list import StatusList
from credcore.trust import sign_trust_list
from credcore.verify import VerificationPolicy
from testkit.world import REFERENCE_DISCLOSED, World
from tests.credcore.hostile import (
    assert_rejected,
    assert_valid,
    certificate,
    forge_jws,
    header_for,
    hs256,
    jwe_ecdh_es,
    kb_claims,
    kb_header,
    present,
    raw_deflate,
    raw_signature,
    segment,
    sign_credential,
    status_claims,
    status_token,
    texts,
    with_kb,
    x5c,
)

NONE_SPELLINGS = ["none", "None", "noNE", "NONE"]
URLS = ["https://attacker.example/jwks.json", "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8000/admin"]


def _presented(world: World, issued: IssuedCredential) -> str:
    """The genuine disclosures of the reference presentation, without a KB-JWT."""
    return present(world, issued.parts.issuer_jwt, texts(issued, REFERENCE_DISCLOSED), kb=False)


def _with_status_token(world: World, token: str) -> Any:
    """Verify a genuine presentation while SENA's list 1 is served as ``token``."""
    return world.verify(world.present(world.issue()),
                        status_source=MappingStatusSource({world.sena.status_uri(): token}))


def _verify_forged(world: World, issued: IssuedCredential, issuer_jwt: str) -> Any:
    return world.verify(present(world, issuer_jwt, texts(issued, REFERENCE_DISCLOSED)))


@pytest.fixture(params=["ES256", "EdDSA"])
def any_alg_world(request: pytest.FixtureRequest) -> World:
    world = World()
    world.sena.key = generate_key(request.param)
    return world


# ----------------------------------------------------------------------------- #1


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
@pytest.mark.parametrize("signature", ["garbage", "genuine"])
def test_case_001_alg_none_variants(world: World, alg: str, signature: str) -> None:
    issued = world.issue()
    forged = os.urandom(64) if signature == "garbage" else None
    token = forge_jws(header_for(world.sena, alg=alg), issued.payload, world.sena.key, signature=forged)
    assert_rejected(_verify_forged(world, issued, token), "signature_invalid", "alg_not_allowed")


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
def test_case_001_alg_none_with_empty_signature_segment(world: World, alg: str) -> None:
    """``header.payload.``: the empty segment is a format error (#21), found before the alg."""
    issued = world.issue()
    token = forge_jws(header_for(world.sena, alg=alg, kid=None), issued.payload, signature=b"")
    assert token.endswith(".")
    assert_rejected(_verify_forged(world, issued, token), "malformed", "malformed")


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
@pytest.mark.parametrize("signature", [b"", b"\x00" * 64])
def test_case_001_alg_none_in_kb_jwt(world: World, alg: str, signature: bytes) -> None:
    presented = _presented(world, world.issue())
    text = with_kb(world, presented, header={"alg": alg, "typ": "kb+jwt"}, signature=signature)
    assert_rejected(world.verify(text), "key_binding_invalid", "kb_invalid")


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
@pytest.mark.parametrize("signature", [b"", b"\x00" * 64])
def test_case_001_alg_none_in_status_list_token(world: World, alg: str, signature: bytes) -> None:
    header = header_for(world.sena, typ="statuslist+jwt", alg=alg)
    token = forge_jws(header, status_claims(world, world.sena, StatusList()), signature=signature)
    assert_rejected(_with_status_token(world, token), "status_unavailable", "status_invalid")


# ----------------------------------------------------------------------------- #2


def _public_key_material(key: SigningKey, form: str) -> bytes:
    public = key.key.public_key()
    if form == "pem":
        return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    if form == "der":
        return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if form == "openssh":  # "ssh-ed25519 AAAA…" / "ecdsa-sha2-nistp256 AAAA…"
        return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    if form == "jwk-json":  # the JWK exactly as the trust list publishes it (CVE-2026-48526)
        return json.dumps(key.public.jwk()).encode()
    if form == "jwk-compact":
        return dumps_compact(key.public.jwk()).encode()
    raise AssertionError(form)


KEY_FORMS = ["pem", "der", "openssh", "jwk-json", "jwk-compact"]


@pytest.mark.parametrize("form", KEY_FORMS)
def test_case_002_hs256_keyed_with_issuer_public_key(any_alg_world: World, form: str) -> None:
    world = any_alg_world
    issued = world.issue()
    secret = _public_key_material(world.sena.key, form)
    token = hs256(secret, header_for(world.sena, alg="HS256"), issued.payload)
    assert_rejected(_verify_forged(world, issued, token), "signature_invalid", "alg_not_allowed")


@pytest.mark.parametrize("form", KEY_FORMS)
def test_case_002_hs256_status_list_token(world: World, form: str) -> None:
    secret = _public_key_material(world.sena.key, form)
    header = header_for(world.sena, typ="statuslist+jwt", alg="HS256")
    token = hs256(secret, header, status_claims(world, world.sena, StatusList()))
    assert_rejected(_with_status_token(world, token), "status_unavailable", "status_invalid")


@pytest.mark.parametrize("form", KEY_FORMS)
def test_case_002_hs256_kb_jwt_keyed_with_cnf(world: World, form: str) -> None:
    presented = _presented(world, world.issue())
    secret = _public_key_material(world.holder, form)
    text = presented + hs256(secret, {"alg": "HS256", "typ": "kb+jwt"}, kb_claims(world, presented))
    assert_rejected(world.verify(text), "key_binding_invalid", "kb_invalid")


# ----------------------------------------------------------------------------- #3


def test_case_003_es512_header_with_p256_key(world: World) -> None:
    issued = world.issue()
    header = header_for(world.sena, alg="ES512")
    signing_input = f"{segment(header)}.{segment(issued.payload)}".encode("ascii")
    signature = raw_signature(world.sena.key, signing_input, hash_alg=hashes.SHA512())
    token = forge_jws(header, issued.payload, signature=signature)
    assert_rejected(_verify_forged(world, issued, token), "signature_invalid", "alg_not_allowed")


@pytest.mark.parametrize(("key_alg", "header_alg"), [("ES256", "EdDSA"), ("EdDSA", "ES256")])
def test_case_003_header_alg_of_the_other_key_type(key_alg: str, header_alg: str) -> None:
    """The header names an allowed algorithm, but not the one registered for the key."""
    world = World()
    world.sena.key = generate_key(key_alg)
    issued = world.issue()
    token = forge_jws(header_for(world.sena, alg=header_alg), issued.payload, world.sena.key)
    assert_rejected(_verify_forged(world, issued, token), "signature_invalid", "alg_not_allowed")


# ----------------------------------------------------------------------------- #4


@pytest.mark.parametrize(("kid", "verdict", "code"), [
    # no kid: SENA's one usable key is tried (issue 14), never the header's jwk
    ("absent", "signature_invalid", "signature_invalid"),
    ("attacker", "untrusted_issuer", "key_untrusted"),
    ("issuer", "signature_invalid", "signature_invalid"),
])
def test_case_004_header_jwk_is_never_used(
    world: World, no_network: list[Any], kid: str, verdict: str, code: str
) -> None:
    issued = world.issue()
    attacker = generate_key()
    header = header_for(attacker, jwk=attacker.public.jwk())
    if kid == "absent":
        del header["kid"]
    elif kid == "issuer":
        header["kid"] = world.sena.key.kid
    token = forge_jws(header, issued.payload, attacker)
    assert_rejected(_verify_forged(world, issued, token), verdict, code)


# ----------------------------------------------------------------------------- #5


@pytest.mark.parametrize("member", ["jku", "x5u"])
@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(("kid", "verdict", "code"), [
    ("attacker", "untrusted_issuer", "key_untrusted"),
    ("issuer", "signature_invalid", "signature_invalid"),
])
def test_case_005_jku_x5u_never_fetched(
    world: World, no_network: list[Any], member: str, url: str, kid: str, verdict: str, code: str
) -> None:
    issued = world.issue()
    attacker = generate_key()
    header = header_for(attacker, **{member: url})
    if kid == "issuer":
        header["kid"] = world.sena.key.kid
    token = forge_jws(header, issued.payload, attacker)
    assert_rejected(_verify_forged(world, issued, token), verdict, code)


# ----------------------------------------------------------------------------- #6


@pytest.mark.parametrize("chain", ["self-signed", "unanchored-chain"])
@pytest.mark.parametrize(("iss", "code"), [("trusted", "key_untrusted"), ("subject", "issuer_untrusted")])
def test_case_006_x5c_not_anchored(world: World, no_network: list[Any], chain: str, iss: str, code: str) -> None:
    issued = world.issue()
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    subject = "https://attacker.example/i/sena"
    if chain == "self-signed":
        certs = [certificate(leaf_key, subject)]
    else:
        root_key = ec.generate_private_key(ec.SECP256R1())
        root = certificate(root_key, "Attacker Root CA", ca=True)
        certs = [certificate(leaf_key, subject, issuer_key=root_key, issuer="Attacker Root CA"), root]
    payload = dict(issued.payload, iss=world.sena.id if iss == "trusted" else subject)
    signer = SigningKey(leaf_key, "ES256")
    token = forge_jws(header_for(signer, x5c=x5c(*certs), kid=None), payload, signer)
    assert_rejected(_verify_forged(world, issued, token), "untrusted_issuer", code)


# ----------------------------------------------------------------------------- #7


@pytest.mark.parametrize(("kid", "verdict", "code"), [
    ("../../etc/passwd", "untrusted_issuer", "key_untrusted"),
    ("' OR 1=1--", "untrusted_issuer", "key_untrusted"),
    # a kid is printable ASCII, 1 to 1024 characters (issue 14); an explicit null is not "no kid"
    ("key\x00", "malformed", "kid_invalid"),
    ("clé", "malformed", "kid_invalid"),
    ("", "malformed", "kid_invalid"),
    (None, "malformed", "kid_invalid"),
    ("k" * 1024, "untrusted_issuer", "key_untrusted"),
    ("k" * 1025, "malformed", "kid_invalid"),
    ("k" * 65_536, "malformed", "payload_too_large"),
    ({"a": 1}, "malformed", "kid_invalid"),
    (["kid"], "malformed", "kid_invalid"),
    (7, "malformed", "kid_invalid"),
], ids=["path-traversal", "sql", "nul", "non-ascii", "empty", "null", "1024-chars", "1025-chars", "64KiB", "object",
        "array", "number"])
def test_case_007_hostile_kid(world: World, kid: Any, verdict: str, code: str) -> None:
    issued = world.issue()
    header = header_for(world.sena)
    header["kid"] = kid  # None stays as an explicit JSON null
    token = forge_jws(header, issued.payload, world.sena.key)
    assert_rejected(_verify_forged(world, issued, token), verdict, code)


# ----------------------------------------------------------------------------- #8


@pytest.mark.parametrize("other", ["ngo", "migracion"])
def test_case_008_kid_of_another_issuer(world: World, other: str) -> None:
    issued = world.issue()
    assert issued.payload["iss"] == world.sena.id
    token = sign_credential(issued.payload, getattr(world, other))
    assert_rejected(_verify_forged(world, issued, token), "untrusted_issuer", "key_untrusted")


# ----------------------------------------------------------------------------- #9


CRIT_HEADERS = [
    {"crit": ["x-foo"], "x-foo": True},
    {"crit": ["b64"], "b64": False},
    {"crit": []},
    {"crit": "x-foo"},
]


@pytest.mark.parametrize("crit", CRIT_HEADERS, ids=["x-foo", "b64", "empty", "string"])
def test_case_009_crit_in_credential(world: World, crit: dict[str, Any]) -> None:
    issued = world.issue()
    token = sign_credential(issued.payload, world.sena, **crit)
    assert_rejected(_verify_forged(world, issued, token), "malformed", "crit_unsupported")


@pytest.mark.parametrize("crit", CRIT_HEADERS, ids=["x-foo", "b64", "empty", "string"])
def test_case_009_crit_in_kb_jwt(world: World, crit: dict[str, Any]) -> None:
    presented = _presented(world, world.issue())
    text = with_kb(world, presented, header={**kb_header(world.holder), **crit})
    assert_rejected(world.verify(text), "key_binding_invalid", "kb_invalid")


@pytest.mark.parametrize("crit", CRIT_HEADERS, ids=["x-foo", "b64", "empty", "string"])
def test_case_009_crit_in_status_list_token(world: World, crit: dict[str, Any]) -> None:
    token = status_token(world, world.sena, header={**header_for(world.sena, typ="statuslist+jwt"), **crit})
    assert_rejected(_with_status_token(world, token), "status_unavailable", "status_invalid")


# ----------------------------------------------------------------------------- #10


@pytest.mark.parametrize("typ", [
    None, "JWT", "jwt", "kb+jwt", "statuslist+jwt", "puente-trust-list+jwt", "vc+sd-jwt", "DC+SD-JWT",
    "application/dc+sd-jwt", "dc+sd-jwt ", 42,
], ids=str)
def test_case_010_wrong_or_missing_typ(world: World, typ: Any) -> None:
    issued = world.issue()
    header = header_for(world.sena)
    if typ is None:
        del header["typ"]
    else:
        header["typ"] = typ
    token = forge_jws(header, issued.payload, world.sena.key)
    assert_rejected(_verify_forged(world, issued, token), "malformed", "type_invalid")


def test_case_010_kb_jwt_submitted_as_credential(world: World) -> None:
    kb_jwt = world.present(world.issue()).rsplit("~", 1)[1]
    assert_rejected(world.verify(kb_jwt + "~"), "malformed", "type_invalid")


def test_case_010_status_list_token_submitted_as_credential(world: World) -> None:
    assert_rejected(world.verify(world.status_token(world.sena) + "~"), "malformed", "type_invalid")


def test_case_010_trust_list_submitted_as_credential(world: World) -> None:
    token = sign_trust_list(world.trust_document(), generate_key(), iat=world.clock.now())
    assert_rejected(world.verify(token + "~"), "malformed", "type_invalid")


def test_case_010_staff_session_jwt_submitted_as_credential(world: World) -> None:
    now = world.clock.now()
    session = {"sub": "staff-17", "iss": world.sena.id, "role": "admin", "iat": now, "exp": now + 900}
    token = forge_jws(header_for(world.sena, typ="JWT"), session, world.sena.key)
    assert_rejected(world.verify(token + "~"), "malformed", "type_invalid")
    # An HS256 session token fails on the algorithm, which is checked before the type.
    hmac_token = hs256(os.urandom(32), {"alg": "HS256", "typ": "JWT"}, session)
    assert_rejected(world.verify(hmac_token + "~"), "signature_invalid", "alg_not_allowed")


def test_case_010_legacy_typ_only_behind_the_policy_flag(world: World) -> None:
    issued = world.issue()
    token = sign_credential(issued.payload, world.sena, typ="vc+sd-jwt")
    text = present(world, token, texts(issued, REFERENCE_DISCLOSED))
    assert_rejected(world.verify(text), "malformed", "type_invalid")
    relaxed = VerificationPolicy(accept_legacy_typ=True)
    assert_valid(world.verify(present(world, token, texts(issued, REFERENCE_DISCLOSED)), policy=relaxed))


# ----------------------------------------------------------------------------- #11


def _jwe_to_issuer(world: World, issued: IssuedCredential, **header: Any) -> str:
    public = world.sena.key.key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return jwe_ecdh_es(issued.parts.issuer_jwt.encode("ascii"), public, cty="dc+sd-jwt", **header)


def test_case_011_jwe_as_credential(world: World) -> None:
    issued = world.issue()
    token = _jwe_to_issuer(world, issued)
    assert token.count(".") == 4
    assert_rejected(_verify_forged(world, issued, token), "malformed", "malformed")


def test_case_011_jwe_as_kb_jwt(world: World) -> None:
    presented = _presented(world, world.issue())
    public = world.holder.key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    kb = jwe_ecdh_es(dumps_compact(kb_claims(world, presented)).encode(), public, typ="kb+jwt")
    assert_rejected(world.verify(presented + kb), "malformed", "malformed")


def test_case_011_jwe_as_status_list_token(world: World) -> None:
    public = world.sena.key.key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    token = jwe_ecdh_es(world.status_token(world.sena).encode(), public, cty="statuslist+jwt")
    assert_rejected(_with_status_token(world, token), "status_unavailable", "status_invalid")


def test_case_011_jwe_inside_a_qr_code(world: World) -> None:
    issued = world.issue()
    text = present(world, _jwe_to_issuer(world, issued), texts(issued, REFERENCE_DISCLOSED))
    assert_rejected(world.verify(qr.encode(text)), "malformed", "malformed")


# ----------------------------------------------------------------------------- #12 and #13


def _flattened(token: str, **unprotected: Any) -> dict[str, Any]:
    head, body, signature = token.split(".")
    document: dict[str, Any] = {"protected": head, "payload": body, "signature": signature}
    if unprotected:
        document["header"] = unprotected
    return document


@pytest.mark.parametrize("form", ["flattened", "general", "sd-jwt-json", "sd-jwt-json-general"])
def test_case_012_jws_json_serialization(world: World, form: str) -> None:
    issued = world.issue()
    genuine = world.present(issued)
    issuer_jwt, *disclosures, kb = genuine.split("~")
    flat = _flattened(issuer_jwt)
    document: dict[str, Any]
    if form == "flattened":
        document = flat
    elif form == "general":
        document = {"payload": flat["payload"],
                    "signatures": [{"protected": flat["protected"], "signature": flat["signature"]}]}
    elif form == "sd-jwt-json":
        document = _flattened(issuer_jwt, disclosures=disclosures, kb_jwt=kb)
    else:
        document = {"payload": flat["payload"], "signatures": [
            {"protected": flat["protected"], "signature": flat["signature"],
             "header": {"disclosures": disclosures, "kb_jwt": kb}}]}
    assert_rejected(world.verify(json.dumps(document)), "malformed", "malformed")


@pytest.mark.parametrize("inserted", [" ", '"', "{", "}", ",", "\t", "+", "/", "="])
def test_case_012_characters_outside_the_compact_alphabet(world: World, inserted: str) -> None:
    text = world.present(world.issue())
    middle = len(text) // 2
    assert_rejected(world.verify(text[:middle] + inserted + text[middle:]), "malformed", "malformed")


@pytest.mark.parametrize("unprotected", [
    {"alg": "none"}, {"kid": "ngo"}, {"kid": "ngo", "alg": "EdDSA"},
], ids=["alg-none", "other-kid", "other-kid-and-alg"])
def test_case_013_unprotected_header_differs(world: World, unprotected: dict[str, Any]) -> None:
    """Only the compact form is accepted, so an unprotected header can never be read at all."""
    if unprotected.get("kid") == "ngo":
        unprotected = dict(unprotected, kid=world.ngo.key.kid)
    issued = world.issue()
    document = _flattened(issued.parts.issuer_jwt, **unprotected)
    assert_rejected(world.verify(json.dumps(document)), "malformed", "malformed")


def test_case_013_protected_kid_wrong(world: World) -> None:
    """The protected kid names NGO's key while SENA signed: rejected, the kid is never overridden."""
    issued = world.issue()
    token = forge_jws(header_for(world.sena, kid=world.ngo.key.kid), issued.payload, world.sena.key)
    assert_rejected(_verify_forged(world, issued, token), "untrusted_issuer", "key_untrusted")


# ----------------------------------------------------------------------------- #14


def _duplicate(document: dict[str, Any], member: str, value: Any, *, first: bool = False) -> bytes:
    """``document`` as compact JSON with ``member`` repeated (after, or before, the genuine one)."""
    text = dumps_compact(document)
    extra = f"{json.dumps(member)}:{dumps_compact(value)}"
    return ("{" + extra + "," + text[1:] if first else text[:-1] + "," + extra + "}").encode("utf-8")


@pytest.mark.parametrize("first", [False, True], ids=["none-last", "none-first"])
def test_case_014_duplicate_alg_in_header(world: World, first: bool) -> None:
    issued = world.issue()
    header = _duplicate(header_for(world.sena), "alg", "none", first=first)
    token = forge_jws(header, issued.payload, world.sena.key)
    assert_rejected(_verify_forged(world, issued, token), "malformed", "duplicate_member")


@pytest.mark.parametrize("member", ["iss", "exp", "vct", "status"])
def test_case_014_duplicate_claim_in_payload(world: World, member: str) -> None:
    issued = world.issue()
    replacement: Any = {"iss": "https://attacker.example", "exp": 4_000_000_000,
                        "vct": "https://issuer.example/vct/ppt-status", "status": {}}[member]
    token = forge_jws(header_for(world.sena), _duplicate(issued.payload, member, replacement), world.sena.key)
    assert_rejected(_verify_forged(world, issued, token), "malformed", "duplicate_member")


def test_case_014_duplicate_key_inside_cnf(world: World) -> None:
    issued = world.issue()
    attacker = generate_key().public.jwk()
    payload = dumps_compact(issued.payload)
    cnf = dumps_compact(issued.payload["cnf"])
    doubled = cnf[:-1] + ',"jwk":' + dumps_compact({k: attacker[k] for k in ("crv", "kty", "x", "y")}) + "}"
    assert cnf in payload
    token = forge_jws(header_for(world.sena), payload.replace(cnf, doubled).encode(), world.sena.key)
    assert_rejected(_verify_forged(world, issued, token), "malformed", "duplicate_member")


def test_case_014_duplicate_member_in_kb_jwt(world: World) -> None:
    presented = _presented(world, world.issue())
    claims = _duplicate(kb_claims(world, presented), "aud", "https://other-verifier.example")
    assert_rejected(world.verify(with_kb(world, presented, claims=claims)), "key_binding_invalid", "kb_invalid")


def test_case_014_duplicate_member_in_disclosure_value(world: World) -> None:
    issued = world.issue()
    text = segment(b'["c2FsdHNhbHRzYWx0c2FsdA","address",{"country":"CO","country":"VE"}]')
    presented = present(world, issued.parts.issuer_jwt, [*texts(issued, REFERENCE_DISCLOSED), text])
    assert_rejected(world.verify(presented), "disclosure_invalid", "disclosure_invalid")


def test_case_014_duplicate_member_in_status_list_token(world: World) -> None:
    claims = status_claims(world, world.sena, StatusList())
    revoked = StatusList()
    revoked.set(4242, 1)
    body = _duplicate(claims, "status_list", {"bits": 2, "lst": revoked.encode()}, first=True)
    token = forge_jws(header_for(world.sena, typ="statuslist+jwt"), body, world.sena.key)
    assert_rejected(_with_status_token(world, token), "status_unavailable", "status_invalid")


# ----------------------------------------------------------------------------- #15


NOT_UTF8 = {
    "utf16-bom": None,  # the whole JSON text in UTF-16 with its byte-order mark
    "utf8-bom": None,
    "overlong-slash": b"\xc0\xaf",
    "encoded-surrogate": b"\xed\xa0\x80",
    "escaped-lone-surrogate": b"\\ud800",
    "latin1": b"Jos\xe9",
    "truncated-sequence": b"\xe2\x82",
}


def _not_utf8(document: dict[str, Any], kind: str) -> bytes:
    text = dumps_compact(document).encode("utf-8")
    if kind == "utf16-bom":
        return dumps_compact(document).encode("utf-16")
    if kind == "utf8-bom":
        return b"\xef\xbb\xbf" + text
    bad = NOT_UTF8[kind]
    assert bad is not None
    return b'{"x":"' + bad + b'",' + text[1:]


@pytest.mark.parametrize("kind", list(NOT_UTF8))
@pytest.mark.parametrize("where", ["header", "payload"])
def test_case_015_not_utf8(world: World, kind: str, where: str) -> None:
    issued = world.issue()
    header: Any = header_for(world.sena)
    payload: Any = issued.payload
    if where == "header":
        header = _not_utf8(header, kind)
    else:
        payload = _not_utf8(payload, kind)
    token = forge_jws(header, payload, world.sena.key)
    assert_rejected(_verify_forged(world, issued, token), "malformed", "malformed")


@pytest.mark.parametrize("kind", list(NOT_UTF8))
def test_case_015_not_utf8_in_kb_jwt(world: World, kind: str) -> None:
    presented = _presented(world, world.issue())
    claims = _not_utf8(kb_claims(world, presented), kind)
    assert_rejected(world.verify(with_kb(world, presented, claims=claims)), "key_binding_invalid", "kb_invalid")


@pytest.mark.parametrize("bad", [b"\xc0\xaf", b"\xed\xa0\x80", b"\\udc00", b"\xff"])
def test_case_015_not_utf8_in_disclosure(world: World, bad: bytes) -> None:
    issued = world.issue()
    text = segment(b'["c2FsdHNhbHRzYWx0c2FsdA","given_name","' + bad + b'"]')
    presented = present(world, issued.parts.issuer_jwt, [*texts(issued, REFERENCE_DISCLOSED), text])
    assert_rejected(world.verify(presented), "disclosure_invalid", "disclosure_invalid")


# ----------------------------------------------------------------------------- #16


@pytest.fixture
def no_inflation_or_kdf(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records any call that would inflate data or run a password KDF."""
    calls: list[str] = []

    def record(name: str) -> Any:
        def called(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} reached")

        return called

    monkeypatch.setattr(zlib, "decompress", record("zlib.decompress"))
    monkeypatch.setattr(zlib, "decompressobj", record("zlib.decompressobj"))
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", record("hashlib.pbkdf2_hmac"))
    return calls


def test_case_016_jwe_zip_def_bomb_never_inflated(world: World, no_inflation_or_kdf: list[str]) -> None:
    issued = world.issue()
    bomb = raw_deflate(b"\x00" * (10 * 1024 * 1024))
    public = world.sena.key.key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    token = jwe_ecdh_es(bomb, public, zip="DEF")
    assert_rejected(_verify_forged(world, issued, token), "malformed", "malformed")
    assert no_inflation_or_kdf == []


def test_case_016_pbes2_huge_p2c_never_derived(world: World, no_inflation_or_kdf: list[str]) -> None:
    issued = world.issue()
    header = {"alg": "PBES2-HS512+A256KW", "enc": "A256GCM", "p2s": b64url_encode(os.urandom(16)),
              "p2c": 1_000_000_000}
    token = ".".join([segment(header), *(b64url_encode(os.urandom(n)) for n in (40, 12, 64, 16))])
    assert_rejected(_verify_forged(world, issued, token), "malformed", "malformed")
    assert_rejected(_with_status_token(world, token), "status_unavailable", "status_invalid")
    assert no_inflation_or_kdf == []

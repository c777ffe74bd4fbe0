"""security.md group B — signature and key attacks (#17–#24), one test per case.

#23 and #24 are issuer-side: they pin what the core guarantees when it issues (fresh 128-bit
salts from the injected CSPRNG; library ECDSA with a fresh nonce per signature, deterministic
Ed25519). Every case of the group has a core aspect; none is skipped.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from credcore import jws, sdjwt
from credcore.encoding import b64url_decode, b64url_encode
from credcore.errors import CredentialError
from credcore.issue import IssuedCredential, issue_credential
from credcore.keys import generate_key, public_key_from_jwk
from credcore.ports import MappingStatusSource
from credcore.status_list import StatusList
from credcore.trust import TrustList
from testkit.world import REFERENCE_DISCLOSED, World, example_claims
from tests.credcore.hostile import (
    P256_ORDER,
    assert_rejected,
    forge_jws,
    header_for,
    hs256,
    present,
    raw_signature,
    segment,
    status_claims,
    texts,
    with_kb,
)


def _verify_forged(world: World, issued: IssuedCredential, issuer_jwt: str) -> Any:
    return world.verify(present(world, issuer_jwt, texts(issued, REFERENCE_DISCLOSED)))


def _with_signature(token: str, signature: bytes) -> str:
    head, body, _ = token.split(".")
    return f"{head}.{body}.{b64url_encode(signature)}"


def _r_s(token: str) -> tuple[int, int]:
    raw = b64url_decode(token.split(".")[2])
    return int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")


def _raw(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# ----------------------------------------------------------------------------- #17


def _replace_in_payload(token: str, old: bytes, new: bytes) -> str:
    head, body, signature = token.split(".")
    payload = b64url_decode(body)
    assert payload.count(old) == 1, old
    return f"{head}.{b64url_encode(payload.replace(old, new))}.{signature}"


def _tamperings(issued: IssuedCredential) -> dict[str, tuple[bytes, bytes]]:
    payload = issued.payload
    exp = str(payload["exp"]).encode()
    digest = payload["_sd"][0].encode()
    x = payload["cnf"]["jwk"]["x"].encode()
    return {
        "exp": (b'"exp":' + exp, b'"exp":' + str(payload["exp"] + 1).encode()),
        "vct": (b"skills-certification", b"ppt-status"),
        "_sd-digest": (digest, (b"A" if digest[:1] != b"A" else b"B") + digest[1:]),
        "status-idx": (b'"idx":4242', b'"idx":4243'),
        "cnf-x": (x, x[:-2] + (b"AA" if x[-2:] != b"AA" else b"AQ")),
    }


@pytest.mark.parametrize("field", ["exp", "vct", "_sd-digest", "status-idx", "cnf-x"])
def test_case_017_payload_byte_changed(world: World, field: str) -> None:
    issued = world.issue()
    old, new = _tamperings(issued)[field]
    token = _replace_in_payload(issued.parts.issuer_jwt, old, new)
    assert_rejected(_verify_forged(world, issued, token), "signature_invalid", "signature_invalid")


def test_case_017_signature_byte_changed(world: World) -> None:
    issued = world.issue()
    signature = bytearray(b64url_decode(issued.parts.issuer_jwt.split(".")[2]))
    signature[10] ^= 0x01
    token = _with_signature(issued.parts.issuer_jwt, bytes(signature))
    assert_rejected(_verify_forged(world, issued, token), "signature_invalid", "signature_invalid")


# ----------------------------------------------------------------------------- #18


@pytest.mark.parametrize("signer", ["fresh-key", "holder-key", "ngo-key"])
def test_case_018_correct_header_signed_by_another_key(world: World, signer: str) -> None:
    issued = world.issue()
    key = {"fresh-key": generate_key(), "holder-key": world.holder, "ngo-key": world.ngo.key}[signer]
    token = forge_jws(header_for(world.sena), issued.payload, key)
    assert jws.parse(token).header == jws.parse(issued.parts.issuer_jwt).header
    assert_rejected(_verify_forged(world, issued, token), "signature_invalid", "signature_invalid")


# ----------------------------------------------------------------------------- #19


PSYCHIC = {
    "zero-64-bytes": b"\x00" * 64,
    "der-r0-s0": b64url_decode("MAYCAQACAQA"),
}


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
@pytest.mark.parametrize("signature", list(PSYCHIC))
def test_case_019_psychic_signature(alg: str, signature: str) -> None:
    world = World()
    world.sena.key = generate_key(alg)
    issued = world.issue()
    token = _with_signature(issued.parts.issuer_jwt, PSYCHIC[signature])
    assert_rejected(_verify_forged(world, issued, token), "signature_invalid", "signature_invalid")


@pytest.mark.parametrize("signature", list(PSYCHIC))
def test_case_019_psychic_signature_on_kb_jwt(world: World, signature: str) -> None:
    issued = world.issue()
    presented = present(world, issued.parts.issuer_jwt, texts(issued, REFERENCE_DISCLOSED), kb=False)
    text = with_kb(world, presented, signature=PSYCHIC[signature])
    assert_rejected(world.verify(text), "key_binding_invalid", "kb_invalid")


@pytest.mark.parametrize("signature", list(PSYCHIC))
def test_case_019_psychic_signature_on_status_list_token(world: World, signature: str) -> None:
    revoked = StatusList()
    revoked.set(4242, 1)
    token = forge_jws(header_for(world.sena, typ="statuslist+jwt"), status_claims(world, world.sena, revoked),
                      signature=PSYCHIC[signature])
    report = world.verify(world.present(world.issue()),
                          status_source=MappingStatusSource({world.sena.status_uri(): token}))
    assert_rejected(report, "status_unavailable", "status_invalid")


# ----------------------------------------------------------------------------- #20


def _der(r: int, s: int) -> bytes:
    return encode_dss_signature(r, s)


SIGNATURE_MUTATIONS: dict[str, Callable[[int, int, bytes], bytes]] = {
    "der-encoded": lambda r, s, raw: _der(r, s),
    "63-bytes": lambda r, s, raw: raw[:-1],
    "65-bytes-trailing-zero": lambda r, s, raw: raw + b"\x00",
    "128-bytes-doubled": lambda r, s, raw: raw + raw,
    "r-equals-n": lambda r, s, raw: _raw(P256_ORDER, s),
    "s-equals-n": lambda r, s, raw: _raw(r, P256_ORDER),
    "r-max": lambda r, s, raw: _raw(2**256 - 1, s),
    "r-plus-n-when-it-fits": lambda r, s, raw: _raw(r + P256_ORDER if r + P256_ORDER < 2**256 else 2**256 - 1, s),
    "s-zero": lambda r, s, raw: _raw(r, 0),
}


@pytest.mark.parametrize("mutation", list(SIGNATURE_MUTATIONS))
def test_case_020_signature_encoding(world: World, mutation: str) -> None:
    issued = world.issue()
    genuine = issued.parts.issuer_jwt
    r, s = _r_s(genuine)
    signature = SIGNATURE_MUTATIONS[mutation](r, s, b64url_decode(genuine.split(".")[2]))
    token = _with_signature(genuine, signature)
    assert_rejected(_verify_forged(world, issued, token), "signature_invalid", "signature_invalid")


def test_case_020_der_signature_is_the_genuine_one(world: World) -> None:
    """The DER variant above is the issuer's own valid signature, only differently encoded."""
    issued = world.issue()
    genuine = issued.parts.issuer_jwt
    public = world.sena.key.key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    r, s = _r_s(genuine)
    public.verify(_der(r, s), genuine.rsplit(".", 1)[0].encode("ascii"), ec.ECDSA(hashes.SHA256()))


# ----------------------------------------------------------------------------- #21


@pytest.mark.parametrize("shape", [
    "header.payload.", "header..signature", ".payload.signature", "header.payload", "header", "", "..", "~",
    "~~", "header.payload.signature.extra",
])
def test_case_021_empty_or_missing_segments(world: World, shape: str) -> None:
    issued = world.issue()
    head, body, signature = issued.parts.issuer_jwt.split(".")
    token = shape.replace("header", head).replace("payload", body).replace("signature", signature)
    text = token if "~" in token else f"{token}~"
    assert_rejected(world.verify(text), "malformed", "malformed")


def test_case_021_empty_input(world: World) -> None:
    for text in ("", "   ", "\n"):
        assert_rejected(world.verify(text), "malformed", "malformed")


# ----------------------------------------------------------------------------- #22


def test_case_022_hs256_with_a_shared_secret(world: World) -> None:
    issued = world.issue()
    token = hs256(os.urandom(32), header_for(world.sena, alg="HS256"), issued.payload)
    assert_rejected(_verify_forged(world, issued, token), "signature_invalid", "alg_not_allowed")


def _foreign_signature(alg: str) -> tuple[Any, hashes.HashAlgorithm]:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024), hashes.SHA256()
    if alg == "ES256K":
        return ec.generate_private_key(ec.SECP256K1()), hashes.SHA256()
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1()), hashes.SHA384()
    raise AssertionError(alg)


@pytest.mark.parametrize("alg", ["RS256", "ES256K", "ES384"])
def test_case_022_algorithm_outside_policy(world: World, alg: str) -> None:
    """Genuinely signed with a key of that algorithm (RSA-1024 for RS256)."""
    issued = world.issue()
    key, digest = _foreign_signature(alg)
    header = header_for(world.sena, alg=alg)
    signing_input = f"{segment(header)}.{segment(issued.payload)}".encode("ascii")
    token = forge_jws(header, issued.payload, signature=raw_signature(key, signing_input, hash_alg=digest))
    assert_rejected(_verify_forged(world, issued, token), "signature_invalid", "alg_not_allowed")


@pytest.mark.parametrize("alg", ["RS256", "HS256", "ES256K", "ES384", "none", "es256"])
def test_case_022_no_key_of_another_algorithm_can_be_made_or_imported(alg: str) -> None:
    with pytest.raises(CredentialError) as raised:
        generate_key(alg)
    assert raised.value.code == "alg_not_allowed"


def test_case_022_trust_list_refuses_foreign_key_types(world: World) -> None:
    secp256k1 = ec.generate_private_key(ec.SECP256K1()).public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "secp256k1", "x": b64url_encode(secp256k1.x.to_bytes(32, "big")),
           "y": b64url_encode(secp256k1.y.to_bytes(32, "big"))}
    with pytest.raises(CredentialError) as raised:
        public_key_from_jwk(jwk)
    assert raised.value.code == "jwk_invalid"
    entry = world.sena.entry(keys=[{"kty": "oct", "k": b64url_encode(os.urandom(32)), "alg": "HS256"}])
    document = dict(world.trust_document(), issuers=[entry])
    with pytest.raises(CredentialError) as raised:
        TrustList.from_json(document)
    assert raised.value.code == "trust_list_invalid"


# ----------------------------------------------------------------------------- #23 (issuer side)


def _all_salts(issued: IssuedCredential) -> list[str]:
    return [d.salt for d in issued.disclosures]


def test_case_023_salts_unique_and_128_bit(world: World) -> None:
    credentials = [world.issue(type_id) for type_id in ("skills-certification", "ppt-status",
                                                         "qualification-validation") for _ in range(10)]
    salts = [salt for issued in credentials for salt in _all_salts(issued)]
    assert len(salts) == len(set(salts)) > 200
    assert all(len(b64url_decode(salt)) >= 16 for salt in salts)
    digests = [d for issued in credentials for d in issued.payload["_sd"]]  # disclosures and decoys
    assert len(digests) == len(set(digests))


def test_case_023_salts_come_from_the_injected_csprng(world: World) -> None:
    requests: list[int] = []

    def spy(size: int) -> bytes:
        requests.append(size)
        return os.urandom(size)

    ctype = world.types.get("skills-certification")
    issued = issue_credential(ctype=ctype, claims=example_claims("skills-certification"), issuer=world.sena.id,
                              key=world.sena.key, clock=world.clock, holder_jwk=world.holder.public.jwk(),
                              random_bytes=spy, decoys=3)
    assert requests and all(size == 16 for size in requests)
    assert len(requests) == len(issued.disclosures) + 3  # one salt per claim, one seed per decoy
    assert inspect.signature(issue_credential).parameters["random_bytes"].default is os.urandom
    assert inspect.signature(sdjwt.new_salt).parameters["random_bytes"].default is os.urandom


def test_case_023_a_repeating_random_source_is_visible(world: World) -> None:
    """With a broken (constant) source every salt repeats: the build would see it in the test above."""
    issued = world.issue(random_bytes=lambda n: b"\x00" * n)
    assert len(set(_all_salts(issued))) == 1


# ----------------------------------------------------------------------------- #24 (issuer side)


def test_case_024_es256_fresh_nonce_per_signature() -> None:
    key = generate_key("ES256")
    tokens = [jws.sign({"same": "payload"}, key, {"typ": "dc+sd-jwt"}) for _ in range(64)]
    r_values = {_r_s(token)[0] for token in tokens}
    assert len(r_values) == len(tokens)  # a repeated r is a repeated nonce: key recovery
    for token in tokens:
        jws.verify_signature(jws.parse(token), key.public)


def test_case_024_ed25519_deterministic() -> None:
    key = generate_key("EdDSA")
    first, second = (jws.sign({"same": "payload"}, key, {"typ": "dc+sd-jwt"}) for _ in range(2))
    assert first == second
    jws.verify_signature(jws.parse(first), key.public)


"""Builders of hostile inputs for the security-case tests (security.md groups A–H).

Everything here is built for real: headers and payloads are encoded by hand, and signatures come
from the key actually named (``cryptography`` for algorithms the core does not offer: HS256, RS256,
ES256K, ES384, ES512). Nothing here goes through the core's own safe recipes unless a test wants
a genuine part to start from.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import os
import secrets
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from credcore.encoding import b64url_encode, dumps_compact
from credcore.issue import IssuedCredential
from credcore.key_binding import OFFLINE_AUDIENCE, create_kb_jwt
from credcore.keys import SigningKey
from credcore.sdjwt import SdJwt
from credcore.status_list import StatusList
from credcore.verify import VerificationReport
from testkit.world import Institution, World

RawKey = (
    SigningKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | rsa.RSAPrivateKey
)
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


# ----------------------------------------------------------------------------- assertions


def assert_rejected(report: VerificationReport, verdict: str, code: str) -> None:
    """The verdict and the stable code are the expected ones, and no claim leaks out."""
    detail = report.error.description if report.error else None
    assert report.verdict == verdict, (report.verdict, report.error and report.error.code, detail)
    assert report.error is not None
    assert report.error.code == code, (report.error.code, detail)
    assert not report.valid
    body = report.as_json("en")
    assert body["valid"] is False
    assert body["claims"] == {}
    assert body["error"]["code"] == code


def assert_valid(report: VerificationReport) -> None:
    assert report.valid, (report.verdict, report.error and report.error.code, report.error)
    assert report.verdict == "valid"


# ----------------------------------------------------------------------------- encoding and signing


def segment(part: Any) -> str:
    """A JWS segment: bytes are taken as they are, anything else as compact JSON."""
    data = part if isinstance(part, bytes) else dumps_compact(part).encode("utf-8")
    return b64url_encode(data)


def raw_signature(key: RawKey, message: bytes, *, hash_alg: hashes.HashAlgorithm | None = None) -> bytes:
    """A JOSE signature over ``message``: raw r||s for ECDSA, PKCS#1 v1.5 for RSA."""
    private = key.key if isinstance(key, SigningKey) else key
    if isinstance(private, ec.EllipticCurvePrivateKey):
        digest = hash_alg or hashes.SHA256()
        r, s = decode_dss_signature(private.sign(message, ec.ECDSA(digest)))
        size = (private.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign(message)
    return private.sign(message, padding.PKCS1v15(), hash_alg or hashes.SHA256())


def forge_jws(header: Any, payload: Any, key: RawKey | None = None, *, signature: bytes | None = None) -> str:
    """A compact JWS with exactly this header and payload, signed by ``key`` (whatever the
    header claims) unless ``signature`` is given."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    if signature is None:
        assert key is not None
        signature = raw_signature(key, signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


def hs256(secret: bytes, header: dict[str, Any], payload: Any) -> str:
    signing_input = f"{segment(header)}.{segment(payload)}"
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url_encode(mac)}"


def header_for(by: Institution | SigningKey, typ: str = "dc+sd-jwt", **members: Any) -> dict[str, Any]:
    """The protected header Puente would write, with ``members`` changed (None removes one)."""
    key = by.key if isinstance(by, Institution) else by
    header: dict[str, Any] = {"alg": key.alg, "typ": typ, "kid": key.kid}
    for name, value in members.items():
        if value is None:
            header.pop(name, None)
        else:
            header[name] = value
    return header


def payload_of(issued: IssuedCredential) -> dict[str, Any]:
    """A deep copy of the issuer-signed payload, to edit."""
    return copy.deepcopy(issued.payload)


def sign_credential(payload: Any, by: Institution | SigningKey, **header: Any) -> str:
    """An issuer JWT over ``payload`` (dict or raw bytes) signed by ``by``'s key, header edited."""
    key = by.key if isinstance(by, Institution) else by
    return forge_jws(header_for(key, **header), payload, key)


def texts(issued: IssuedCredential, names: Iterable[str] | None = None) -> list[str]:
    """Disclosure texts of ``issued`` (those for ``names`` only, if given)."""
    wanted = None if names is None else set(names)
    return [d.text for d in issued.disclosures if wanted is None or d.name in wanted]


def disclosure(array: Any) -> str:
    """A disclosure text for any JSON value (or raw bytes), compact JSON as Puente writes it."""
    return segment(array)


def present(
    world: World,
    issuer_jwt: str,
    disclosures: Sequence[str] = (),
    *,
    kb: bool = True,
    holder: SigningKey | None = None,
    aud: str = OFFLINE_AUDIENCE,
    nonce: str | None = None,
    iat: int | None = None,
) -> str:
    """``issuer_jwt~D1~…~DN~`` plus a genuine KB-JWT by the holder over exactly that text."""
    presented = SdJwt(issuer_jwt, tuple(disclosures)).without_kb()
    if not kb:
        return presented
    return presented + create_kb_jwt(
        presented, holder or world.holder, aud=aud, nonce=nonce or secrets.token_urlsafe(16),
        iat=world.clock.now() if iat is None else iat,
    )


def kb_claims(world: World, presented: str, **changes: Any) -> dict[str, Any]:
    """Genuine KB-JWT claims for ``presented``, with ``changes`` (None removes a claim)."""
    claims: dict[str, Any] = {
        "iat": world.clock.now(),
        "aud": OFFLINE_AUDIENCE,
        "nonce": secrets.token_urlsafe(16),
        "sd_hash": b64url_encode(hashlib.sha256(presented.encode("ascii")).digest()),
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def kb_header(key: SigningKey, **members: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": key.alg, "typ": "kb+jwt"}
    for name, value in members.items():
        if value is None:
            header.pop(name, None)
        else:
            header[name] = value
    return header


def with_kb(world: World, presented: str, *, header: Any = None, claims: Any = None,
            key: RawKey | None = None, signature: bytes | None = None) -> str:
    """``presented`` followed by a hand-made KB-JWT (genuine parts unless replaced)."""
    holder = world.holder
    token = forge_jws(
        kb_header(holder) if header is None else header,
        kb_claims(world, presented) if claims is None else claims,
        key or holder,
        signature=signature,
    )
    return presented + token


# ----------------------------------------------------------------------------- status lists


def status_claims(world: World, by: Institution, statuses: StatusList, *, n: int = 1,
                  **changes: Any) -> dict[str, Any]:
    """Genuine status list token claims for ``statuses``, with ``changes`` (None removes a claim)."""
    now = world.clock.now()
    claims: dict[str, Any] = {
        "sub": by.status_uri(n),
        "iss": by.id,
        "iat": now,
        "exp": now + 3600,
        "ttl": 300,
        "status_list": {"bits": statuses.bits, "lst": statuses.encode()},
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def status_token(world: World, by: Institution, statuses: StatusList | None = None, *,
                 key: RawKey | None = None, header: Any = None, **changes: Any) -> str:
    """A ``statuslist+jwt`` for ``by``'s list 1 (all valid unless given), edited as asked."""
    return forge_jws(
        header_for(by, typ="statuslist+jwt") if header is None else header,
        status_claims(world, by, statuses or StatusList(), **changes),
        key or by.key,
    )


# ----------------------------------------------------------------------------- foreign formats


def concat_kdf(shared: bytes, enc: str, bits: int) -> bytes:
    """RFC 7518 §4.6.2 Concat KDF (SHA-256) for ECDH-ES direct key agreement."""
    alg_id = enc.encode("ascii")
    other = (len(alg_id).to_bytes(4, "big") + alg_id + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
             + bits.to_bytes(4, "big"))
    return hashlib.sha256((1).to_bytes(4, "big") + shared + other).digest()[: bits // 8]


def jwe_ecdh_es(plaintext: bytes, recipient: ec.EllipticCurvePublicKey, **header: Any) -> str:
    """A real compact JWE (``ECDH-ES`` + ``A128GCM``) encrypted to ``recipient``: five parts."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    numbers = ephemeral.public_key().public_numbers()
    epk = {"kty": "EC", "crv": "P-256", "x": b64url_encode(numbers.x.to_bytes(32, "big")),
           "y": b64url_encode(numbers.y.to_bytes(32, "big"))}
    protected = segment({"alg": "ECDH-ES", "enc": "A128GCM", "epk": epk, **header})
    cek = concat_kdf(ephemeral.exchange(ec.ECDH(), recipient), "A128GCM", 128)
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, plaintext, protected.encode("ascii"))
    return ".".join([protected, "", b64url_encode(iv), b64url_encode(sealed[:-16]), b64url_encode(sealed[-16:])])


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def certificate(subject_key: ec.EllipticCurvePrivateKey, subject: str, *,
                issuer_key: ec.EllipticCurvePrivateKey | None = None, issuer: str | None = None,
                ca: bool = False) -> x509.Certificate:
    """An X.509 certificate; self-signed unless an issuer key and name are given."""
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer or subject)]))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key or subject_key, hashes.SHA256())


def x5c(*certs: x509.Certificate) -> list[str]:
    """The ``x5c`` header value: standard (not URL-safe) base64 of each DER certificate."""
    return [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in certs]


"""Compact JWS (RFC 7515) signing and strict verification, straight over ``cryptography``.

Verification never trusts the token about keys: the caller resolves the key from the protected
header's ``kid`` (and the payload's issuer) through the trust list; ``jwk``, ``jku`` and ``x5u``
header members are ignored, and ``x5c`` counts only when the trust list names CA certificates for
that issuer (credcore.trust validates the chain to them). The algorithm allow-list is exact and case-sensitive, and the
header ``alg`` must equal the one algorithm registered for the resolved key (RFC 8725 §3.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from credcore.encoding import b64url_decode, b64url_encode, dumps_compact, loads_strict
from credcore.errors import MalformedError, SignatureError
from credcore.keys import ALGORITHMS, PublicKey, SigningKey, valid_kid

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_SIGNATURE_SIZE = 64  # raw r||s for ES256 (RFC 7518 §3.4); Ed25519 signatures are 64 bytes too
MAX_TOKEN_LENGTH = 64 * 1024


@dataclass(frozen=True)
class Jws:
    """A parsed, not yet verified, compact JWS."""

    text: str
    header: dict[str, Any]
    payload: bytes
    signature: bytes

    @property
    def signing_input(self) -> bytes:
        head, body, _ = self.text.split(".")
        return f"{head}.{body}".encode("ascii")

    def claims(self) -> dict[str, Any]:
        """The payload as a strict JSON object."""
        value = loads_strict(self.payload)
        if not isinstance(value, dict):
            raise MalformedError("JWT payload is not a JSON object")
        return value


def sign(
    payload: bytes | dict[str, Any],
    key: SigningKey,
    header: dict[str, Any],
    *,
    include_kid: bool = True,
) -> str:
    """Sign ``payload`` with ``key``; ``alg`` comes from the key, never the caller, and ``kid`` is the
    key's thumbprint unless the header names the institution's own kid for it (or ``None``: no kid)."""
    full_header = {"alg": key.alg, **{k: v for k, v in header.items() if k not in ("alg", "kid")}}
    kid = header.get("kid", key.kid)
    if include_kid and kid is not None:
        full_header["kid"] = kid
    body = payload if isinstance(payload, bytes) else dumps_compact(payload).encode("utf-8")
    signing_input = f"{b64url_encode(dumps_compact(full_header).encode())}.{b64url_encode(body)}"
    signature = _sign_raw(signing_input.encode("ascii"), key)
    return f"{signing_input}.{b64url_encode(signature)}"


def _sign_raw(message: bytes, key: SigningKey) -> bytes:
    if isinstance(key.key, ec.EllipticCurvePrivateKey):  # DER from cryptography, raw r||s in a JWS
        r, s = decode_dss_signature(key.key.sign(message, _ECDSA_SHA256))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return key.key.sign(message)


def _verify_raw(message: bytes, key: PublicKey, signature: bytes) -> bool:
    """Raw r||s (RFC 7518 §3.4) for ES256, converted to DER for cryptography; Ed25519 as is."""
    try:
        if isinstance(key.key, ec.EllipticCurvePublicKey):
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            key.key.verify(encode_dss_signature(r, s), message, _ECDSA_SHA256)
        else:
            key.key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def parse(text: str) -> Jws:
    """Split and decode a compact JWS, strictly; no signature check yet."""
    if not isinstance(text, str) or not text:
        raise MalformedError("empty token")
    if len(text) > MAX_TOKEN_LENGTH:
        raise MalformedError("token too long", code="payload_too_large")
    parts = text.split(".")
    if len(parts) != 3:
        raise MalformedError("a compact JWS has exactly three parts")
    if not all(parts):
        raise MalformedError("empty JWS part")
    header = loads_strict(b64url_decode(parts[0]))
    if not isinstance(header, dict):
        raise MalformedError("JOSE header is not a JSON object")
    return Jws(text, header, b64url_decode(parts[1]), b64url_decode(parts[2]))


def parse_header_only(text: str) -> Jws:
    """Just the protected header (for key lookup before a cached verification); the payload and
    signature are left empty and must not be used."""
    if not isinstance(text, str) or text.count(".") != 2 or len(text) > MAX_TOKEN_LENGTH:
        raise MalformedError("not a compact JWS")
    header = loads_strict(b64url_decode(text.split(".", 1)[0]))
    if not isinstance(header, dict):
        raise MalformedError("JOSE header is not a JSON object")
    return Jws(text, header, b"", b"")


def check_header(jws: Jws, typ: str | tuple[str, ...]) -> str:
    """Check ``alg`` (allow-list), ``crit`` (none understood) and ``typ``; return the alg."""
    alg = jws.header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise SignatureError(f"algorithm {str(alg)[:20]!r} is not allowed", code="alg_not_allowed")
    if "crit" in jws.header:
        raise MalformedError("critical header extensions are not supported", code="crit_unsupported")
    expected = (typ,) if isinstance(typ, str) else typ
    if jws.header.get("typ") not in expected:
        raise MalformedError(f"token type must be {expected[0]}", code="type_invalid")
    if "kid" in jws.header and not valid_kid(jws.header["kid"]):
        raise MalformedError("kid must be 1 to 1024 printable ASCII characters", code="kid_invalid")
    return alg


def verify_signature(jws: Jws, key: PublicKey) -> None:
    """Verify with ``key``; the header alg must be the key's one algorithm."""
    if jws.header.get("alg") != key.alg:
        raise SignatureError("algorithm does not match the key", code="alg_not_allowed")
    if len(jws.signature) != _SIGNATURE_SIZE:
        raise SignatureError("signature has the wrong length")
    if not _verify_raw(jws.signing_input, key, jws.signature):
        raise SignatureError("signature does not verify")


def verify(
    text: str,
    *,
    typ: str | tuple[str, ...],
    resolve_key: Callable[[Jws], PublicKey],
) -> Jws:
    """Parse, check the header, resolve the key and verify: the usual whole sequence."""
    jws = parse(text)
    check_header(jws, typ)
    verify_signature(jws, resolve_key(jws))
    return jws

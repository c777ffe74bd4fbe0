"""Signing keys: ES256 (P-256) and EdDSA (Ed25519), JWK import/export, RFC 7638 thumbprint kids.

Each key is bound to exactly one algorithm (RFC 8725 §3.1): the algorithm travels with the key,
never with the token that claims to be signed by it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from credcore.encoding import b64url_decode, b64url_encode
from credcore.errors import MalformedError, SignatureError

ALGORITHMS = ("ES256", "EdDSA")
MAX_KID_LENGTH = 1024  # RFC 7517 lets a kid be any string; Puente takes printable ASCII up to 1 KiB

PublicKeyType = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKeyType = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class PublicKey:
    """A verification key with its one algorithm and its thumbprint kid."""

    key: PublicKeyType
    alg: str
    kid: str
    # The RFC 7638 members, kept once known (exporting them asks the key for its numbers each time).
    _members: dict[str, str] | None = field(default=None, compare=False, repr=False)

    def members(self) -> dict[str, str]:
        """The public JWK without ``kid`` and ``alg`` (a ``cnf.jwk``): the RFC 7638 members."""
        if self._members is None:
            object.__setattr__(self, "_members", _public_members(self.key))
        assert self._members is not None
        return dict(self._members)

    def jwk(self) -> dict[str, str]:
        """The public JWK with ``kid`` and ``alg``."""
        return {**self.members(), "kid": self.kid, "alg": self.alg}


@dataclass(frozen=True)
class SigningKey:
    """A private key with its one algorithm; ``public`` is the matching :class:`PublicKey`."""

    key: PrivateKeyType
    alg: str
    public: PublicKey = field(init=False)

    def __post_init__(self) -> None:
        public = self.key.public_key()
        object.__setattr__(self, "public", PublicKey(public, self.alg, thumbprint(public)))

    @property
    def kid(self) -> str:
        return self.public.kid


def generate_key(alg: str = "ES256") -> SigningKey:
    if alg == "ES256":
        return SigningKey(ec.generate_private_key(ec.SECP256R1()), alg)
    if alg == "EdDSA":
        return SigningKey(ed25519.Ed25519PrivateKey.generate(), alg)
    raise SignatureError(f"unsupported algorithm {alg!r}", code="alg_not_allowed")


def _alg_for(key: PublicKeyType | PrivateKeyType) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise MalformedError("only P-256 EC keys are supported", code="key_unsupported")
        return "ES256"
    return "EdDSA"


def _public_members(key: PublicKeyType) -> dict[str, str]:
    """The RFC 7638 required members, which are also the whole public JWK minus kid/alg."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        numbers = key.public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        }
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(raw)}


def thumbprint(key: PublicKeyType) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): required members, sorted, no whitespace."""
    return _thumbprint_of(_public_members(key))


def _thumbprint_of(members: dict[str, str]) -> str:
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def valid_kid(kid: Any) -> bool:
    """A key id Puente accepts: 1 to 1024 printable ASCII characters (space to tilde)."""
    return (isinstance(kid, str) and 0 < len(kid) <= MAX_KID_LENGTH
            and all(" " <= ch <= "~" for ch in kid))


def public_key_from_key(key: Any, kid: str | None = None) -> PublicKey:
    """Wrap a ``cryptography`` public key (for example a certificate's) as a :class:`PublicKey`."""
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise MalformedError("only P-256 and Ed25519 keys are supported", code="key_unsupported")
    return PublicKey(key, _alg_for(key), kid or thumbprint(key))


def _coordinate(jwk: dict[str, Any], name: str, size: int) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise MalformedError(f"JWK member {name!r} missing", code="jwk_invalid")
    raw = b64url_decode(value)
    if len(raw) != size:
        raise MalformedError(f"JWK member {name!r} has the wrong length", code="jwk_invalid")
    return raw


def public_key_from_jwk(jwk: Any, *, keep_kid: bool = False) -> PublicKey:
    """Import a public JWK; refuses private members, foreign curves and an ``alg`` that does not fit.

    By default ``kid`` is recomputed as the thumbprint and a JWK whose own ``kid`` differs is
    refused. ``keep_kid`` (an accredited institution's published keys) keeps the JWK's own ``kid``
    — any printable ASCII string up to 1 KiB, as RFC 7517 allows — or the thumbprint if it has none.
    """
    if not isinstance(jwk, dict):
        raise MalformedError("JWK must be an object", code="jwk_invalid")
    if "d" in jwk:
        raise MalformedError("JWK carries a private key", code="jwk_private")
    key: PublicKeyType
    # The coordinates decoded to exactly 32 bytes from canonical base64url (b64url_decode refuses
    # any other spelling), so the JWK's own strings are the RFC 7638 members, as exporting the key
    # would spell them.
    members: dict[str, str]
    try:
        if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
            x = int.from_bytes(_coordinate(jwk, "x", 32), "big")
            y = int.from_bytes(_coordinate(jwk, "y", 32), "big")
            key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
            members = {"crv": "P-256", "kty": "EC", "x": jwk["x"], "y": jwk["y"]}
        elif jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            key = ed25519.Ed25519PublicKey.from_public_bytes(_coordinate(jwk, "x", 32))
            members = {"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]}
        else:
            raise MalformedError("unsupported JWK key type or curve", code="jwk_invalid")
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise MalformedError("JWK is not a valid public key", code="jwk_invalid") from exc
    alg = _alg_for(key)
    if jwk.get("alg", alg) != alg:
        raise MalformedError("JWK alg does not match its key type", code="key_unsupported")
    kid = _thumbprint_of(members)
    if keep_kid and "kid" in jwk:
        if not valid_kid(jwk["kid"]):
            raise MalformedError("JWK kid must be 1 to 1024 printable ASCII characters", code="kid_invalid")
        return PublicKey(key, alg, jwk["kid"], members)
    if "kid" in jwk and jwk["kid"] != kid:
        raise MalformedError("JWK kid is not its RFC 7638 thumbprint", code="jwk_invalid")
    return PublicKey(key, alg, kid, members)


def private_key_to_pem(key: SigningKey, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def load_private_pem(data: bytes, password: bytes | None = None) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise MalformedError("not a usable private key", code="key_invalid") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise MalformedError("only P-256 and Ed25519 keys are supported", code="key_unsupported")
    return SigningKey(key, _alg_for(key))


def private_key_to_jwk(key: SigningKey) -> dict[str, str]:
    """Private JWK (for wallets and tests); never published."""
    jwk = dict(key.public.jwk())
    if isinstance(key.key, ec.EllipticCurvePrivateKey):
        d = key.key.private_numbers().private_value.to_bytes(32, "big")
    else:
        d = key.key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
    jwk["d"] = b64url_encode(d)
    return jwk


def private_key_from_jwk(jwk: dict[str, Any]) -> SigningKey:
    public = public_key_from_jwk({k: v for k, v in jwk.items() if k != "d"})
    d = _coordinate(jwk, "d", 32)
    private: PrivateKeyType
    if public.alg == "ES256":
        private = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.from_private_bytes(d)
    signing = SigningKey(private, public.alg)
    if signing.kid != public.kid:
        raise MalformedError("JWK private and public parts do not match", code="jwk_invalid")
    return signing

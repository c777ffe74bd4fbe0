"""Key-binding JWT (RFC 9901 §4.3, §7.3): proof that the presenter holds the key in ``cnf``.

The verifier decides by policy whether binding is required; for Puente the issuer-signed ``cnf``
decides (a wallet credential is always bound, a paper credential never), so stripping the KB-JWT
from a wallet credential fails with ``kb_missing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from credcore import jws
from credcore.disclosure import hash_b64
from credcore.errors import CredentialError, KeyBindingError
from credcore.keys import PublicKey, SigningKey, public_key_from_jwk
from credcore.ports import NonceStore

KB_TYP = "kb+jwt"
OFFLINE_AUDIENCE = "urn:puente:offline"
MAX_NONCE_LENGTH = 128


def create_kb_jwt(
    presented: str, holder_key: SigningKey, *, aud: str, nonce: str, iat: int, sd_alg: str = "sha-256"
) -> str:
    """Sign a KB-JWT over ``presented`` (the SD-JWT up to and including its last ``~``)."""
    payload = {"iat": iat, "aud": aud, "nonce": nonce, "sd_hash": hash_b64(presented, sd_alg)}
    return jws.sign(payload, holder_key, {"typ": KB_TYP}, include_kid=False)


def holder_key_from_cnf(cnf: Any, keys: HolderKeys | None = None) -> PublicKey:
    """The holder key from ``cnf.jwk``; remote references (jku, x5u, kid URLs) are never followed.
    ``keys``: the holder keys a long-lived verifier already imported (None: import this one)."""
    if not isinstance(cnf, dict) or set(cnf) != {"jwk"}:
        raise KeyBindingError("cnf must hold exactly one embedded jwk", code="cnf_invalid")
    try:
        return keys.get(cnf["jwk"]) if keys is not None else public_key_from_jwk(cnf["jwk"])
    except CredentialError as exc:
        raise KeyBindingError(f"cnf.jwk is not usable: {exc.description}", code="cnf_invalid") from exc


class HolderKeys:
    """Holder JWKs imported (and validated) once: point validation is a costly part of verifying.
    A verifier that checks many presentations keeps one (``credcore.verify.VerifierMemory``)."""

    def __init__(self, limit: int = 4096) -> None:
        self._keys: dict[tuple[tuple[str, str], ...], PublicKey] = {}
        self._limit = limit

    def get(self, jwk: Any) -> PublicKey:
        if not isinstance(jwk, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in jwk.items()):
            return public_key_from_jwk(jwk)
        cache_key = tuple(sorted(jwk.items()))
        found = self._keys.get(cache_key)
        if found is None:
            found = public_key_from_jwk(jwk)
            if len(self._keys) > self._limit:
                self._keys.clear()
            self._keys[cache_key] = found
        return found


@dataclass(frozen=True)
class KeyBindingPolicy:
    """What a KB-JWT must say. ``nonce=None`` means "any fresh nonce", enforced by a replay store
    (the offline QR case); otherwise it must equal this transaction's nonce."""

    audience: str = OFFLINE_AUDIENCE
    nonce: str | None = None
    max_age: int = 300
    leeway: int = 60


def _kb_claims(token: str, holder: PublicKey) -> dict[str, Any]:
    try:
        parsed = jws.parse(token)
        jws.check_header(parsed, KB_TYP)
        jws.verify_signature(parsed, holder)
        return parsed.claims()
    except CredentialError as exc:
        raise KeyBindingError(f"key-binding JWT rejected: {exc.description}", code="kb_invalid") from exc


def verify_kb_jwt(
    token: str,
    presented: str,
    holder: PublicKey,
    *,
    policy: KeyBindingPolicy,
    now: int,
    nonce_store: NonceStore | None,
    sd_alg: str = "sha-256",
) -> dict[str, Any]:
    """Verify signature, ``typ``, ``aud``, ``iat`` window, ``sd_hash`` and then ``nonce``; return claims."""
    claims = _kb_claims(token, holder)
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise KeyBindingError("KB-JWT iat missing or not an integer", code="kb_invalid")
    if iat > now + policy.leeway:
        raise KeyBindingError("KB-JWT issued in the future", code="iat_invalid")
    if iat < now - policy.max_age - policy.leeway:
        raise KeyBindingError("KB-JWT is too old (a photo of an old QR?)", code="kb_expired")
    if not isinstance(claims.get("aud"), str) or claims["aud"] != policy.audience:
        raise KeyBindingError("KB-JWT is for another audience", code="kb_audience")
    sd_hash = claims.get("sd_hash")
    if not isinstance(sd_hash, str) or sd_hash != hash_b64(presented, sd_alg):
        raise KeyBindingError("sd_hash does not match the presented disclosures", code="kb_sd_hash")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce or len(nonce) > MAX_NONCE_LENGTH:
        raise KeyBindingError("KB-JWT nonce missing or invalid", code="kb_invalid")
    if policy.nonce is not None and nonce != policy.nonce:
        raise KeyBindingError("KB-JWT nonce is not this transaction's nonce", code="replayed")
    if nonce_store is not None:
        expires = iat + policy.max_age + 2 * policy.leeway
        if not nonce_store.consume(f"{policy.audience}|{nonce}", expires, now):
            raise KeyBindingError("this presentation was already used", code="replayed")
    return claims

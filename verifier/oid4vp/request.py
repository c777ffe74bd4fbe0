"""The request side of OpenID4VP (standards.md §5): the presets and custom DCQL queries a frontend
may ask with, a fresh transaction, and the request object by reference (``request_uri``, RFC 9101).

With a configured identity (verifier/oid4vp/secure.py) the request object is signed, the client
identifier is ``x509_hash:…`` or ``x509_san_dns:…`` and, in ``direct_post.jwt`` mode, the answer
comes encrypted to an ephemeral key the request carries (HAIP 1.0). Without one it is unsigned
(``alg: none``) because the client identifier prefix is ``redirect_uri`` (§5.9.3: such requests
cannot be signed); the client identifier is ``redirect_uri:<response URI>``, so a wallet knows where
the answer goes, and with ``vp_request_by_value`` the parameters travel in the QR itself when they
fit. Every request names the verifier in Spanish and English (``client_metadata.client_name``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from credcore.credential_types import TypeRegistry
from credcore.dcql import FORMAT, DcqlError, show, validate_dcql
from credcore.encoding import b64url_encode, dumps_compact
from verifier.oid4vp.secure import ENCRYPTION_VALUES, new_encryption_key
from verifier.oid4vp.transactions import Transaction, _digest

if TYPE_CHECKING:
    from verifier.service import VerifierService

REQUEST_OBJECT_TYP = "oauth-authz-req+jwt"
REQUEST_OBJECT_MEDIA_TYPE = "application/oauth-authz-req+jwt"
CLIENT_ID_PREFIX = "redirect_uri:"
STATIC_DISCOVERY_AUDIENCE = "https://self-issued.me/v2"  # §5.8: aud of a request object, static discovery
ALGORITHMS = ["ES256", "EdDSA"]
VP_FORMATS_SUPPORTED = {FORMAT: {"sd-jwt_alg_values": ALGORITHMS, "kb-jwt_alg_values": ALGORITHMS}}
TOKEN_BYTES = 24  # nonce, state and result token: 192 bits of CSPRNG output, base64url
ID_BYTES = 18  # transaction id: 144 bits
MAX_QR_BY_VALUE = 1200  # characters: beyond this a by-value request would need a dense, hard-to-scan QR


class PresetUnavailable(Exception):
    """No issuer on the current trust list issues the preset's credential type."""


@dataclass(frozen=True)
class Preset:
    query_id: str
    type_id: str
    claims: tuple[str, ...]


PRESETS = {
    "employment": Preset("employment", "skills-certification",
                         ("given_name", "family_name", "competency_title", "competency_code")),
    "bank-kyc": Preset("kyc", "ppt-status", ("given_name", "family_name", "document_number", "birthdate")),
}



def vcts_of_type(types: TypeRegistry, type_id: str) -> list[str]:
    """Every vct of the trust list whose type is ``type_id`` (one per issuing deployment)."""
    return sorted(vct for vct, ctype in types.by_vct.items() if ctype.id == type_id)


def preset_query(name: str, types: TypeRegistry) -> dict[str, Any]:
    preset = PRESETS.get(name)
    if preset is None:
        raise DcqlError("preset", f"unknown preset {show(name)}; one of {', '.join(sorted(PRESETS))}")
    vcts = vcts_of_type(types, preset.type_id)
    if not vcts:
        raise PresetUnavailable(f"no trusted issuer issues {preset.type_id}")
    return {"credentials": [{
        "id": preset.query_id, "format": FORMAT, "meta": {"vct_values": vcts},
        "require_cryptographic_holder_binding": True,
        "claims": [{"path": [name]} for name in preset.claims],
    }]}


def query_from_body(body: Any, types: TypeRegistry) -> dict[str, Any]:
    """``{"preset": name}`` or ``{"dcql_query": {…}}`` → the DCQL query to send."""
    if not isinstance(body, dict) or len(body) != 1 or not set(body) <= {"preset", "dcql_query"}:
        raise DcqlError("body", 'send exactly one of {"preset": "employment" | "bank-kyc"} or {"dcql_query": {…}}')
    if "preset" in body:
        if not isinstance(body["preset"], str):
            raise DcqlError("preset", "must be a string")
        return preset_query(body["preset"], types)
    return validate_dcql(body["dcql_query"], types)


def create_transaction(service: VerifierService, query: dict[str, Any],
                       owner: str = "") -> tuple[Transaction, str]:
    """A fresh transaction (id, nonce, state, result token) for ``query``; returns it and the
    result token, which is never stored in clear. ``owner`` names the client whose quota of open
    requests it counts against."""
    now = service.clock.now()
    settings = service.settings
    ttl = settings.presentation_request_ttl_seconds
    tx_id = secrets.token_urlsafe(ID_BYTES)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    base = settings.base_url
    response_uri = f"{base}/vp/{tx_id}/response"
    identity = service.identity
    mode = settings.vp_response_mode if identity is not None else "direct_post"
    tx = Transaction(
        id=tx_id, nonce=secrets.token_urlsafe(TOKEN_BYTES), state=secrets.token_urlsafe(TOKEN_BYTES),
        token_digest=_digest(token), query=query,
        client_id=identity.client_id if identity is not None else CLIENT_ID_PREFIX + response_uri,
        response_uri=response_uri, request_uri=f"{base}/vp/{tx_id}/request", created_at=now, ttl=ttl,
        expires_at=now + ttl, forget_at=now + 2 * ttl, response_mode=mode,
        enc_jwk=new_encryption_key()[0] if mode == "direct_post.jwt" else None, owner=owner,
    )
    if identity is None and settings.vp_request_by_value:
        parameters = {k: v for k, v in _parameters(tx, service).items() if k not in ("aud", "iat", "exp")}
        by_value = "openid4vp://?" + urlencode({k: v if isinstance(v, str) else dumps_compact(v)
                                                for k, v in parameters.items()})
        if len(by_value) <= MAX_QR_BY_VALUE:
            tx.qr = by_value
    service.transactions.add(tx, now)
    return tx, token


def _b64_json(value: Any) -> str:
    return b64url_encode(dumps_compact(value).encode("utf-8"))


def client_metadata(tx: Transaction, service: VerifierService) -> dict[str, Any]:
    """Formats, the verifier's name in both languages and, for direct_post.jwt, the key to encrypt to."""
    settings = service.settings
    metadata: dict[str, Any] = {"vp_formats_supported": VP_FORMATS_SUPPORTED, "client_name": settings.vp_name_en,
                                "client_name#es": settings.vp_name_es, "client_name#en": settings.vp_name_en}
    if tx.enc_jwk is not None:
        public = {k: v for k, v in tx.enc_jwk.items() if k != "d"}
        metadata["jwks"] = {"keys": [public]}
        metadata["encrypted_response_enc_values_supported"] = list(ENCRYPTION_VALUES)
    return metadata


def _parameters(tx: Transaction, service: VerifierService) -> dict[str, Any]:
    return {
        "aud": STATIC_DISCOVERY_AUDIENCE,
        "client_id": tx.client_id,
        "response_type": "vp_token",
        "response_mode": tx.response_mode,
        "response_uri": tx.response_uri,
        "nonce": tx.nonce,
        "state": tx.state,
        "dcql_query": tx.query,
        "client_metadata": client_metadata(tx, service),
        "iat": tx.created_at,
        "exp": tx.expires_at,
    }


def request_object(tx: Transaction, service: VerifierService) -> str:
    """The request object: signed by the verifier's certified key when it has one; otherwise
    unsecured (RFC 9101 with ``alg: none``, as the ``redirect_uri`` prefix requires). It carries
    every parameter, so the wallet needs nothing from the QR but its ``client_id`` to compare."""
    payload = _parameters(tx, service)
    if service.identity is not None:
        return service.identity.sign(payload, REQUEST_OBJECT_TYP)
    header = {"alg": "none", "typ": REQUEST_OBJECT_TYP}
    return f"{_b64_json(header)}.{_b64_json(payload)}."

"""The trust list (PRODUCT.md "Trust"): accredited institutions, their keys, the credential types
each may issue, and validity periods; signed by the registry key as a ``puente-trust-list+jwt``.

Keys are looked up by the exact pair (``iss``, ``kid``) and only here: a key or URL in a token
header is never used. A genuine signature from an institution not accredited for the type is
``not_accredited_for_type``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jsonschema

from credcore import jws
from credcore.errors import (
    CredentialError,
    MalformedError,
    NotAccreditedError,
    UntrustedIssuerError,
)
from credcore.keys import PublicKey, SigningKey, public_key_from_jwk
from credcore.resources import package_dir

TRUST_LIST_TYP = "puente-trust-list+jwt"
SCHEMA_PATH = package_dir("schemas") / "trust-list.schema.json"


def parse_time(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def format_time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text("utf-8")))


@dataclass(frozen=True)
class TrustedIssuer:
    id: str
    name: str
    keys: dict[str, PublicKey]
    compromised: frozenset[str]
    vcts: frozenset[str]
    valid_from: int
    valid_until: int | None


@dataclass(frozen=True)
class TrustList:
    issued_at: int
    next_update: int
    issuers: dict[str, TrustedIssuer] = field(default_factory=dict)

    @classmethod
    def from_json(cls, document: Any) -> TrustList:
        """Build from the JSON shape of ``schemas/trust-list.schema.json``; refuses anything else."""
        errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path)
            raise MalformedError(f"trust list invalid at {where or '/'}: {errors[0].message[:200]}",
                                 code="trust_list_invalid")
        issuers: dict[str, TrustedIssuer] = {}
        for entry in document["issuers"]:
            if entry["id"] in issuers:
                raise MalformedError("issuer listed twice", code="trust_list_invalid")
            keys = {}
            for jwk in entry["keys"]:
                key = public_key_from_jwk({k: v for k, v in jwk.items() if k != "compromised"})
                keys[key.kid] = key
            issuers[entry["id"]] = TrustedIssuer(
                id=entry["id"],
                name=entry["name"],
                keys=keys,
                compromised=frozenset(k["kid"] for k in entry["keys"] if k.get("compromised")),
                vcts=frozenset(entry["vcts"]),
                valid_from=parse_time(entry["valid_from"]),
                valid_until=parse_time(entry["valid_until"]) if entry["valid_until"] else None,
            )
        return cls(parse_time(document["issued_at"]), parse_time(document["next_update"]), issuers)

    def issuer(self, iss: Any) -> TrustedIssuer:
        """Exact string match only: no prefix, case or trailing-slash games (security.md #85)."""
        if not isinstance(iss, str) or iss not in self.issuers:
            raise UntrustedIssuerError("issuer is not on the trust list", code="issuer_untrusted")
        return self.issuers[iss]

    def check_current(self, now: int, grace: int | None) -> None:
        """Refuse a list used more than ``grace`` seconds past its ``next_update`` (security.md #90);
        ``None`` keeps the last good list in force, as an offline verifier does."""
        if grace is not None and now > self.next_update + grace:
            raise UntrustedIssuerError("the trust list is out of date", code="trust_list_stale")

    def issuer_key(self, iss: Any, kid: Any, *, now: int) -> PublicKey:
        issuer = self.issuer(iss)
        if now < issuer.valid_from or (issuer.valid_until is not None and now > issuer.valid_until):
            raise UntrustedIssuerError("issuer accreditation is not in force", code="issuer_not_in_force")
        if not isinstance(kid, str) or kid not in issuer.keys:
            raise UntrustedIssuerError("signing key is not a key of this issuer", code="key_untrusted")
        if kid in issuer.compromised:
            raise UntrustedIssuerError("signing key is marked compromised", code="key_compromised")
        return issuer.keys[kid]

    def check_accreditation(self, iss: str, vct: Any) -> None:
        if not isinstance(vct, str) or vct not in self.issuer(iss).vcts:
            raise NotAccreditedError("issuer is not accredited for this credential type")

    def resolver(self, iss: Any, *, now: int) -> Any:
        """A ``resolve_key`` callable for :func:`credcore.jws.verify` bound to one issuer."""

        def resolve(token: jws.Jws) -> PublicKey:
            return self.issuer_key(iss, token.header.get("kid"), now=now)

        return resolve


def trust_list_document(
    *, issued_at: int, next_update: int, issuers: list[dict[str, Any]]
) -> dict[str, Any]:
    """Assemble and validate the JSON document (entries as in the schema)."""
    document = {"issued_at": format_time(issued_at), "next_update": format_time(next_update),
                "issuers": issuers}
    TrustList.from_json(document)
    return document


def sign_trust_list(document: dict[str, Any], registry_key: SigningKey, *, iat: int) -> str:
    payload = {**document, "iat": iat}
    return jws.sign(payload, registry_key, {"typ": TRUST_LIST_TYP})


@dataclass(frozen=True)
class SignedTrustList:
    trust_list: TrustList
    document: dict[str, Any]
    iat: int


def verify_trust_list(token: str, registry_key: PublicKey) -> SignedTrustList:
    """Verify a signed trust list against the pinned registry key (kid must match too)."""

    def pinned(parsed: jws.Jws) -> PublicKey:
        if parsed.header.get("kid") != registry_key.kid:
            raise UntrustedIssuerError("trust list signed by another key", code="key_untrusted")
        return registry_key

    try:
        parsed = jws.verify(token, typ=TRUST_LIST_TYP, resolve_key=pinned)
        claims = parsed.claims()
        iat = claims.pop("iat", None)
        if isinstance(iat, bool) or not isinstance(iat, int):
            raise MalformedError("trust list iat missing", code="trust_list_invalid")
        return SignedTrustList(TrustList.from_json(claims), claims, iat)
    except CredentialError:
        raise

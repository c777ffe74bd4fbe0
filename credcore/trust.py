"""The trust list (PRODUCT.md "Trust"): accredited institutions, their keys, the credential types
each may issue, and validity periods; signed by the registry key as a ``puente-trust-list+jwt``.

Keys are looked up by the exact pair (``iss``, ``kid``) and only here: a key or URL in a token
header is never used. A kid is any printable ASCII string up to 1 KiB (RFC 7517); a token without
``kid`` is accepted only when its issuer has exactly one usable (not compromised) key. An issuer
whose entry names X.509 CA certificates may instead sign with an ``x5c`` chain that validates to
one of them (credcore.x509_chain). A genuine signature from an institution not accredited for the
type is ``not_accredited_for_type``. Each entry also says, per type, whether credentials must carry
a ``status`` reference (``required``, the default) or may go without (``optional``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jsonschema
from cryptography import x509

from credcore import jws
from credcore.errors import (
    CredentialError,
    MalformedError,
    NotAccreditedError,
    UntrustedIssuerError,
)
from credcore.keys import PublicKey, SigningKey, public_key_from_jwk
from credcore.resources import package_dir
from credcore.x509_chain import key_from_x5c, load_der_b64

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
    x509_cas: tuple[x509.Certificate, ...] = ()
    status_optional: frozenset[str] = frozenset()

    def usable_keys(self) -> list[PublicKey]:
        return [key for kid, key in self.keys.items() if kid not in self.compromised]


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
                key = public_key_from_jwk({k: v for k, v in jwk.items() if k != "compromised"}, keep_kid=True)
                if key.kid in keys:
                    raise MalformedError("a kid is listed twice for one issuer", code="trust_list_invalid")
                keys[key.kid] = key
            policy = entry.get("status", {})
            if not set(policy) <= set(entry["vcts"]):
                raise MalformedError("status policy for a type the issuer is not accredited for",
                                     code="trust_list_invalid")
            cas = tuple(load_der_b64(text, code="trust_list_invalid") for text in entry.get("x509_cas", []))
            issuers[entry["id"]] = TrustedIssuer(
                id=entry["id"],
                name=entry["name"],
                keys=keys,
                compromised=frozenset(k["kid"] for k in entry["keys"] if k.get("compromised")),
                vcts=frozenset(entry["vcts"]),
                valid_from=parse_time(entry["valid_from"]),
                valid_until=parse_time(entry["valid_until"]) if entry["valid_until"] else None,
                x509_cas=cas,
                status_optional=frozenset(v for v, rule in policy.items() if rule == "optional"),
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
        issuer = self._in_force(iss, now)
        if kid is None:
            usable = issuer.usable_keys()
            if len(usable) != 1:
                raise UntrustedIssuerError("a token without kid needs an issuer with exactly one usable key",
                                           code="kid_required")
            return usable[0]
        if not isinstance(kid, str) or kid not in issuer.keys:
            raise UntrustedIssuerError("signing key is not a key of this issuer", code="key_untrusted")
        if kid in issuer.compromised:
            raise UntrustedIssuerError("signing key is marked compromised", code="key_compromised")
        return issuer.keys[kid]

    def _in_force(self, iss: Any, now: int) -> TrustedIssuer:
        issuer = self.issuer(iss)
        if now < issuer.valid_from or (issuer.valid_until is not None and now > issuer.valid_until):
            raise UntrustedIssuerError("issuer accreditation is not in force", code="issuer_not_in_force")
        return issuer

    def key_for(self, iss: Any, header: dict[str, Any], *, now: int) -> PublicKey:
        """The key of a token from ``iss``: from its ``x5c`` chain when the issuer is accredited
        through CA certificates and the token carries one, otherwise by (``iss``, ``kid``)."""
        issuer = self._in_force(iss, now)
        if issuer.x509_cas and "x5c" in header:
            return key_from_x5c(header["x5c"], issuer.x509_cas, issuer.id, now=now)
        if "x5c" in header and "kid" not in header:
            # A chain cannot replace the registry's keys for an issuer not accredited through a CA.
            raise UntrustedIssuerError("the issuer is not accredited through X.509 certificates",
                                       code="key_untrusted")
        return self.issuer_key(iss, header.get("kid"), now=now)

    def status_required(self, iss: str, vct: str) -> bool:
        return vct not in self.issuer(iss).status_optional

    def check_accreditation(self, iss: str, vct: Any) -> None:
        if not isinstance(vct, str) or vct not in self.issuer(iss).vcts:
            raise NotAccreditedError("issuer is not accredited for this credential type")

    def resolver(self, iss: Any, *, now: int) -> Any:
        """A ``resolve_key`` callable for :func:`credcore.jws.verify` bound to one issuer."""

        def resolve(token: jws.Jws) -> PublicKey:
            return self.key_for(iss, token.header, now=now)

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

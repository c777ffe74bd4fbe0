"""Institutions and their signing keys: creation, rotation, compromise, and the trust list the
registry key signs over all of them."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from credcore.keys import SigningKey as CoreSigningKey
from credcore.keys import generate_key, load_private_pem, private_key_to_pem, public_key_from_jwk
from credcore.trust import format_time, sign_trust_list, trust_list_document
from issuer import audit
from issuer.db.models import Institution, RegistryKey, SigningKey
from issuer.deps import Deps
from issuer.errors import Conflict, Invalid, NotFound, Unavailable

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")


def _seal_key(deps: Deps, key: CoreSigningKey) -> bytes:
    return deps.box.seal(private_key_to_pem(key), f"signing-key:{key.kid}")


def add_signing_key(session: Session, deps: Deps, institution: Institution) -> SigningKey:
    """Generate a key and make it the one new credentials are signed with; the old one is retired
    but stays published while credentials signed by it may still be valid."""
    core = generate_key(deps.settings.signing_alg)
    now = deps.now()
    for old in session.exec(select(SigningKey).where(SigningKey.institution_id == institution.id,
                                                     SigningKey.state == "active")):
        old.state, old.retired_at = "retired", now
        session.add(old)
    row = SigningKey(institution_id=institution.id or 0, kid=core.kid, alg=core.alg,
                     public_jwk=core.public.jwk(), private_sealed=_seal_key(deps, core), created_at=now)
    session.add(row)
    session.flush()
    return row


def create_institution(session: Session, deps: Deps, *, slug: str, name: str, types: list[str],
                       actor: str = "operator") -> Institution:
    if not SLUG.fullmatch(slug):
        raise Invalid("Identificador inválido (minúsculas, números y guiones).",
                      "Invalid slug (lower case, digits and hyphens).", code="invalid_slug")
    unknown = [t for t in types if t not in deps.types.by_id]
    if unknown:
        raise Invalid(f"Tipos desconocidos: {', '.join(unknown)}", f"Unknown types: {', '.join(unknown)}",
                      code="unknown_type")
    if session.exec(select(Institution).where(Institution.slug == slug)).first():
        raise Conflict("Ya existe una institución con ese identificador.", "An institution with that slug exists.",
                       code="institution_exists")
    now = deps.now()
    institution = Institution(slug=slug, name=name, types=sorted(set(types)), created_at=now, valid_from=now - 86_400)
    session.add(institution)
    session.flush()
    add_signing_key(session, deps, institution)
    audit.record(session, at=now, actor=actor, action="institution.create", institution_id=institution.id,
                 target=slug, details={"types": institution.types})
    return institution


def accredit_external(session: Session, deps: Deps, *, issuer_id: str, name: str, jwks: dict[str, Any],
                      types: list[str], actor: str = "operator") -> Institution:
    """Accredit an institution that runs its own issuing software, from its public JWKS."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise Invalid("El JWKS no tiene claves.", "The JWKS has no keys.", code="jwks_invalid")
    parsed = [public_key_from_jwk({k: v for k, v in jwk.items() if k not in ("use", "key_ops")}) for jwk in keys]
    slug = "ext-" + re.sub(r"[^a-z0-9]+", "-", issuer_id.lower().split("://", 1)[-1]).strip("-")[:50]
    if session.exec(select(Institution).where(Institution.external_id == issuer_id)).first():
        raise Conflict("Esa institución ya está acreditada.", "That institution is already accredited.",
                       code="institution_exists")
    unknown = [t for t in types if t not in deps.types.by_id]
    if unknown:
        raise Invalid(f"Tipos desconocidos: {', '.join(unknown)}", f"Unknown types: {', '.join(unknown)}",
                      code="unknown_type")
    now = deps.now()
    institution = Institution(slug=slug, name=name, types=sorted(set(types)), external_id=issuer_id,
                              created_at=now, valid_from=now - 86_400)
    session.add(institution)
    session.flush()
    for key in parsed:
        session.add(SigningKey(institution_id=institution.id or 0, kid=key.kid, alg=key.alg,
                               public_jwk=key.jwk(), private_sealed=None, created_at=now))
    audit.record(session, at=now, actor=actor, action="institution.accredit_external",
                 institution_id=institution.id, target=issuer_id, details={"types": institution.types})
    return institution


def issuer_id(deps: Deps, institution: Institution) -> str:
    return institution.external_id or deps.settings.issuer_id(institution.slug)


def by_slug(session: Session, slug: str) -> Institution:
    found = session.exec(select(Institution).where(Institution.slug == slug)).first()
    if found is None or found.external_id:
        raise NotFound("Institución desconocida.", "Unknown institution.", code="unknown_institution")
    return found


_KEY_CACHE: dict[tuple[int, str], CoreSigningKey] = {}


def active_key(session: Session, deps: Deps, institution: Institution) -> CoreSigningKey:
    """The key new credentials are signed with. Never falls back to another key (security.md #140)."""
    row = session.exec(select(SigningKey).where(SigningKey.institution_id == institution.id,
                                                SigningKey.state == "active")).first()
    if row is None or row.private_sealed is None:
        raise Unavailable("La institución no tiene clave de firma activa.",
                          "The institution has no active signing key.", code="no_signing_key")
    cache_key = (id(deps.box), row.kid)
    if cache_key not in _KEY_CACHE:
        _KEY_CACHE[cache_key] = load_private_pem(deps.box.open(row.private_sealed, f"signing-key:{row.kid}"))
    return _KEY_CACHE[cache_key]


def mark_compromised(session: Session, deps: Deps, institution: Institution, kid: str, *, actor: str) -> SigningKey:
    row = session.exec(select(SigningKey).where(SigningKey.institution_id == institution.id,
                                                SigningKey.kid == kid)).first()
    if row is None:
        raise NotFound("Clave desconocida.", "Unknown key.", code="unknown_key")
    was_active = row.state == "active"
    row.state, row.compromised_at = "compromised", deps.now()
    session.add(row)
    if was_active and institution.external_id is None:
        add_signing_key(session, deps, institution)
    audit.record(session, at=deps.now(), actor=actor, action="key.compromised", institution_id=institution.id,
                 target=kid)
    return row


def published_keys(session: Session, institution: Institution, *, include_compromised: bool) -> list[dict[str, Any]]:
    rows = session.exec(select(SigningKey).where(SigningKey.institution_id == institution.id)
                        .order_by(col(SigningKey.id))).all()
    keys = []
    for row in rows:
        if row.state == "compromised" and not include_compromised:
            continue
        jwk = dict(row.public_jwk)
        if row.state == "compromised":
            jwk["compromised"] = True
        keys.append(jwk)
    return keys


# ----------------------------------------------------------------------------- registry and trust list


def registry_key(session: Session, deps: Deps) -> CoreSigningKey:
    """The operator's registry key (made on first use), which signs the trust list."""
    row = session.exec(select(RegistryKey).order_by(col(RegistryKey.id).desc())).first()
    if row is None:
        core = generate_key("ES256")
        row = RegistryKey(kid=core.kid, public_jwk=core.public.jwk(), created_at=deps.now(),
                          private_sealed=deps.box.seal(private_key_to_pem(core), f"registry-key:{core.kid}"))
        session.add(row)
        session.commit()
    return load_private_pem(deps.box.open(row.private_sealed, f"registry-key:{row.kid}"))


def trust_document(session: Session, deps: Deps) -> dict[str, Any]:
    now = deps.now()
    entries = []
    for institution in session.exec(select(Institution).order_by(col(Institution.id))):
        keys = published_keys(session, institution, include_compromised=True)
        if not keys:
            continue
        entries.append({
            "id": issuer_id(deps, institution),
            "name": institution.name,
            "keys": keys,
            "vcts": [deps.types.get(t).vct for t in institution.types],
            "valid_from": format_time(institution.valid_from),
            "valid_until": format_time(institution.valid_until) if institution.valid_until else None,
        })
    return trust_list_document(issued_at=now, next_update=now + deps.settings.trust_list_validity_seconds,
                               issuers=entries)


def signed_trust_list(session: Session, deps: Deps) -> str:
    return sign_trust_list(trust_document(session, deps), registry_key(session, deps), iat=deps.now())

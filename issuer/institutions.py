"""Institutions and their signing keys: creation, rotation, compromise, and the trust list the
registry key signs over all of them."""

from __future__ import annotations

import re
from typing import Any

from cryptography import x509
from sqlmodel import Session, col, select

from credcore.errors import CredentialError
from credcore.keys import PublicKey, generate_key, load_private_pem, private_key_to_pem, public_key_from_jwk, thumbprint
from credcore.keys import SigningKey as CoreSigningKey
from credcore.messages import Ref, text
from credcore.trust import format_time, sign_trust_list, trust_list_document
from credcore.x509_chain import der_b64
from issuer import audit
from issuer.db.models import Institution, RegistryKey, SigningKey
from issuer.deps import Deps
from issuer.errors import Conflict, Invalid, NotFound, Unavailable
from issuer.repository import institution_by_slug

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
    row = SigningKey(institution_id=institution.id or 0, kid=core.kid, thumbprint=core.kid, alg=core.alg,
                     public_jwk=core.public.jwk(), private_sealed=_seal_key(deps, core), created_at=now)
    session.add(row)
    session.flush()
    return row


def create_institution(session: Session, deps: Deps, *, slug: str, name: str, types: list[str],
                       actor: str = "operator") -> Institution:
    if not SLUG.fullmatch(slug):
        raise Invalid("invalid_slug")
    unknown = [t for t in types if t not in deps.types.by_id]
    if unknown:
        raise Invalid("unknown_type", variant="types", types=", ".join(unknown))
    if institution_by_slug(session, slug):
        raise Conflict("institution_exists")
    now = deps.now()
    institution = Institution(slug=slug, name=name, types=sorted(set(types)), created_at=now, valid_from=now - 86_400)
    session.add(institution)
    session.flush()
    add_signing_key(session, deps, institution)
    audit.record(session, at=now, actor=actor, action="institution.create", institution_id=institution.id,
                 target=slug, details={"types": institution.types})
    return institution


PHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,38}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}")


def contact_line(institution: Institution) -> str:
    """The contact details on one line, as printed: phone · email · web."""
    return " · ".join(v for v in (institution.contact_phone, institution.contact_email, institution.contact_web) if v)


def _contact_error(field: str) -> dict[str, str]:
    return {"field": field, "code": "format", "message": text(f"field.{field}", "es"),
            "message_en": text(f"field.{field}", "en")}


def set_contact(session: Session, deps: Deps, institution: Institution, *, phone: str | None, email: str | None,
                web: str | None, actor: str = "operator") -> Institution:
    """Set (or clear, with empty values) where holders turn; each value is checked for its shape."""
    phone, email, web = ((value or "").strip() or None for value in (phone, email, web))
    errors = []
    if phone and not PHONE.fullmatch(phone):
        errors.append(_contact_error("contact_phone"))
    if email and not EMAIL.fullmatch(email):
        errors.append(_contact_error("contact_email"))
    if web and not (web.startswith("https://") and len(web) <= 300 and " " not in web):
        errors.append(_contact_error("contact_web"))
    if errors:
        raise Invalid("invalid_contact", errors=errors)
    institution.contact_phone, institution.contact_email, institution.contact_web = phone, email, web
    session.add(institution)
    audit.record(session, at=deps.now(), actor=actor, action="institution.contact", institution_id=institution.id,
                 target=institution.slug, details={"phone": phone, "email": email, "web": web})
    return institution


def _external_keys(session: Session, jwks: Any) -> list[PublicKey]:
    """The JWKS's signing keys with their own kids (any printable ASCII up to 1 KiB, RFC 7517);
    a key or kid listed twice, or a key another institution already has, is refused clearly."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or len(keys) > 20:
        raise Invalid("jwks_invalid")
    parsed: list[PublicKey] = []
    for number, jwk in enumerate(keys, 1):
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            raise Invalid("jwks_invalid", variant="not_signing", number=number)
        try:
            parsed.append(public_key_from_jwk({k: v for k, v in jwk.items() if k not in ("use", "key_ops")},
                                              keep_kid=True))
        except CredentialError as exc:
            raise Invalid("jwks_invalid", variant="key_invalid", number=number,
                          reason=Ref(f"code.{exc.code}")) from None
    kids = [key.kid for key in parsed]
    prints = [thumbprint(key.key) for key in parsed]
    if len(set(kids)) != len(kids) or len(set(prints)) != len(prints):
        raise Invalid("jwks_duplicate_key")
    if prints and session.exec(select(SigningKey).where(col(SigningKey.thumbprint).in_(prints))).first():
        raise Conflict("key_already_accredited")
    return parsed


def _ca_certificates(pems: list[bytes]) -> list[str]:
    """CA certificates (PEM) as the trust list carries them: base64 DER, each a CA."""
    out: list[str] = []
    for number, pem in enumerate(pems, 1):
        try:
            certs = x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise Invalid("ca_invalid", variant="not_pem", number=number) from None
        for cert in certs:
            try:
                is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            except x509.ExtensionNotFound:
                is_ca = False
            if not is_ca:
                raise Invalid("ca_invalid", variant="not_ca", subject=cert.subject.rfc4514_string()[:100])
            out.append(der_b64(cert))
    if len(set(out)) != len(out) or len(out) > 10:
        raise Invalid("ca_invalid")
    return out


def _known_types(deps: Deps, types: list[str]) -> None:
    unknown = [t for t in types if t not in deps.types.by_id]
    if unknown:
        raise Invalid("unknown_type", variant="types", types=", ".join(unknown))


def accredit_external(session: Session, deps: Deps, *, issuer_id: str, name: str, jwks: dict[str, Any] | None,
                      types: list[str], actor: str = "operator", ca_pems: list[bytes] | None = None,
                      status_optional: list[str] | None = None) -> Institution:
    """Accredit an institution that runs its own issuing software, from its public JWKS and/or the
    X.509 CA certificates that certify its signing keys; ``status_optional`` lists the types whose
    credentials it issues without a status reference."""
    if not re.fullmatch(r"https?://[!-~]{1,290}", issuer_id):
        raise Invalid("invalid_issuer_id")
    if session.exec(select(Institution).where(Institution.external_id == issuer_id)).first():
        raise Conflict("institution_exists", variant="already_accredited")
    _known_types(deps, types)
    optional = sorted(set(status_optional or []))
    if not set(optional) <= set(types):
        raise Invalid("unknown_type", variant="status_optional")
    parsed = _external_keys(session, jwks) if jwks is not None else []
    cas = _ca_certificates(ca_pems or [])
    if not parsed and not cas:
        raise Invalid("jwks_invalid", variant="nothing_given")
    base = "ext-" + (re.sub(r"[^a-z0-9]+", "-", issuer_id.lower().split("://", 1)[-1]).strip("-")[:50] or "x")
    slug, suffix = base, 1
    while institution_by_slug(session, slug):
        suffix += 1
        slug = f"{base}-{suffix}"
    now = deps.now()
    institution = Institution(slug=slug, name=name, types=sorted(set(types)), external_id=issuer_id,
                              status_optional=optional, x509_cas=cas, created_at=now, valid_from=now - 86_400)
    session.add(institution)
    session.flush()
    for key in parsed:
        session.add(SigningKey(institution_id=institution.id or 0, kid=key.kid, thumbprint=thumbprint(key.key),
                               alg=key.alg, public_jwk=key.jwk(), private_sealed=None, created_at=now))
    audit.record(session, at=now, actor=actor, action="institution.accredit_external",
                 institution_id=institution.id, target=issuer_id,
                 details={"types": institution.types, "keys": len(parsed), "x509_cas": len(cas),
                          "status_optional": optional})
    return institution


def issuer_id(deps: Deps, institution: Institution) -> str:
    return institution.external_id or deps.settings.issuer_id(institution.slug)


def by_slug(session: Session, slug: str) -> Institution:
    found = institution_by_slug(session, slug)
    if found is None or found.external_id:
        raise NotFound("unknown_institution")
    return found


def active_key(session: Session, deps: Deps, institution: Institution) -> CoreSigningKey:
    """The key new credentials are signed with. Never falls back to another key (security.md #140)."""
    row = session.exec(select(SigningKey).where(SigningKey.institution_id == institution.id,
                                                SigningKey.state == "active")).first()
    if row is None or row.private_sealed is None:
        raise Unavailable("no_signing_key")
    opened = deps.caches.signing_keys
    if row.kid not in opened:
        opened[row.kid] = load_private_pem(deps.box.open(row.private_sealed, f"signing-key:{row.kid}"))
    return opened[row.kid]


def mark_compromised(session: Session, deps: Deps, institution: Institution, kid: str, *, actor: str) -> SigningKey:
    row = session.exec(select(SigningKey).where(SigningKey.institution_id == institution.id,
                                                SigningKey.kid == kid)).first()
    if row is None:
        raise NotFound("unknown_key", variant="console")
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
        if not keys and not institution.x509_cas:
            continue
        entry: dict[str, Any] = {
            "id": issuer_id(deps, institution),
            "name": institution.name,
            "keys": keys,
            "vcts": [deps.types.get(t).vct for t in institution.types],
            "valid_from": format_time(institution.valid_from),
            "valid_until": format_time(institution.valid_until) if institution.valid_until else None,
        }
        if institution.x509_cas:
            entry["x509_cas"] = list(institution.x509_cas)
        if institution.status_optional:
            entry["status"] = {deps.types.get(t).vct: "optional" for t in institution.status_optional}
        entries.append(entry)
    return trust_list_document(issued_at=now, next_update=now + deps.settings.trust_list_validity_seconds,
                               issuers=entries)


def signed_trust_list(session: Session, deps: Deps) -> str:
    return sign_trust_list(trust_document(session, deps), registry_key(session, deps), iat=deps.now())

"""Operator actions behind the ``puente`` command: they act directly on the database with the
master key, as the audit actor ``operator:cli``."""

from __future__ import annotations

import json
import os
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from credcore.issue import end_of_day_in_colombia
from credcore.messages import bilingual
from issuer import accounts
from issuer import credentials as creds
from issuer.audit import check_database
from issuer.config import Settings
from issuer.db.engine import migrate
from issuer.db.models import Institution, StaffUser
from issuer.deps import Deps, build_deps
from issuer.errors import NotFound
from issuer.institutions import (
    accredit_external,
    add_signing_key,
    create_institution,
    mark_compromised,
    set_contact,
    trust_document,
)
from issuer.oid4vci import offer_uri
from issuer.repository import institution_by_slug
from issuer.staff import Staff, create_api_key

ACTOR = "operator:cli"

DEMO_INSTITUTIONS = (
    ("sena", "SENA - Servicio Nacional de Aprendizaje", ["skills-certification"]),
    ("migracion", "Migración Colombia", ["ppt-status"]),
    ("mineducacion", "Ministerio de Educación Nacional", ["qualification-validation"]),
    ("comparte", "Comparte por una Vida (ONG)", ["skills-certification"]),
)

# Demo users' names as a greeting reads them ("Hola, Oficial de demostración"), not the institution's.
DEMO_NAMES = {"admin": "Administración de demostración", "oficial": "Oficial de demostración",
              "auditor": "Auditoría de demostración"}

# Where holders turn (example values for the demo; admins set the real ones in the console).
DEMO_CONTACTS = {
    "sena": ("+57 601 736 0000", "ayuda@sena.example", "https://sena.example/ayuda"),
    "migracion": ("+57 601 605 4700", "ayuda@migracion.example", "https://migracion.example/contacto"),
    "mineducacion": ("+57 601 222 2800", "atencion@mineducacion.example", None),
    "comparte": ("+57 300 555 0101", "hola@comparte.example", None),
}


def open_deps(settings: Settings) -> Deps:
    return build_deps(settings)


def institution(session: Session, slug: str) -> Institution:
    found = institution_by_slug(session, slug)
    if found is None:
        raise NotFound("unknown_institution", variant="slug", slug=slug)
    return found


def operator_staff(inst: Institution) -> Staff:
    """The operator acting for an institution (an unsaved admin key: nothing to steal or revoke)."""
    return Staff(inst, "admin", "admin:cli")


def seed(deps: Deps, keys_file: Path | None) -> list[dict[str, str]]:
    """Create the demo institutions (only those missing) with an admin and an officer API key each,
    and console users ``admin.<slug>``, ``oficial.<slug>`` and ``auditor.<slug>`` with random
    passwords (ready to use; the admin enrols TOTP at first sign-in)."""
    created: list[dict[str, str]] = []
    with deps.session() as session:
        for slug, name, types in DEMO_INSTITUTIONS:
            if institution_by_slug(session, slug):
                continue
            inst = create_institution(session, deps, slug=slug, name=name, types=types, actor=ACTOR)
            phone, email, web = DEMO_CONTACTS[slug]
            set_contact(session, deps, inst, phone=phone, email=email, web=web, actor=ACTOR)
            for role in ("admin", "officer"):
                text, _ = create_api_key(session, deps, inst, role=role, name=f"demo {role}", actor=ACTOR)
                created.append({"institution": slug, "role": role, "api_key": text})
            for role, prefix in (("admin", "admin"), ("officer", "oficial"), ("auditor", "auditor")):
                password = "-".join(secrets.token_hex(3) for _ in range(3))
                user = accounts.create_user(session, deps, inst, username=f"{prefix}.{slug}",
                                            display_name=DEMO_NAMES[prefix], role=role,
                                            password=password, actor=ACTOR)
                user.must_change_password = False
                session.add(user)
                created.append({"institution": slug, "role": role, "username": user.username, "password": password})
        session.commit()
    if keys_file is not None and created:
        existing: list[dict[str, str]] = json.loads(keys_file.read_text()) if keys_file.exists() else []
        keys_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(keys_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(existing + created, handle, indent=2)
    return created


def issue(deps: Deps, slug: str, type_id: str, claims: dict[str, Any], valid_until: str | None,
          lang: str) -> dict[str, Any]:
    with deps.session() as session:
        inst = institution(session, slug)
    until = end_of_day_in_colombia(date.fromisoformat(valid_until)) if valid_until else None
    issued = creds.issue_one(deps, operator_staff(inst), type_id=type_id, claims=claims, valid_until=until, lang=lang)
    return {"id": issued.credential.id, "type": type_id, "valid_until": issued.credential.valid_until,
            "offer": {"offer_uri": offer_uri(deps, inst, issued.offer), "tx_code": issued.tx_code,
                      "expires_at": issued.offer.expires_at}}


def reissue(deps: Deps, slug: str, credential_id: str) -> dict[str, Any]:
    """The credential issued again for a new phone (issuer.credentials.reissue): the new record's id,
    the original's, and the new offer; redeeming it revokes the original ("teléfono reemplazado")."""
    with deps.session() as session:
        inst = institution(session, slug)
    issued, original = creds.reissue(deps, operator_staff(inst), credential_id)
    return {"id": issued.credential.id, "replaces": original, "type": issued.credential.type_id,
            "valid_until": issued.credential.valid_until,
            "offer": {"offer_uri": offer_uri(deps, inst, issued.offer), "tx_code": issued.tx_code,
                      "expires_at": issued.offer.expires_at}}


def new_staff_user(deps: Deps, slug: str, username: str, display_name: str, role: str, password: str) -> str:
    """A console user who must choose a new password at first sign-in (admins also enrol TOTP)."""
    with deps.session() as session:
        user = accounts.create_user(session, deps, institution(session, slug), username=username,
                                    display_name=display_name, role=role, password=password, actor=ACTOR)
        session.commit()
        return user.username


def _acting_on(session: Session, username: str) -> tuple[Staff, int]:
    """The operator acting as an admin of the user's institution, and the user's id."""
    name = accounts.normalize_username(username)
    user = session.exec(select(StaffUser).where(StaffUser.username == name)).first()
    inst = session.get(Institution, user.institution_id) if user else None
    if user is None or inst is None:
        raise NotFound("user_not_found", variant="console")
    return Staff(inst, "admin", ACTOR), user.id or 0


def disable_staff_user(deps: Deps, username: str) -> None:
    """Disable a console user and end their sessions at once."""
    with deps.session() as session:
        operator, user_id = _acting_on(session, username)
        accounts.disable_user(session, deps, operator, user_id)
        session.commit()


def reset_staff_user(deps: Deps, username: str, password: str, second_factor: bool) -> None:
    """A temporary password (changed at next sign-in) and, if asked, a fresh TOTP enrolment."""
    with deps.session() as session:
        operator, user_id = _acting_on(session, username)
        accounts.reset_access(session, deps, operator, user_id, password=password, second_factor=second_factor)
        session.commit()


def list_staff_users(deps: Deps, slug: str) -> list[StaffUser]:
    with deps.session() as session:
        return accounts.users_of(session, institution(session, slug))


def change_status(deps: Deps, slug: str, credential_id: str, action: str, reason: str) -> str:
    with deps.session() as session:
        inst = institution(session, slug)
    record = creds.change_status(deps, operator_staff(inst), credential_id, action, reason)
    return creds.STATUS_NAMES[record.status]


def new_api_key(deps: Deps, slug: str, role: str, name: str) -> str:
    with deps.session() as session:
        inst = institution(session, slug)
        text, _ = create_api_key(session, deps, inst, role=role, name=name, actor=ACTOR)
        session.commit()
    return text


def rotate_key(deps: Deps, slug: str) -> str:
    with deps.session() as session:
        inst = institution(session, slug)
        row = add_signing_key(session, deps, inst)
        from issuer import audit

        audit.record(session, at=deps.now(), actor=ACTOR, action="key.rotate", institution_id=inst.id, target=row.kid)
        session.commit()
        return row.kid


def compromised(deps: Deps, slug: str, kid: str) -> None:
    with deps.session() as session:
        mark_compromised(session, deps, institution(session, slug), kid, actor=ACTOR)
        session.commit()


def accredit(deps: Deps, issuer_id: str, name: str, jwks: dict[str, Any] | None, types: list[str], *,
             ca_pems: list[bytes] | None = None, status_optional: list[str] | None = None) -> str:
    with deps.session() as session:
        inst = accredit_external(session, deps, issuer_id=issuer_id, name=name, jwks=jwks, types=types, actor=ACTOR,
                                 ca_pems=ca_pems, status_optional=status_optional)
        session.commit()
        return inst.slug


def export_trust_list(deps: Deps, signed: bool) -> str:
    from issuer.institutions import signed_trust_list

    with deps.session() as session:
        if signed:
            return signed_trust_list(session, deps)
        return json.dumps(trust_document(session, deps), ensure_ascii=False, indent=2)


def registry_public_jwk(deps: Deps) -> dict[str, str]:
    """The registry's public key, which every verifier pins."""
    from issuer.institutions import registry_key

    with deps.session() as session:
        return registry_key(session, deps).public.jwk()


def verify_audit(deps: Deps) -> tuple[bool, str]:
    with deps.session() as session:
        check = check_database(session)
    if check.ok:
        return True, f"{bilingual('operator.audit_intact')}: {check.events} {bilingual('operator.audit_events')}"
    return False, f"{bilingual('operator.audit_broken')} {check.broken_at}: {check.reason}"


__all__ = ["migrate"]

"""Staff API keys: shown once, stored as keyed hashes, one institution and one role each,
revocable with immediate effect."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from issuer import audit
from issuer.db.models import ApiKey, Institution
from issuer.deps import Deps
from issuer.errors import Forbidden, Invalid, NotFound, Unauthorized

ROLES = ("admin", "officer", "auditor")
KEY_PREFIX = "pk_"

# What each role may do. Reading credentials with their claims is for admins and officers;
# auditors see records without claim values and the audit log.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"issue", "status", "read", "read_claims", "batch", "audit", "manage"}),
    "officer": frozenset({"issue", "status", "read", "read_claims", "batch"}),
    "auditor": frozenset({"read", "audit"}),
}


@dataclass(frozen=True)
class Staff:
    """Who is acting, for which institution and in which role: an API key (``api_key_id``) or a
    console user signed in with password (``user_id``); the operator's CLI has neither."""

    institution: Institution
    role: str
    actor: str
    api_key_id: int | None = None
    user_id: int | None = None

    @classmethod
    def of_key(cls, key: ApiKey, institution: Institution) -> Staff:
        return cls(institution, key.role, f"{key.role}:{key.prefix}", api_key_id=key.id)

    @property
    def principal_id(self) -> int:
        """One integer per caller for idempotency records: the key id, or minus the user id."""
        if self.user_id is not None:
            return -self.user_id
        return self.api_key_id or 0

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden("role_forbidden")


def create_api_key(session: Session, deps: Deps, institution: Institution, *, role: str, name: str,
                   actor: str = "operator") -> tuple[str, ApiKey]:
    """Return the key's text (shown once) and its stored row."""
    if role not in ROLES:
        raise Invalid("unknown_role")
    prefix = secrets.token_hex(4)
    text = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(institution_id=institution.id or 0, name=name[:100], role=role, prefix=prefix,
                 key_hash=deps.box.code_hash(text), created_at=deps.now())
    session.add(row)
    session.flush()
    audit.record(session, at=deps.now(), actor=actor, action="api_key.create", institution_id=institution.id,
                 target=prefix, details={"role": role})
    return text, row


def authenticate(session: Session, deps: Deps, authorization: str | None) -> Staff:
    """Resolve ``Authorization: Bearer <key>``; revoked or unknown keys are 401 alike."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("missing_api_key")
    text = authorization[len("Bearer "):].strip()
    if not text.startswith(KEY_PREFIX) or len(text) > 200:
        raise Unauthorized("invalid_api_key")
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == deps.box.code_hash(text))).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("invalid_api_key", variant="revoked")
    institution = session.get(Institution, row.institution_id)
    if institution is None:
        raise Unauthorized("invalid_api_key")
    return Staff.of_key(row, institution)


def revoke_api_key(session: Session, deps: Deps, staff: Staff, prefix: str) -> ApiKey:
    staff.require("manage")
    row = session.exec(select(ApiKey).where(ApiKey.institution_id == staff.institution.id,
                                            ApiKey.prefix == prefix)).first()
    if row is None:
        raise NotFound("unknown_api_key", variant="console")
    row.revoked_at = deps.now()
    session.add(row)
    audit.record(session, at=deps.now(), actor=staff.actor, action="api_key.revoke",
                 institution_id=staff.institution.id, target=prefix)
    return row

"""SQLModel tables of the issuer. Claims, private keys and tx codes are stored encrypted
(issuer.secrets_box); document numbers only as keyed hashes; API keys and codes only as hashes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class Institution(SQLModel, table=True):
    __tablename__ = "institutions"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    # Credential type ids this institution may issue (the registry decides).
    types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # External institutions run their own issuing software: their id and JWKS come from them.
    external_id: str | None = Field(default=None, max_length=300)
    # Type ids whose credentials may go without a status reference (the trust list says "optional").
    status_optional: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # CA certificates (base64 DER) that certify an external institution's signing keys (x5c).
    x509_cas: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: int
    valid_from: int
    valid_until: int | None = None
    # Where a holder turns (a revoked credential, a lost phone): on wallet cards and printed PDFs.
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=200)
    contact_web: str | None = Field(default=None, max_length=300)


class SigningKey(SQLModel, table=True):
    __tablename__ = "signing_keys"
    __table_args__ = (UniqueConstraint("institution_id", "kid"),)
    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institutions.id", index=True)
    # Puente's own keys use their RFC 7638 thumbprint; an accredited institution's keep their own kid.
    kid: str = Field(max_length=1024)
    thumbprint: str = Field(unique=True, max_length=64)  # one key, one institution
    alg: str = Field(max_length=8)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    private_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    state: str = Field(default="active", max_length=16)  # active | retired | compromised
    created_at: int
    retired_at: int | None = None
    compromised_at: int | None = None


class RegistryKey(SQLModel, table=True):
    __tablename__ = "registry_keys"
    id: int | None = Field(default=None, primary_key=True)
    kid: str = Field(unique=True, max_length=64)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    private_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: int


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institutions.id", index=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=16)  # admin | officer | auditor
    prefix: str = Field(max_length=16)
    key_hash: str = Field(unique=True, max_length=64)
    created_at: int
    revoked_at: int | None = None


class StatusListRow(SQLModel, table=True):
    __tablename__ = "status_lists"
    __table_args__ = (UniqueConstraint("institution_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institutions.id", index=True)
    number: int
    size: int
    bits: int = 2
    used: int = 0
    full: bool = False
    version: int = 0  # bumped in the same transaction as every status change
    created_at: int


class Credential(SQLModel, table=True):
    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("status_list_id", "status_idx"),)
    id: str = Field(primary_key=True, max_length=32)
    institution_id: int = Field(foreign_key="institutions.id", index=True)
    type_id: str = Field(max_length=64, index=True)
    status: int = Field(default=0, index=True)  # 0 valid, 1 revoked, 2 suspended (the list's values)
    status_list_id: int = Field(foreign_key="status_lists.id")
    status_idx: int
    claims_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    paper_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    document_hash: str | None = Field(default=None, max_length=64, index=True)
    valid_until: int
    created_at: int = Field(index=True)
    created_by: int | None = Field(default=None, foreign_key="api_keys.id")
    created_by_user: int | None = None  # the console user (staff_users.id) who issued it
    batch_id: str | None = Field(default=None, max_length=32, index=True)
    delivered_at: int | None = None
    status_reason: str | None = Field(default=None, max_length=500)
    status_changed_at: int | None = None
    # Re-issuance (a lost or new phone): the credential this one takes over from. Redeeming this
    # one's offer revokes that one ("teléfono reemplazado").
    replaces: str | None = Field(default=None, max_length=32, index=True)


class Offer(SQLModel, table=True):
    __tablename__ = "offers"
    id: str = Field(primary_key=True, max_length=32)
    credential_id: str = Field(foreign_key="credentials.id", index=True)
    institution_id: int = Field(foreign_key="institutions.id")
    tx_code_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    tx_code_hash: str = Field(max_length=64)
    failed_attempts: int = 0
    state: str = Field(default="open", max_length=16)  # open | redeemed | dead
    expires_at: int
    created_at: int


class OneTimeCode(SQLModel, table=True):
    """Pre-authorized codes, access tokens and c_nonces: stored hashed, single use, short-lived."""

    __tablename__ = "one_time_codes"
    code_hash: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # pre_auth | access | c_nonce
    institution_id: int = Field(foreign_key="institutions.id")
    offer_id: str | None = Field(default=None, max_length=32)
    expires_at: int = Field(index=True)
    used_at: int | None = None


class Batch(SQLModel, table=True):
    __tablename__ = "batches"
    id: str = Field(primary_key=True, max_length=32)
    institution_id: int = Field(foreign_key="institutions.id", index=True)
    type_id: str = Field(max_length=64)
    state: str = Field(default="pending", max_length=16)  # pending | running | done | failed
    total: int = 0
    issued: int = 0
    failed: int = 0
    csv_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    lang: str = Field(default="es", max_length=2)
    created_by: int | None = Field(default=None, foreign_key="api_keys.id")
    created_by_user: int | None = None  # the console user (staff_users.id) who uploaded it
    created_at: int
    finished_at: int | None = None
    lease_until: int = 0
    error: str | None = Field(default=None, max_length=500)


class BatchRow(SQLModel, table=True):
    __tablename__ = "batch_rows"
    batch_id: str = Field(primary_key=True, foreign_key="batches.id", max_length=32)
    row_number: int = Field(primary_key=True)
    credential_id: str | None = Field(default=None, max_length=32)
    offer_id: str | None = Field(default=None, max_length=32)
    errors: list[dict[str, str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    seq: int = Field(primary_key=True)
    at: int
    institution_id: int | None = Field(default=None, index=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=100)
    outcome: str = Field(max_length=32)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency"
    institution_id: int = Field(primary_key=True)
    key: str = Field(primary_key=True, max_length=100)
    api_key_id: int  # Staff.principal_id: the API key's id, or minus the console user's id
    request_hash: str = Field(max_length=64)
    state: str = Field(default="running", max_length=16)  # running | done
    status_code: int | None = None
    response: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: int


class StaffUser(SQLModel, table=True):
    """A person who signs in to the staff console: argon2 password hash, TOTP secret sealed with the
    master key (required for admins), one institution and one role."""

    __tablename__ = "staff_users"
    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institutions.id", index=True)
    username: str = Field(unique=True, max_length=64)  # stored lower-case
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=16)  # admin | officer | auditor
    password_hash: str = Field(max_length=200)
    must_change_password: bool = True
    totp_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    totp_confirmed_at: int | None = None
    totp_last_step: int = 0  # a TOTP code is accepted once (RFC 6238 §5.2)
    created_at: int
    disabled_at: int | None = None


class StaffSession(SQLModel, table=True):
    """Console sessions; the cookie holds a random token, the table only its keyed hash."""

    __tablename__ = "staff_sessions"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="staff_users.id", index=True)
    stage: str = Field(max_length=16)  # totp (password checked, second factor due) | active
    created_at: int
    last_seen_at: int
    expires_at: int
    ended_at: int | None = None


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per user name (known or not, so the lockout reveals nothing)."""

    __tablename__ = "login_throttle"
    name_hash: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    locked_until: int = 0
    last_failure_at: int = 0


class ApprovalRequest(SQLModel, table=True):
    """A high-value action one staff member asks for and another must approve (security.md #112):
    today, revoking every credential of a batch."""

    __tablename__ = "approval_requests"
    id: str = Field(primary_key=True, max_length=32)
    institution_id: int = Field(foreign_key="institutions.id", index=True)
    kind: str = Field(max_length=32)  # batch.revoke
    target: str = Field(max_length=64)  # the batch id
    reason: str = Field(max_length=500)
    count: int  # credentials concerned when asked
    state: str = Field(default="pending", max_length=16, index=True)  # pending | approved | rejected | expired
    requested_by: str = Field(max_length=100)  # the audit actor
    requested_principal: int  # Staff.principal_id: a second person must decide
    requested_at: int
    decided_by: str | None = Field(default=None, max_length=100)
    decided_at: int | None = None
    expires_at: int

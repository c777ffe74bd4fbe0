"""Credential records: issuance (record + status index + paper companion + offer in one
transaction), lookup scoped to the caller's institution, and status changes."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from credcore.credential_types import CredentialType
from credcore.errors import IssuanceError
from credcore.issue import expiry_for, issue_credential
from credcore.status_list import INVALID, SUSPENDED, VALID
from issuer import audit
from issuer.db.models import AuditEvent, Credential, Institution, Offer, StatusListRow
from issuer.deps import Deps
from issuer.documents import normalize_claims, search_forms
from issuer.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from issuer.institutions import active_key, issuer_id
from issuer.repository import scoped
from issuer.staff import Staff
from issuer.statuses import allocate, bump_version, status_uri

STATUS_NAMES = {VALID: "valid", INVALID: "revoked", SUSPENDED: "suspended"}
MAX_RETRIES = 8


def new_id() -> str:
    """128 random bits, base64url, never starting with '-' (a CLI option, a spreadsheet formula)."""
    while True:
        value = secrets.token_urlsafe(16)
        if value[0].isalnum():
            return value


def new_tx_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


@dataclass
class Prepared:
    """Claims checked against the type, ready to be stored."""

    ctype: CredentialType
    claims: dict[str, Any]
    exp: int


def prepare(deps: Deps, staff_institution: Institution, type_id: str, claims: Any, valid_until: int | None,
            lang: str) -> Prepared:
    if type_id not in deps.types.by_id:
        raise Invalid("unknown_type")
    if type_id not in staff_institution.types:
        raise Forbidden("not_accredited_for_type", variant="institution")
    ctype = deps.types.get(type_id)
    if not isinstance(claims, dict):
        raise Invalid("claims_invalid", variant="not_object")
    now = deps.now()
    claims = normalize_claims(claims)  # "V-12.345.678" is "V-12345678" (issuer/documents.py)
    errors: list[dict[str, str]] = []
    code = "claims_invalid"
    try:
        ctype.validate(claims, today=datetime.fromtimestamp(now, UTC).date(), lang=lang)
    except IssuanceError as exc:
        errors += exc.errors
    try:  # checked too when the claims have mistakes: every error is shown at once
        exp = expiry_for(ctype, claims, now, valid_until, lang=lang)
    except IssuanceError as exc:
        errors += exc.errors
        code = code if len(errors) > len(exc.errors) else exc.code
    except (ValueError, TypeError):
        if not errors:
            raise
    if errors:
        raise Invalid(code, variant="claims_not_match", errors=errors)
    return Prepared(ctype, claims, exp)


class Issued:
    """One credential ``store`` inserted: its record, its offer and the offer's tx_code.

    ``credential`` and ``offer`` are detached copies of the inserted rows, built on first use:
    building thousands of SQLModel objects costs more than signing them, and a batch needs only
    ``credential_id`` and ``offer_id``."""

    def __init__(self, credential: dict[str, Any], offer: dict[str, Any], tx_code: str) -> None:
        self._credential, self._offer, self.tx_code = credential, offer, tx_code

    @property
    def credential_id(self) -> str:
        return str(self._credential["id"])

    @property
    def offer_id(self) -> str:
        return str(self._offer["id"])

    @cached_property
    def credential(self) -> Credential:
        return Credential(**self._credential)

    @cached_property
    def offer(self) -> Offer:
        return Offer(**self._offer)


def store(session: Session, deps: Deps, institution: Institution, prepared: list[Prepared], *,
          created_by: int | None, created_by_user: int | None = None,
          batch_id: str | None = None, replaces: str | None = None) -> list[Issued]:
    """Insert records with fresh status indexes, signed paper companions and offers (no commit).

    Whatever the count: one ``allocate``, one multi-row INSERT of credentials and one of offers."""
    if not prepared:
        return []
    slots = allocate(session, deps, institution, len(prepared))
    key = active_key(session, deps, institution)
    iss = issuer_id(deps, institution)
    now = deps.now()
    uris: dict[int, str] = {}
    records: list[dict[str, Any]] = []
    offers: list[dict[str, Any]] = []
    issued = []
    for item, (status_row, idx) in zip(prepared, slots, strict=True):
        uri = uris.get(status_row.number) or uris.setdefault(status_row.number,
                                                             status_uri(deps, institution, status_row.number))
        paper = issue_credential(ctype=item.ctype, claims=item.claims, issuer=iss, key=key, clock=deps.clock,
                                 status=(uri, idx), valid_until=item.exp, paper=True,
                                 random_bytes=deps.random_bytes, claims_checked=True)  # by prepare()
        cred_id = new_id()
        document = item.claims.get("document_number")
        record = {
            "id": cred_id, "institution_id": institution.id or 0, "type_id": item.ctype.id, "status": VALID,
            "status_list_id": status_row.id or 0, "status_idx": idx,
            "claims_sealed": deps.box.seal(json.dumps(item.claims, ensure_ascii=False).encode(), f"claims:{cred_id}"),
            "paper_sealed": deps.box.seal(paper.sd_jwt.encode(), f"paper:{cred_id}"),
            "document_hash": deps.box.search_hash(document) if isinstance(document, str) else None,
            "valid_until": item.exp, "created_at": now, "created_by": created_by,
            "created_by_user": created_by_user, "batch_id": batch_id,
            "delivered_at": None, "status_reason": None, "status_changed_at": None, "replaces": replaces,
        }
        tx_code = new_tx_code()
        offer_id = new_id()
        offer = {"id": offer_id, "credential_id": cred_id, "institution_id": institution.id or 0,
                 "tx_code_sealed": deps.box.seal(tx_code.encode(), f"tx:{offer_id}"),
                 "tx_code_hash": deps.box.code_hash(f"{offer_id}:{tx_code}"), "failed_attempts": 0,
                 "state": "open", "expires_at": min(now + deps.settings.offer_ttl_seconds, item.exp),
                 "created_at": now}
        records.append(record)
        offers.append(offer)
        issued.append(Issued(record, offer, tx_code))
    session.execute(insert(Credential), records)  # a taken status index fails here: the caller retries
    session.execute(insert(Offer), offers)
    return issued


def with_retries(deps: Deps, work: Any) -> Any:
    """Run ``work(session)`` in a transaction, retrying when a concurrent writer took the same
    status index (unique constraint) — never reusing or sharing one."""
    for attempt in range(MAX_RETRIES):
        with deps.session() as session:
            try:
                result = work(session)
                session.commit()
                return result
            except IntegrityError:
                session.rollback()
                if attempt == MAX_RETRIES - 1:
                    raise
    raise AssertionError("unreachable")


def issue_one(deps: Deps, staff: Staff, *, type_id: str, claims: Any, valid_until: int | None,
              lang: str, in_transaction: Any = None) -> Issued:
    """Issue one credential; ``in_transaction(session, issued)`` runs in the same transaction (the
    idempotency record is completed atomically with the credential it describes)."""
    staff.require("issue")
    prepared = prepare(deps, staff.institution, type_id, claims, valid_until, lang)

    def work(session: Session) -> Issued:
        issued = store(session, deps, staff.institution, [prepared], created_by=staff.api_key_id,
                       created_by_user=staff.user_id)[0]
        audit.record(session, at=deps.now(), actor=staff.actor, action="credential.issue",
                     institution_id=staff.institution.id, target=issued.credential.id,
                     details={"type": type_id})
        if in_transaction is not None:
            in_transaction(session, issued)
        return issued

    result: Issued = with_retries(deps, work)
    return result


def get_scoped(session: Session, staff: Staff, credential_id: str) -> Credential:
    """Another institution's credential is indistinguishable from a missing one (404)."""
    staff.require("read")
    record = scoped(session, Credential, credential_id[:64], staff.institution.id)
    if record is None:
        raise NotFound("credential_not_found")
    return record


def claims_of(deps: Deps, record: Credential) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(deps.box.open(record.claims_sealed, f"claims:{record.id}"))
    return value


def paper_of(deps: Deps, record: Credential) -> str:
    return deps.box.open(record.paper_sealed, f"paper:{record.id}").decode()


def search(session: Session, deps: Deps, staff: Staff, *, type_id: str | None, status: str | None,
           document_number: str | None, limit: int = 100, offset: int = 0, created_from: int | None = None,
           created_before: int | None = None) -> list[Credential]:
    staff.require("read")
    query = select(Credential).where(Credential.institution_id == staff.institution.id)
    if type_id:
        query = query.where(Credential.type_id == type_id)
    if status:
        codes = {name: code for code, name in STATUS_NAMES.items()}
        if status not in codes:
            raise Invalid("unknown_status")
        query = query.where(Credential.status == codes[status])
    if document_number:
        hashes = [deps.box.search_hash(form) for form in search_forms(document_number)]
        query = query.where(col(Credential.document_hash).in_(hashes))
    if created_from is not None:
        query = query.where(Credential.created_at >= created_from)
    if created_before is not None:
        query = query.where(Credential.created_at < created_before)
    query = query.order_by(col(Credential.created_at).desc(), col(Credential.id)).offset(offset).limit(min(limit, 500))
    return list(session.exec(query))


TRANSITIONS = {
    "revoke": ({VALID, SUSPENDED}, INVALID),
    "suspend": ({VALID}, SUSPENDED),
    "reinstate": ({SUSPENDED}, VALID),
}


def checked_reason(reason: str | None) -> str:
    """The reason for a status change, stripped; 422 ``reason_required`` if empty or over 500."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise Invalid("reason_required", errors=[field_error("reason", "required", "field.reason_required")])
    return reason


def _within_revocation_budget(session: Session, deps: Deps, staff: Staff) -> None:
    """One person revokes at most ``revocations_per_hour`` credentials one by one (security.md
    #161): past that, a second person must act — revoking a whole batch one call at a time would
    otherwise skip the two-person rule."""
    since = deps.now() - 3600
    done = int(session.exec(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.institution_id == staff.institution.id, AuditEvent.actor == staff.actor,
        AuditEvent.action == "credential.revoke", AuditEvent.outcome == "ok", col(AuditEvent.at) >= since)).one())
    limit = deps.settings.revocations_per_hour
    if done >= limit:
        raise Forbidden("second_person_required", variant="revocations_hour", done=done)


def change_status(deps: Deps, staff: Staff, credential_id: str, action: str, reason: str) -> Credential:
    """Revoke (final), suspend, or reinstate (only from suspended); committed before returning."""
    staff.require("status")
    if action not in TRANSITIONS:
        raise NotFound(variant="unknown_action")
    reason = checked_reason(reason)
    allowed_from, target = TRANSITIONS[action]
    with deps.session() as session:
        record = get_scoped(session, staff, credential_id)
        if action == "revoke":
            _within_revocation_budget(session, deps, staff)
        if record.status not in allowed_from:
            audit.record(session, at=deps.now(), actor=staff.actor, action=f"credential.{action}",
                         institution_id=staff.institution.id, target=record.id, outcome="refused")
            session.commit()
            if record.status == INVALID:
                raise Conflict("already_revoked")
            raise Conflict("invalid_transition")
        # A re-issuance no phone has redeemed yet follows its original: revoking or suspending the
        # original must not leave a valid offer of the same credential behind (security case #174).
        pending = session.exec(select(Credential).where(Credential.replaces == record.id,
                                                        col(Credential.delivered_at).is_(None),
                                                        col(Credential.status).in_(allowed_from))).all()
        for changed in [record, *pending]:
            changed.status, changed.status_reason, changed.status_changed_at = target, reason, deps.now()
            session.add(changed)
            bump_version(session, changed.status_list_id)
            if action == "revoke":
                session.execute(update(Offer).where(col(Offer.credential_id) == changed.id, col(Offer.state) == "open")
                                .values(state="dead"))
            details: dict[str, Any] = {"reason_length": len(reason)}
            if changed is not record:
                details["with"] = record.id
            audit.record(session, at=deps.now(), actor=staff.actor, action=f"credential.{action}",
                         institution_id=staff.institution.id, target=changed.id, details=details)
        session.commit()
        return record


def revoke_batch(session: Session, deps: Deps, institution_id: int, batch_id: str, reason: str) -> int:
    """Revoke every valid or suspended credential of a batch in the caller's transaction (their
    open offers die with them); returns how many. Status lists are bumped once each."""
    concerned = (col(Credential.institution_id) == institution_id, col(Credential.batch_id) == batch_id,
                 col(Credential.status).in_([VALID, SUSPENDED]))
    lists = set(session.exec(select(Credential.status_list_id).where(*concerned).distinct()).all())
    if not lists:
        return 0
    of_batch = select(Credential.id).where(Credential.institution_id == institution_id,
                                           Credential.batch_id == batch_id)
    session.execute(update(Offer).where(col(Offer.credential_id).in_(of_batch), col(Offer.state) == "open")
                    .values(state="dead"))
    result = session.execute(update(Credential).where(*concerned)
                             .values(status=INVALID, status_reason=reason, status_changed_at=deps.now()))
    for list_id in sorted(lists):
        bump_version(session, list_id)
    return int(getattr(result, "rowcount", 0) or 0)


def describe(deps: Deps, session: Session, record: Credential, *, with_claims: bool) -> dict[str, Any]:
    status_row = session.get(StatusListRow, record.status_list_id)
    institution = session.get(Institution, record.institution_id)
    assert status_row is not None and institution is not None
    body: dict[str, Any] = {
        "id": record.id,
        "type": record.type_id,
        "status": STATUS_NAMES[record.status],
        "status_reason": record.status_reason,
        "issuer": issuer_id(deps, institution),
        "status_list": {"uri": status_uri(deps, institution, status_row.number), "idx": record.status_idx},
        "valid_until": record.valid_until,
        "created_at": record.created_at,
        "delivered": record.delivered_at is not None,
        "batch_id": record.batch_id,
        "replaces": record.replaces,
    }
    if with_claims:
        body["claims"] = claims_of(deps, record)
    return body


# ----------------------------------------------------------------------------- re-issuance (a lost or new phone)

PHONE_REPLACED = "teléfono reemplazado"
SUPERSEDED = "reemisión sustituida por una más reciente"


def lock_row(session: Session, credential_id: str) -> None:
    """Hold the credential's row until commit (PostgreSQL's row lock, SQLite's write lock).

    Re-issuance and the redemption of a replacement both lock the original's row first, before any
    offer or replacement row, so two re-issuances, or one and a redemption, run one after the other
    and never wait on each other in a cycle."""
    session.execute(update(Credential).where(col(Credential.id) == credential_id[:64])
                    .values(status=Credential.status).execution_options(synchronize_session=False))


def pending_original(record: Credential) -> str | None:
    """The credential ``record`` replaces while no phone has redeemed it yet (else None)."""
    if record.replaces is not None and record.delivered_at is None and record.status == VALID:
        return record.replaces
    return None


def _original_locked(session: Session, staff: Staff, credential_id: str) -> Credential:
    """The credential a re-issuance starts from, locked: the caller's credential, or the one it
    replaces while it is itself a replacement no phone has redeemed yet."""
    asked = get_scoped(session, staff, credential_id)
    origin = pending_original(asked) or asked.id
    lock_row(session, origin)
    session.refresh(asked)
    if (pending_original(asked) or asked.id) != origin:  # redeemed or revoked meanwhile: itself
        origin = asked.id
        lock_row(session, origin)
    return get_scoped(session, staff, origin) if origin != asked.id else asked


def replacement_of(session: Session, credential_id: str) -> Credential | None:
    """The newest credential issued to replace this one, if any."""
    return session.exec(select(Credential).where(Credential.replaces == credential_id)
                        .order_by(col(Credential.created_at).desc(), col(Credential.id))).first()


def _refuse_reissue(session: Session, deps: Deps, staff: Staff, record: Credential) -> None:
    """409 with a stable code unless ``record`` may be issued again: valid and not expired."""
    if record.status == VALID and record.valid_until > deps.now():
        return
    audit.record(session, at=deps.now(), actor=staff.actor, action="credential.reissue",
                 institution_id=staff.institution.id, target=record.id, outcome="refused")
    session.commit()
    if record.status == INVALID:
        newer = replacement_of(session, record.id)
        if newer is not None and record.status_reason == PHONE_REPLACED:
            raise Conflict("credential_replaced", newer=newer.id)
        raise Conflict("credential_revoked")
    if record.status == SUSPENDED:
        raise Conflict("credential_suspended")
    raise Conflict("credential_expired")


def _supersede(session: Session, deps: Deps, staff: Staff, original: Credential, by: str) -> None:
    """Revoke the replacements of ``original`` no phone has redeemed yet and kill its open offers:
    after a re-issuance only the latest offer can be redeemed."""
    pending = session.exec(select(Credential).where(Credential.replaces == original.id,
                                                    col(Credential.delivered_at).is_(None),
                                                    Credential.status == VALID, Credential.id != by)).all()
    for older in pending:
        older.status, older.status_reason, older.status_changed_at = INVALID, SUPERSEDED, deps.now()
        session.add(older)
        bump_version(session, older.status_list_id)
        audit.record(session, at=deps.now(), actor=staff.actor, action="credential.revoke",
                     institution_id=staff.institution.id, target=older.id, details={"superseded_by": by})
    ids = [original.id, *(older.id for older in pending)]
    session.execute(update(Offer).where(col(Offer.credential_id).in_(ids), col(Offer.state) == "open")
                    .values(state="dead"))


def reissue(deps: Deps, staff: Staff, credential_id: str, *, in_transaction: Any = None) -> tuple[Issued, str]:
    """Issue a credential again for a new phone: a new record with the same claims, type, validity and
    batch (a fresh status index, paper companion and offer) that replaces the original. Redeeming its
    offer revokes the original ("teléfono reemplazado"; ``revoke_replaced``). The original's open
    offer and any earlier replacement not yet redeemed die now. Asking from a replacement that no
    phone has redeemed yet re-issues the credential it replaces. Returns the new one and the
    original's id."""
    staff.require("issue")

    def work(session: Session) -> tuple[Issued, str]:
        record = _original_locked(session, staff, credential_id)
        session.refresh(record)
        _refuse_reissue(session, deps, staff, record)
        prepared = Prepared(deps.types.get(record.type_id), claims_of(deps, record), record.valid_until)
        issued = store(session, deps, staff.institution, [prepared], created_by=staff.api_key_id,
                       created_by_user=staff.user_id, batch_id=record.batch_id, replaces=record.id)[0]
        _supersede(session, deps, staff, record, issued.credential_id)
        audit.record(session, at=deps.now(), actor=staff.actor, action="credential.reissue",
                     institution_id=staff.institution.id, target=record.id,
                     details={"replacement": issued.credential_id})
        audit.record(session, at=deps.now(), actor=staff.actor, action="credential.issue",
                     institution_id=staff.institution.id, target=issued.credential_id,
                     details={"type": record.type_id, "replaces": record.id})
        if in_transaction is not None:
            in_transaction(session, issued)
        return issued, record.id

    result: tuple[Issued, str] = with_retries(deps, work)
    return result


def revoke_replaced(session: Session, deps: Deps, record: Credential) -> None:
    """In the redemption's transaction: a phone received ``record``, so the credential it replaces
    is revoked ("teléfono reemplazado") unless it already is. The audit event names both."""
    if record.replaces is None:
        return
    lock_row(session, record.replaces)  # held already when the redemption started (oid4vci.credential)
    old = session.get(Credential, record.replaces)
    if old is not None:
        session.refresh(old)
    if old is None or old.status == INVALID:
        return
    old.status, old.status_reason, old.status_changed_at = INVALID, PHONE_REPLACED, deps.now()
    session.add(old)
    bump_version(session, old.status_list_id)
    session.execute(update(Offer).where(col(Offer.credential_id) == old.id, col(Offer.state) == "open")
                    .values(state="dead"))
    audit.record(session, at=deps.now(), actor="wallet", action="credential.replaced",
                 institution_id=old.institution_id, target=old.id,
                 details={"replacement": record.id, "reason": PHONE_REPLACED})

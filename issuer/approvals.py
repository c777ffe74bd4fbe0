"""High-value actions that one staff member asks for and a second one must approve (security.md
#112, ASVS 2.3.5): today, revoking every credential of a batch at once. The second person must be
someone else of the same institution with the right to change statuses; the request, the decision
and its outcome go to the audit log; an undecided request expires."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from credcore.messages import Ref
from credcore.status_list import SUSPENDED, VALID
from issuer import audit
from issuer import batches as batch_records
from issuer import credentials as creds
from issuer.db.models import ApprovalRequest, AuditEvent, Credential, StaffUser
from issuer.deps import Deps
from issuer.errors import Conflict, Forbidden, NotFound
from issuer.repository import scoped
from issuer.staff import Staff

REQUEST_TTL_SECONDS = 3 * 86_400
BATCH_REVOKE = "batch.revoke"


def revocable_count(session: Session, staff: Staff, batch_id: str) -> int:
    """Credentials of the batch that a revocation would change (valid or suspended)."""
    return int(session.exec(select(func.count()).select_from(Credential).where(
        Credential.institution_id == staff.institution.id, Credential.batch_id == batch_id,
        col(Credential.status).in_([VALID, SUSPENDED]))).one())


def _pending_for(session: Session, staff: Staff, target: str) -> ApprovalRequest | None:
    return session.exec(select(ApprovalRequest).where(
        ApprovalRequest.institution_id == staff.institution.id, ApprovalRequest.target == target,
        ApprovalRequest.state == "pending")).first()


def request_batch_revocation(deps: Deps, staff: Staff, batch_id: str, reason: str) -> ApprovalRequest:
    staff.require("status")
    reason = creds.checked_reason(reason)
    with deps.session() as session:
        batch = batch_records.get_scoped(session, staff, batch_id)
        if batch.state != "done":
            raise Conflict("batch_not_done")
        expire_old(session, deps, staff)
        if _pending_for(session, staff, batch.id) is not None:
            raise Conflict("request_pending")
        count = revocable_count(session, staff, batch.id)
        if count == 0:
            raise Conflict("nothing_to_revoke")
        now = deps.now()
        request = ApprovalRequest(id=creds.new_id(), institution_id=staff.institution.id or 0, kind=BATCH_REVOKE,
                                  target=batch.id, reason=reason, count=count, requested_by=staff.actor,
                                  requested_principal=staff.principal_id, requested_at=now,
                                  expires_at=now + REQUEST_TTL_SECONDS)
        session.add(request)
        audit.record(session, at=now, actor=staff.actor, action="approval.request", institution_id=staff.institution.id,
                     target=batch.id, details={"type": BATCH_REVOKE, "total": count,
                                               "reason_length": len(reason)})
        session.commit()
        return request


def expire_old(session: Session, deps: Deps, staff: Staff) -> None:
    for request in session.exec(select(ApprovalRequest).where(
            ApprovalRequest.institution_id == staff.institution.id, ApprovalRequest.state == "pending",
            ApprovalRequest.expires_at <= deps.now())):
        request.state = "expired"
        session.add(request)


def listing(deps: Deps, staff: Staff, limit: int = 100) -> list[ApprovalRequest]:
    """Pending requests first, then the latest decided ones."""
    staff.require("status")
    with deps.session() as session:
        expire_old(session, deps, staff)
        session.commit()
        return list(session.exec(select(ApprovalRequest).where(ApprovalRequest.institution_id == staff.institution.id)
                                 .order_by(col(ApprovalRequest.state) != "pending",
                                           col(ApprovalRequest.requested_at).desc()).limit(limit)))


def waiting_for(deps: Deps, staff: Staff) -> int:
    """Pending requests this person could decide (not their own)."""
    if not staff.can("status"):
        return 0
    with deps.session() as session:
        return int(session.exec(select(func.count()).select_from(ApprovalRequest).where(
            ApprovalRequest.institution_id == staff.institution.id, ApprovalRequest.state == "pending",
            ApprovalRequest.expires_at > deps.now(),
            ApprovalRequest.requested_principal != staff.principal_id)).one())


def get_scoped(session: Session, staff: Staff, request_id: str) -> ApprovalRequest:
    staff.require("status")
    request = scoped(session, ApprovalRequest, request_id[:64], staff.institution.id)
    if request is None:
        raise NotFound("request_not_found")
    return request


INDEPENDENT_AFTER = 7 * 86_400  # an account the asker created or reset this recently is not a second person


def _require_independent(session: Session, deps: Deps, staff: Staff, request: ApprovalRequest) -> None:
    """The approver must be another person in fact (security.md #161), not an account the asker
    made for the occasion: a console user who existed before the request, has finished their own
    first sign-in (their own password; TOTP for admins), and whom the asker did not create or
    reset in the last 7 days."""
    user = session.get(StaffUser, staff.user_id) if staff.user_id is not None else None
    why = None
    if user is None:
        why = Ref("code.second_person_required.no_console_account")
    elif user.created_at > request.requested_at:
        why = Ref("code.second_person_required.created_after")
    elif user.must_change_password or (user.role == "admin" and user.totp_confirmed_at is None):
        why = Ref("code.second_person_required.first_sign_in")
    elif session.exec(select(AuditEvent.seq).where(
            AuditEvent.institution_id == staff.institution.id, AuditEvent.actor == request.requested_by,
            col(AuditEvent.action).in_(["staff_user.create", "staff_user.reset"]),
            AuditEvent.target == f"@{user.username}", col(AuditEvent.at) >= deps.now() - INDEPENDENT_AFTER)).first():
        why = Ref("code.second_person_required.account_recent")
    if why is not None:
        raise Forbidden("second_person_required", variant="must_approve", why=why)


def decide(deps: Deps, staff: Staff, request_id: str, *, approve: bool) -> tuple[ApprovalRequest, int]:
    """Approve (and carry out) or reject a pending request; returns it and how many credentials
    changed. The one who asked cannot decide."""
    staff.require("status")
    with deps.session() as session:
        request = get_scoped(session, staff, request_id)
        request = session.get(ApprovalRequest, request.id, with_for_update=True, populate_existing=True) or request
        now = deps.now()
        if request.state == "pending" and request.expires_at <= now:
            request.state = "expired"
            session.add(request)
            session.commit()
        if request.state != "pending":
            raise Conflict("request_not_pending")
        if request.requested_principal == staff.principal_id:
            raise Forbidden("second_person_required")
        if approve:
            _require_independent(session, deps, staff, request)
        changed = 0
        if approve:
            changed = creds.revoke_batch(session, deps, staff.institution.id or 0, request.target, request.reason)
        request.state = "approved" if approve else "rejected"
        request.decided_by, request.decided_at = staff.actor, now
        session.add(request)
        audit.record(session, at=now, actor=staff.actor, action="approval.approve" if approve else "approval.reject",
                     institution_id=staff.institution.id, target=request.target,
                     details={"type": request.kind, "total": changed})
        session.commit()
        return request, changed

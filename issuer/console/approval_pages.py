"""Two-person actions in the console: an officer or admin asks to revoke a whole batch, and
another person of the institution approves (which carries it out) or rejects it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from issuer import approvals
from issuer import batches as batch_records
from issuer.console.routing import ConsoleRoute
from issuer.console.web import Console, ConsoleDep, FormDep, form_text, redirect, render
from issuer.db.models import ApprovalRequest
from issuer.errors import Conflict, Invalid

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

ID = Path(min_length=1, max_length=64)
# A request's state → its catalog entry.
STATE_LABELS = {state: f"console.approval_state.{state}" for state in ("pending", "approved", "rejected", "expired")}


def _type_name(console: Console, type_id: str) -> str:
    ctype = console.deps.types.by_id.get(type_id)
    return ctype.name(console.lang) if ctype else type_id


def _revoke_page(request: Request, console: Console, batch_id: str, *, reason: str = "", error: str | None = None,
                 status: int = 200) -> Response:
    console.require("status")
    with console.deps.session() as session:
        batch = batch_records.get_scoped(session, console.staff, batch_id)
        count = approvals.revocable_count(session, console.staff, batch.id)
    return render(request, "batch_revoke.html", {
        "batch": batch, "type_name": _type_name(console, batch.type_id), "count": count, "reason": reason,
        "error": error, "delay": console.deps.settings.revocation_delay_seconds}, console=console, status=status)


@router.get("/batches/{batch_id}/revoke")
def confirm_batch_revocation(request: Request, batch_id: Annotated[str, ID], console: ConsoleDep) -> Response:
    return _revoke_page(request, console, batch_id)


@router.post("/batches/{batch_id}/revoke")
def ask_batch_revocation(request: Request, batch_id: Annotated[str, ID], console: ConsoleDep,
                         form: FormDep) -> Response:
    console.require("status")
    reason = form_text(form, "reason", 600)
    if form_text(form, "confirm") != "yes":
        return _revoke_page(request, console, batch_id, reason=reason, status=422,
                            error=console.msg("console.tick_confirmation_box"))
    try:
        created = approvals.request_batch_revocation(console.deps, console.staff, batch_id, reason)
    except (Invalid, Conflict) as exc:
        return _revoke_page(request, console, batch_id, reason=reason, error=exc.message(console.lang),
                            status=exc.status)
    return redirect(f"/console/approvals/{created.id}")


@router.get("/approvals")
def approvals_page(request: Request, console: ConsoleDep) -> Response:
    requests = approvals.listing(console.deps, console.staff)
    return render(request, "approvals.html", {"requests": requests, "state_labels": STATE_LABELS,
                                              "mine": console.staff.principal_id}, console=console)


def _approval_page(request: Request, console: Console, request_id: str, *, error: str | None = None,
                   status: int = 200, done: str = "") -> Response:
    with console.deps.session() as session:
        approvals.expire_old(session, console.deps, console.staff)
        session.commit()
        found: ApprovalRequest = approvals.get_scoped(session, console.staff, request_id)
        batch = batch_records.get_scoped(session, console.staff, found.target)
        count = approvals.revocable_count(session, console.staff, found.target)
    return render(request, "approval.html", {
        "req": found, "batch": batch, "type_name": _type_name(console, batch.type_id), "count_now": count,
        "own": found.requested_principal == console.staff.principal_id, "state_labels": STATE_LABELS,
        "error": error, "done": done}, console=console, status=status)


@router.get("/approvals/{request_id}")
def approval_page(request: Request, request_id: Annotated[str, ID], console: ConsoleDep,
                  done: str = "") -> Response:
    return _approval_page(request, console, request_id, done=done if done in ("approve", "reject") else "")


@router.post("/approvals/{request_id}/{decision}")
def decide(request: Request, request_id: Annotated[str, ID], decision: Literal["approve", "reject"],
           console: ConsoleDep, form: FormDep) -> Response:
    console.require("status")
    if form_text(form, "confirm") != "yes":
        return _approval_page(request, console, request_id, status=422,
                              error=console.msg("console.tick_confirmation_box"))
    try:
        _, changed = approvals.decide(console.deps, console.staff, request_id, approve=decision == "approve")
    except Conflict as exc:
        return _approval_page(request, console, request_id, error=exc.message(console.lang), status=409)
    if changed:
        request.app.state.metrics.events.labels("credentials_revoke").inc(changed)
    return redirect(f"/console/approvals/{request_id}?done={decision}")

"""Home, issuing one credential from a form generated from the type's JSON Schema, the offer
(QR, tx_code, link, PDF), finding credentials, their details and history, and status changes
with a reason and a confirmation step."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import func, select

from credcore import qr
from credcore.credential_types import CredentialType
from credcore.messages import text
from issuer import audit, idempotency
from issuer import credentials as creds
from issuer.console.routing import ConsoleRoute
from issuer.console.web import COLOMBIA, Console, ConsoleDep, FormDep, day_start, form_text, redirect, render
from issuer.db.models import AuditEvent, Credential, Offer
from issuer.documents import NORMALISED_CLAIMS, format_hint, html_pattern
from issuer.errors import Invalid, NotFound, ServiceError
from issuer.oid4vci import find_offer_for, offer_uri
from servicekit import qr_image

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

PAGE_SIZE = 50
# A status change → its catalog entry; a credential's status → its catalog entry.
ACTIONS = {action: f"console.status_action.{action}" for action in ("revoke", "suspend", "reinstate")}
STATUS_LABELS = {status: f"console.credential_status.{status}" for status in ("valid", "revoked", "suspended")}


@router.get("")
@router.get("/")
def home(request: Request, console: ConsoleDep) -> Response:
    staff = console.staff
    counts: dict[str, int] = {}
    with console.deps.session() as session:
        for code, name in creds.STATUS_NAMES.items():
            counts[name] = session.exec(select(func.count()).select_from(Credential).where(
                Credential.institution_id == staff.institution.id, Credential.status == code)).one()
    types = [console.deps.types.get(t) for t in staff.institution.types if t in console.deps.types.by_id]
    return render(request, "home.html", {"counts": counts, "types": types}, console=console)


# --- issuing --------------------------------------------------------------------------------------


def accredited_type(console: Console, type_id: str) -> CredentialType:
    if type_id not in console.deps.types.by_id or type_id not in console.staff.institution.types:
        raise NotFound("unknown_type", variant="not_for_institution")
    return console.deps.types.get(type_id)


def form_fields(ctype: CredentialType, lang: str, values: dict[str, str],
                errors: dict[str, str], today: date | None = None) -> list[dict[str, Any]]:
    """One input per claim from the JSON Schema: kind, limits and pattern (valid under the browser's
    ``v`` flag), with es/en labels, descriptions from the type metadata and the format in words;
    dates that cannot be in the future carry ``max`` (today in Colombia)."""
    required = set(ctype.schema.get("required", []))
    not_in_future = set(ctype.rules.get("not_in_future", []))
    descriptions = {tuple(c.get("path", [])): c for c in ctype.metadata.get("claims", [])}
    fields = []
    for name, schema in ctype.schema.get("properties", {}).items():
        meta = descriptions.get((name,), {})
        hint = next((d.get("description") for d in meta.get("display", []) if d.get("locale") == lang), None)
        kind = "text"
        if schema.get("type") == "integer":
            kind = "number"
        elif schema.get("format") == "date":
            kind = "date"
        words = format_hint(schema, lang)
        fields.append({
            "name": name, "label": ctype.label(name, lang),
            "hint": " ".join(filter(None, [hint or schema.get("description", ""), words])),
            "kind": kind, "required": name in required, "maxlength": schema.get("maxLength"),
            "pattern": html_pattern(schema.get("pattern", "")), "normalize": name in NORMALISED_CLAIMS,
            "min": schema.get("minimum"),
            "max": today.isoformat() if kind == "date" and name in not_in_future and today else schema.get("maximum"),
            "value": values.get(name, ""), "error": errors.get(name),
        })
    return fields


def claims_from_form(ctype: CredentialType, values: dict[str, str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    for name, schema in ctype.schema.get("properties", {}).items():
        value = values.get(name, "").strip()
        if not value:
            continue
        if schema.get("type") == "integer" and value.lstrip("-").isdigit() and len(value) < 12:
            claims[name] = int(value)
        elif schema.get("type") == "string" and "pattern" in schema and value.upper() != value \
                and schema["pattern"].startswith("^[A-Z"):
            claims[name] = value.upper()  # document and resolution numbers are upper-case by rule
        else:
            claims[name] = value
    return claims


@router.get("/issue")
def choose_type(request: Request, console: ConsoleDep) -> Response:
    console.require("issue")
    types = [console.deps.types.get(t) for t in console.staff.institution.types if t in console.deps.types.by_id]
    if len(types) == 1:
        return redirect(f"/console/issue/{types[0].id}")
    return render(request, "issue_choose.html", {"types": types}, console=console)


def _issue_page(request: Request, console: Console, ctype: CredentialType, values: dict[str, str],
                errors: dict[str, str], *, form_id: str, status: int = 200, error: str | None = None) -> Response:
    return render(request, "issue_form.html", {
        "ctype": ctype, "type_name": ctype.name(console.lang), "form_id": form_id, "error": error,
        "fields": form_fields(ctype, console.lang, values, errors,
                              today=datetime.fromtimestamp(console.deps.now(), COLOMBIA).date()),
        "valid_until": values.get("valid_until", ""),
        "valid_until_error": errors.get("valid_until"),
    }, console=console, status=status)


@router.get("/issue/{type_id}")
def issue_form(request: Request, type_id: str, console: ConsoleDep) -> Response:
    console.require("issue")
    ctype = accredited_type(console, type_id)
    return _issue_page(request, console, ctype, {}, {}, form_id=secrets.token_urlsafe(24))


def _valid_until(value: str) -> int | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid("valid_until_invalid", errors=[{
            "field": "valid_until", "code": "format", "message": text("field.date_yyyy_mm_dd", "es"),
            "message_en": text("field.date_yyyy_mm_dd", "en")}]) from None
    return int(datetime.combine(day, time(23, 59, 59), COLOMBIA).timestamp())


@router.post("/issue/{type_id}")
def issue(request: Request, type_id: str, console: ConsoleDep, form: FormDep) -> Response:
    console.require("issue")
    ctype = accredited_type(console, type_id)
    values = {name: form_text(form, name, 1000) for name in [*ctype.claim_names, "valid_until"]}
    form_id = form_text(form, "form_id", 64) or secrets.token_urlsafe(24)
    claims = claims_from_form(ctype, values)
    # Every mistake of the form at once: the date, then the whole claims check (nothing is stored).
    problems: list[dict[str, str]] = []
    valid_until = None
    try:
        valid_until = _valid_until(values["valid_until"])
    except Invalid as exc:
        problems += [{**e, "message": e["message_en"] if console.lang == "en" else e["message"]} for e in exc.errors]
    try:
        creds.prepare(console.deps, console.staff.institution, type_id, claims, valid_until, console.lang)
    except Invalid as exc:
        problems += exc.errors
    if problems:
        errors = {e["field"].split("/")[0]: e["message"] for e in problems}
        return _issue_page(request, console, ctype, values, errors, form_id=form_id, status=422,
                           error=console.msg("console.check_marked_fields_n", n=len(errors)))
    try:
        claimed = idempotency.begin(console.deps, console.staff, f"console-{form_id}",
                                    {"type": type_id, "claims": claims, "valid_until": valid_until})
    except ServiceError as exc:
        errors = {e["field"]: e["message"] for e in exc.errors}
        return _issue_page(request, console, ctype, values, errors, form_id=secrets.token_urlsafe(24), status=422,
                           error=exc.message(console.lang))
    if isinstance(claimed, dict):  # the same form sent twice (double click, reload): one credential
        return redirect(f"/console/credentials/{claimed['body']['id']}/offer")

    def finish(session: Any, issued: creds.Issued) -> None:
        idempotency.complete(session, console.deps, claimed, 201, {"id": issued.credential_id})

    try:
        issued = creds.issue_one(console.deps, console.staff, type_id=type_id, claims=claims,
                                 valid_until=valid_until, lang=console.lang, in_transaction=finish)
    except Invalid as exc:
        idempotency.abandon(console.deps, claimed)
        errors = {e["field"].split("/")[0]: e["message"] for e in exc.errors}
        return _issue_page(request, console, ctype, values, errors, form_id=form_id, status=422,
                           error=exc.message(console.lang))
    except Exception:
        idempotency.abandon(console.deps, claimed)
        raise
    request.app.state.metrics.events.labels("credentials_issued").inc()
    return redirect(f"/console/credentials/{issued.credential_id}/offer?new=1")


def _record(console: Console, credential_id: str) -> Credential:
    with console.deps.session() as session:
        return creds.get_scoped(session, console.staff, credential_id)


def _open_offer(console: Console, record: Credential) -> tuple[Offer, str] | None:
    with console.deps.session() as session:
        offer = find_offer_for(session, record.id)
    if offer is None:
        return None
    return offer, console.deps.box.open(offer.tx_code_sealed, f"tx:{offer.id}").decode()


def _with_offer(console: Console, credential_id: str) -> tuple[Credential, tuple[Offer, str]]:
    """The record and its offer with the tx_code, for those who may see claims; 404 without one."""
    console.require("read_claims")
    record = _record(console, credential_id)
    found = _open_offer(console, record)
    if found is None:
        raise NotFound("offer_not_found")
    return record, found


@router.get("/credentials/{credential_id}/offer")
def offer_page(request: Request, credential_id: str, console: ConsoleDep,
               new: Annotated[int, Query(ge=0, le=2)] = 0) -> Response:
    console.require("read_claims")
    record = _record(console, credential_id)
    found = _open_offer(console, record)
    context: dict[str, Any] = {"record": record, "ctype": console.deps.types.get(record.type_id), "new": new,
                               "offer": None}
    if found is not None:
        offer, tx_code = found
        context["offer"] = {"uri": offer_uri(console.deps, console.staff.institution, offer), "state": offer.state,
                            "tx_code": f"{tx_code[:3]} {tx_code[3:]}", "expires_at": offer.expires_at}
    return render(request, "offer.html", context, console=console)


@router.get("/credentials/{credential_id}/offer.png")
def offer_png(credential_id: str, console: ConsoleDep) -> Response:
    _, (offer, _tx_code) = _with_offer(console, credential_id)
    png = qr_image.render_png(offer_uri(console.deps, console.staff.institution, offer), "M", box_size=8)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/credentials/{credential_id}/pdf")
def printable(credential_id: str, console: ConsoleDep) -> Response:
    from issuer.institutions import contact_line
    from issuer.pdf import render_credential_pdf

    record, (offer, tx_code) = _with_offer(console, credential_id)
    pdf = render_credential_pdf(
        institution_name=console.staff.institution.name, ctype=console.deps.types.get(record.type_id),
        claims=creds.claims_of(console.deps, record), paper_qr=qr.encode(creds.paper_of(console.deps, record)),
        offer_uri=offer_uri(console.deps, console.staff.institution, offer), tx_code=tx_code,
        valid_until=record.valid_until, credential_id=record.id,
        institution_contact=contact_line(console.staff.institution))
    return Response(pdf, media_type="application/pdf",
                    headers={"Cache-Control": "no-store",
                             "Content-Disposition": f'inline; filename="puente-{record.id}.pdf"'})


# --- finding --------------------------------------------------------------------------------------


def holder_name(console: Console, record: Credential) -> str | None:
    if not console.staff.can("read_claims"):
        return None
    claims = creds.claims_of(console.deps, record)
    return " ".join(str(claims.get(k, "")) for k in ("given_name", "family_name")).strip() or None


@router.get("/credentials")
def find(request: Request, console: ConsoleDep,
         document_number: Annotated[str, Query(max_length=40)] = "",
         type: Annotated[str, Query(max_length=64)] = "",
         status: Annotated[Literal["", "valid", "revoked", "suspended"], Query()] = "",
         from_: Annotated[str, Query(alias="from", max_length=10)] = "",
         to: Annotated[str, Query(max_length=10)] = "",
         page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    console.require("read")
    until = day_start(to)
    with console.deps.session() as session:
        found = creds.search(session, console.deps, console.staff, type_id=type or None, status=status or None,
                             document_number=document_number.strip() or None, limit=PAGE_SIZE + 1,
                             offset=(page - 1) * PAGE_SIZE, created_from=day_start(from_),
                             created_before=until + 86_400 if until is not None else None)
    rows = [{"record": r, "holder": holder_name(console, r), "type_name": console.deps.types.get(r.type_id)
             .name(console.lang), "status": creds.STATUS_NAMES[r.status]} for r in found[:PAGE_SIZE]]
    types = [console.deps.types.get(t) for t in console.staff.institution.types if t in console.deps.types.by_id]
    filters = {"document_number": document_number, "type": type, "status": status, "from": from_, "to": to}
    searched = any(filters.values()) or "page" in request.query_params
    return render(request, "credentials.html", {
        "rows": rows, "types": types, "filters": filters, "page": page, "more": len(found) > PAGE_SIZE,
        "searched": searched, "status_labels": STATUS_LABELS}, console=console)


def history(console: Console, record: Credential) -> list[AuditEvent]:
    with console.deps.session() as session:
        return audit.history(session, console.staff.institution.id, record.id, record.batch_id)


def _allowed_actions(record: Credential) -> list[str]:
    return [action for action, (sources, _) in creds.TRANSITIONS.items() if record.status in sources]


@router.get("/credentials/{credential_id}")
def detail(request: Request, credential_id: str, console: ConsoleDep,
           done: Annotated[str, Query(max_length=20)] = "") -> Response:
    record = _record(console, credential_id)
    ctype = console.deps.types.get(record.type_id)
    claims = None
    if console.staff.can("read_claims"):
        values = creds.claims_of(console.deps, record)
        claims = [(ctype.label(name, console.lang), values[name]) for name in ctype.claim_names if name in values]
    with console.deps.session() as session:
        offer = find_offer_for(session, record.id)
        newer = creds.replacement_of(session, record.id)
    actions = _allowed_actions(record) if console.staff.can("status") else []
    return render(request, "credential.html", {
        "record": record, "ctype": ctype, "type_name": ctype.name(console.lang), "claims": claims,
        "status": creds.STATUS_NAMES[record.status], "status_labels": STATUS_LABELS, "events": history(console, record),
        "actions": [(a, ACTIONS[a]) for a in actions], "offer_state": offer.state if offer else None,
        "done": done if done in ACTIONS else "", "replaced_by": newer.id if newer else None}, console=console)


@router.get("/credentials/{credential_id}/status/{action}")
def confirm_status(request: Request, credential_id: str, action: Literal["revoke", "suspend", "reinstate"],
                   console: ConsoleDep) -> Response:
    console.require("status")
    record = _record(console, credential_id)
    return _confirm_page(request, console, record, action)


def _confirm_page(request: Request, console: Console, record: Credential, action: str, *, reason: str = "",
                  error: str | None = None, status: int = 200) -> Response:
    ctype = console.deps.types.get(record.type_id)
    return render(request, "confirm_status.html", {
        "record": record, "type_name": ctype.name(console.lang), "holder": holder_name(console, record),
        "action": action, "action_label": ACTIONS[action], "reason": reason, "error": error,
        "allowed": action in _allowed_actions(record), "status": creds.STATUS_NAMES[record.status],
        "status_labels": STATUS_LABELS, "delay": console.deps.settings.revocation_delay_seconds},
        console=console, status=status)


@router.post("/credentials/{credential_id}/status/{action}")
def change_status(request: Request, credential_id: str, action: Literal["revoke", "suspend", "reinstate"],
                  console: ConsoleDep, form: FormDep) -> Response:
    console.require("status")
    reason = form_text(form, "reason", 600)
    if form_text(form, "confirm") != "yes":
        record = _record(console, credential_id)
        return _confirm_page(request, console, record, action, reason=reason, status=422,
                             error=console.msg("console.tick_confirmation_box"))
    try:
        creds.change_status(console.deps, console.staff, credential_id, action, reason)
    except Invalid as exc:
        record = _record(console, credential_id)
        return _confirm_page(request, console, record, action, reason=reason, error=exc.message(console.lang),
                             status=422)
    request.app.state.metrics.events.labels(f"credentials_{action}").inc()
    return redirect(f"/console/credentials/{credential_id}?done={action}")



# --- issuing again for a new phone ----------------------------------------------------------------


def _reissue_page(request: Request, console: Console, record: Credential, *, error: str | None = None,
                  status: int = 200) -> Response:
    ctype = console.deps.types.get(record.type_id)
    return render(request, "reissue.html", {
        "record": record, "type_name": ctype.name(console.lang), "holder": holder_name(console, record),
        "status": creds.STATUS_NAMES[record.status], "status_labels": STATUS_LABELS, "error": error,
        "allowed": record.status == 0, "form_id": secrets.token_urlsafe(24)}, console=console, status=status)


@router.get("/credentials/{credential_id}/reissue")
def confirm_reissue(request: Request, credential_id: str, console: ConsoleDep) -> Response:
    console.require("issue")
    return _reissue_page(request, console, _record(console, credential_id))


@router.post("/credentials/{credential_id}/reissue")
def reissue(request: Request, credential_id: str, console: ConsoleDep, form: FormDep) -> Response:
    """A lost or new phone: a new offer with the same claims; the old phone's copy is revoked when the
    new one receives it. The form's id makes a double click one re-issuance."""
    console.require("issue")
    record = _record(console, credential_id)
    if form_text(form, "confirm") != "yes":
        return _reissue_page(request, console, record, status=422,
                             error=console.msg("console.tick_confirmation_box"))
    form_id = form_text(form, "form_id", 64) or secrets.token_urlsafe(24)
    claimed = idempotency.begin(console.deps, console.staff, f"console-{form_id}", {"reissue": record.id})
    if isinstance(claimed, dict):
        return redirect(f"/console/credentials/{claimed['body']['id']}/offer")

    def finish(session: Any, issued: creds.Issued) -> None:
        idempotency.complete(session, console.deps, claimed, 201, {"id": issued.credential_id})

    try:
        issued, _original = creds.reissue(console.deps, console.staff, record.id, in_transaction=finish)
    except ServiceError as exc:
        idempotency.abandon(console.deps, claimed)
        if exc.status != 409:
            raise
        return _reissue_page(request, console, _record(console, credential_id), status=409,
                             error=exc.message(console.lang))
    except Exception:
        idempotency.abandon(console.deps, claimed)
        raise
    request.app.state.metrics.events.labels("credentials_reissued").inc()
    return redirect(f"/console/credentials/{issued.credential_id}/offer?new=2")

"""Batches in the console (issue 3): upload a CSV (with a downloadable template per type), follow a
live progress bar while the worker issues it, then read the summary and the failed rows with their
errors, download the results CSV and print the issued credentials as PDF bundles of at most
``PART_SIZE`` pages.

The upload reuses ``issuer.batches.create_batch``: a file it refuses (not UTF-8, binary, wrong
header, no rows, too large) is shown on the upload page with the reasons, and nothing is stored.
A form sent twice (double click, reload) makes one batch: the form carries a random ``form_id``
and the upload is claimed with an idempotency key derived from it, the type and the file.

The progress bar works without JavaScript (the page refreshes itself with a ``<meta>`` refresh in
``<noscript>``); with it, ``batch.js`` polls ``progress.json`` every second and reloads the page
when the batch ends. Pages read batches without their sealed CSV (up to 20 MB), which is never
needed to show them.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlmodel import col, select
from starlette.datastructures import FormData, UploadFile

from credcore import qr
from credcore.credential_types import DEFAULT_SCHEMAS_DIR, CredentialType
from credcore.messages import bilingual, entries, field_message, text
from issuer import audit, batch_csv, batches, idempotency
from issuer import credentials as creds
from issuer.console.credential_pages import accredited_type, form_fields
from issuer.console.routing import ConsoleRoute
from issuer.console.web import SECURITY_HEADERS, Console, ConsoleDep, FormDep, form_text, redirect, render
from issuer.db.models import Batch, BatchRow, Credential, IdempotencyRecord, Offer
from issuer.errors import Conflict, Invalid, NotFound, ServiceError, TooLarge
from issuer.oid4vci import offer_uri
from issuer.repository import scoped

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

PAGE_SIZE = 50  # batches per page of the list
PART_SIZE = 200  # credentials per printable PDF
FAILED_SHOWN = 100  # failed rows listed on the batch page; all of them are in the results CSV
IN_PROGRESS_WAIT = 10.0  # seconds a repeated upload waits for the first one to be stored
# A batch's state → its catalog entry.
STATE_LABELS = {state: f"console.batch_state.{state}" for state in ("pending", "running", "done", "failed")}
OPEN_STATES = ("pending", "running")

# ----------------------------------------------------------------------------- helpers


def _types(console: Console) -> list[CredentialType]:
    return [console.deps.types.get(t) for t in console.staff.institution.types if t in console.deps.types.by_id]


def _type_name(console: Console, type_id: str) -> str:
    ctype = console.deps.types.by_id.get(type_id)
    return ctype.name(console.lang) if ctype else type_id


def _batch(console: Console, batch_id: str) -> Batch:
    """The institution's batch without its sealed CSV; another institution's is a 404, as in
    ``batches.get_scoped``."""
    console.require("batch")
    with console.deps.session() as session:
        batch = scoped(session, Batch, batch_id[:64], console.staff.institution.id, options=[batches.WITHOUT_CSV])
        if batch is None:
            raise NotFound("batch_not_found")
        session.expunge(batch)
    return batch


def _field_label(ctype: CredentialType | None, field: str, lang: str) -> str:
    name = field.split("/")[0]
    if name == batch_csv.VALID_UNTIL:
        return text("console.valid_until", lang)
    if ctype is not None and name in ctype.claim_names:
        return f"{ctype.label(name, lang)} ({name})"
    return name


def error_text(ctype: CredentialType | None, error: Mapping[str, Any], lang: str) -> str:
    """One stored row or header error (Spanish) in the reader's language, with its column's label."""
    code, stored = str(error.get("code", "")), str(error.get("message", ""))
    if f"row.{code}" in entries(lang):  # row and header errors are stored with their Spanish message
        message = text(f"row.{code}", lang)
    elif stored == field_message(code, "es"):
        message = field_message(code, lang)
    else:
        message = stored  # a message the issuer has only in Spanish
    field = str(error.get("field") or "")
    return f"{_field_label(ctype, field, lang)}: {message}" if field else message


def example_row(ctype: CredentialType) -> dict[str, str]:
    """Example values for the template: the type's ``examples/valid.json`` when it has one, else
    the ``examples`` of the claims' JSON Schema; a claim with neither is left empty."""
    example: Any = {}
    with contextlib.suppress(OSError, ValueError):
        example = json.loads((DEFAULT_SCHEMAS_DIR / "types" / ctype.id / "examples" / "valid.json").read_text("utf-8"))
    if not isinstance(example, dict):
        example = {}
    row: dict[str, str] = {}
    for name, schema in ctype.schema.get("properties", {}).items():
        value = example.get(name)
        if value is None and isinstance(schema.get("examples"), list) and schema["examples"]:
            value = schema["examples"][0]
        if isinstance(value, bool):
            row[name] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            row[name] = str(value)
        else:
            row[name] = ""
    return row


def _format(schema: Mapping[str, Any], lang: str) -> str:
    if schema.get("format") == "date":
        return text("console.column_format.date", lang)
    if schema.get("type") == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return text("console.column_format.integer_range", lang, low=low, high=high)
        return text("console.column_format.integer", lang)
    if schema.get("type") == "boolean":
        return text("console.column_format.boolean", lang)
    limit = schema.get("maxLength")
    if limit:
        return text("console.column_format.text_up_to", lang, limit=limit)
    return text("console.column_format.text", lang)


def column_help(ctype: CredentialType, lang: str) -> list[dict[str, Any]]:
    """The template's columns explained: name, label, description, required, format and example."""
    properties = ctype.schema.get("properties", {})
    example = example_row(ctype)
    columns = [{"name": f["name"], "label": f["label"], "hint": f["hint"], "required": f["required"],
                "format": _format(properties.get(f["name"], {}), lang), "example": example.get(f["name"], "")}
               for f in form_fields(ctype, lang, {}, {})]
    columns.append({
        "name": batch_csv.VALID_UNTIL, "label": text("console.valid_until", lang),
        "hint": text("console.valid_until_column_hint", lang),
        "required": False, "format": text("console.column_format.date", lang), "example": "",
    })
    return columns


def template_csv(ctype: CredentialType, delimiter: str = ",") -> str:
    """Header (the claim names the parser expects, then ``valid_until``) and one example row, with
    a BOM so that a spreadsheet opens the accents right."""
    example = example_row(ctype)
    columns = [*ctype.claim_names, batch_csv.VALID_UNTIL]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerow([example.get(name, "") for name in columns])
    return "\ufeff" + buffer.getvalue()


# ----------------------------------------------------------------------------- the list


@router.get("/batches")
def batch_list(request: Request, console: ConsoleDep,
               page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    console.require("batch")
    with console.deps.session() as session:
        found = batches.newest_of(session, console.staff.institution.id, offset=(page - 1) * PAGE_SIZE,
                                  limit=PAGE_SIZE + 1)
        rows = [{**batches.describe(batch), "type_name": _type_name(console, batch.type_id)}
                for batch in found[:PAGE_SIZE]]
    return render(request, "batches.html", {"rows": rows, "page": page, "more": len(found) > PAGE_SIZE,
                                            "state_labels": STATE_LABELS}, console=console)


# ----------------------------------------------------------------------------- uploading


def _new_page(request: Request, console: Console, *, selected: str = "", error: str | None = None,
              problems: Iterable[str] = (), status: int = 200) -> Response:
    settings = console.deps.settings
    types = _types(console)
    return render(request, "batch_new.html", {
        "types": [{"id": t.id, "name": t.name(console.lang), "columns": column_help(t, console.lang)} for t in types],
        "selected": selected if selected in console.staff.institution.types else "",
        "form_id": secrets.token_urlsafe(24), "error": error, "problems": list(problems),
        "max_rows": f"{settings.batch_max_rows:,}".replace(",", "." if console.lang == "es" else ","),
        "max_mb": f"{settings.batch_max_bytes / 1_048_576:.0f}",
    }, console=console, status=status)


@router.get("/batches/new")
def new_batch(request: Request, console: ConsoleDep,
              type: Annotated[str, Query(max_length=64)] = "") -> Response:
    console.require("batch")
    return _new_page(request, console, selected=type)


@router.get("/batches/template/{type_id}.csv")
def batch_template(type_id: str, console: ConsoleDep,
                   sep: Annotated[Literal["comma", "semicolon"], Query()] = "comma") -> Response:
    """The CSV template of an accredited type (404 for any other), comma or semicolon separated."""
    console.require("batch")
    ctype = accredited_type(console, type_id)
    suffix = "-punto-y-coma" if sep == "semicolon" else ""
    headers = {**SECURITY_HEADERS,
               "Content-Disposition": f'attachment; filename="puente-plantilla-{ctype.id}{suffix}.csv"'}
    return Response(template_csv(ctype, ";" if sep == "semicolon" else ",").encode("utf-8"),
                    media_type="text/csv; charset=utf-8", headers=headers)


def _claim_upload(console: Console, key: str, fingerprint: dict[str, str]) -> IdempotencyRecord | dict[str, Any]:
    """Claim the upload's key; a second copy of a form still being stored waits for the first."""
    deadline = time.monotonic() + IN_PROGRESS_WAIT
    while True:
        try:
            return idempotency.begin(console.deps, console.staff, key, fingerprint)
        except Conflict as exc:
            if exc.code != "idempotency_in_progress" or time.monotonic() > deadline:
                raise
            time.sleep(0.25)


@router.post("/batches")
async def upload_batch(request: Request, console: ConsoleDep, form: FormDep) -> Response:
    try:
        return await _upload(request, console, form)
    finally:
        await form.close()  # the file's spooled copy


async def _upload(request: Request, console: Console, form: FormData) -> Response:
    console.require("batch")
    deps, lang = console.deps, console.lang
    type_id = form_text(form, "type", 64)
    form_id = form_text(form, "form_id", 64) or secrets.token_urlsafe(24)
    upload = form.get("file")
    if type_id not in console.staff.institution.types or type_id not in deps.types.by_id:
        return _new_page(request, console, status=422, error=console.msg("console.choose_batch_s_credential"))
    if not isinstance(upload, UploadFile) or not (upload.filename or upload.size):
        return _new_page(request, console, selected=type_id, status=422,
                         error=console.msg("console.choose_csv_file_upload"))
    limit = deps.settings.batch_max_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        return _new_page(request, console, selected=type_id, status=413,
                         error=batches.too_large(limit).message(lang))
    if not data:
        return _new_page(request, console, selected=type_id, status=422, error=console.msg("console.file_empty"))
    ctype = deps.types.get(type_id)
    digest = hashlib.sha256(data).hexdigest()
    key = "console-batch:" + hashlib.sha256(f"{form_id}\n{type_id}\n{digest}".encode()).hexdigest()[:40]
    try:
        claimed = await run_in_threadpool(_claim_upload, console, key, {"batch_type": type_id, "csv_sha256": digest})
    except ServiceError as exc:
        return _new_page(request, console, selected=type_id, status=exc.status, error=exc.message(lang))
    if isinstance(claimed, dict):  # the same form and file sent again: the batch it made
        return redirect(f"/console/batches/{claimed['body']['id']}")

    def finish(session: Any, batch: Batch) -> None:
        idempotency.complete(session, console.deps, claimed, 303, {"id": batch.id})

    try:
        batch = await run_in_threadpool(batches.create_batch, deps, console.staff, type_id=type_id, data=data,
                                        lang=lang, in_transaction=finish)
    except (Invalid, TooLarge) as exc:
        await run_in_threadpool(idempotency.abandon, deps, claimed)
        return _new_page(request, console, selected=type_id, status=exc.status, error=exc.message(lang),
                         problems=[error_text(ctype, e, lang) for e in exc.errors])
    except Exception:
        await run_in_threadpool(idempotency.abandon, deps, claimed)
        raise
    return redirect(f"/console/batches/{batch.id}?new=1")


# ----------------------------------------------------------------------------- one batch


def _failed_rows(console: Console, batch: Batch, ctype: CredentialType | None) -> list[dict[str, Any]]:
    with console.deps.session() as session:
        found = session.exec(select(BatchRow.row_number, BatchRow.errors)
                             .where(BatchRow.batch_id == batch.id, col(BatchRow.credential_id).is_(None))
                             .order_by(col(BatchRow.row_number)).limit(FAILED_SHOWN)).all()
    return [{"row": number, "errors": [error_text(ctype, e, console.lang) for e in (errors or [])]}
            for number, errors in found]


def part_count(issued: int) -> int:
    return math.ceil(issued / PART_SIZE)


@router.get("/batches/{batch_id}")
def batch_page(request: Request, batch_id: str, console: ConsoleDep,
               new: Annotated[int, Query(ge=0, le=1)] = 0) -> Response:
    console.require("batch")
    batch = _batch(console, batch_id)
    ctype = console.deps.types.by_id.get(batch.type_id)
    done = batch.state == "done"
    parts = [{"number": n, "first": (n - 1) * PART_SIZE + 1, "last": min(n * PART_SIZE, batch.issued)}
             for n in range(1, part_count(batch.issued) + 1)] if done else []
    return render(request, "batch.html", {
        "batch": batch, "progress": batches.describe(batch), "type_name": _type_name(console, batch.type_id),
        "state_labels": STATE_LABELS, "open": batch.state in OPEN_STATES, "done": done, "new": bool(new),
        "failed_rows": _failed_rows(console, batch, ctype) if done and batch.failed else [],
        "failed_shown": FAILED_SHOWN, "parts": parts, "can_print": console.staff.can("read_claims"),
    }, console=console)


@router.get("/batches/{batch_id}/progress.json")
def batch_progress(batch_id: str, console: ConsoleDep) -> Response:
    """What ``batches.progress`` answers: state, total, processed, issued, failed (never cached)."""
    console.require("batch")
    return JSONResponse(batches.describe(_batch(console, batch_id)), headers=SECURITY_HEADERS)


@router.get("/batches/{batch_id}/results.csv")
def batch_results(batch_id: str, console: ConsoleDep) -> Response:
    """The results CSV, as the API gives it (an error page until the batch is done)."""
    console.require("batch")
    batch, pieces = batches.results(console.deps, console.staff, batch_id)
    headers = {**SECURITY_HEADERS,
               "Content-Disposition": f'attachment; filename="puente-batch-{batch.id}-results.csv"'}
    return StreamingResponse((piece.encode("utf-8") for piece in pieces), media_type="text/csv; charset=utf-8",
                             headers=headers)


@router.get("/batches/{batch_id}/bundle.pdf")
def batch_bundle(batch_id: str, console: ConsoleDep,
                 part: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Part ``part`` of the batch's printable credentials: the PDF page of each issued row, in row
    order, ``PART_SIZE`` per part. Printing is audited like the results download."""
    from issuer.institutions import contact_line
    from issuer.pdf import Printable, render_bundle_pdf

    console.require("batch")
    console.require("read_claims")
    deps, staff = console.deps, console.staff
    batch = _batch(console, batch_id)
    if batch.state != "done":
        raise Conflict("batch_not_done", variant="print_later")
    if part > part_count(batch.issued):
        raise NotFound("batch_part_not_found")
    with deps.session() as session:
        found = session.exec(
            select(Credential, Offer)
            .join(BatchRow, col(BatchRow.credential_id) == col(Credential.id))
            .join(Offer, col(Offer.id) == col(BatchRow.offer_id))
            .where(BatchRow.batch_id == batch.id, Credential.institution_id == staff.institution.id)
            .order_by(col(BatchRow.row_number)).offset((part - 1) * PART_SIZE).limit(PART_SIZE)).all()
        items = [Printable(institution_name=staff.institution.name, ctype=deps.types.get(record.type_id),
                           claims=creds.claims_of(deps, record), paper_qr=qr.encode(creds.paper_of(deps, record)),
                           offer_uri=offer_uri(deps, staff.institution, offer),
                           tx_code=deps.box.open(offer.tx_code_sealed, f"tx:{offer.id}").decode(),
                           valid_until=record.valid_until, credential_id=record.id,
                           institution_contact=contact_line(staff.institution))
                 for record, offer in found]
        if not items:
            raise NotFound("batch_part_not_found")
        audit.record(session, at=deps.now(), actor=staff.actor, action="batch.print",
                     institution_id=staff.institution.id, target=batch.id,
                     details={"part": part, "credentials": len(items)})
        session.commit()
    ctype = deps.types.get(batch.type_id)
    title = f"{ctype.name('es')} / {ctype.name('en')} · {bilingual('console.pdf.batch')} {batch.id} · {part}"
    pdf = render_bundle_pdf(items, title=title)
    headers = {**SECURITY_HEADERS,
               "Content-Disposition": f'inline; filename="puente-batch-{batch.id}-part-{part}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)

"""Staff API for CSV batches (issuer.batches): upload → 202, progress, results CSV. Scoped to the
caller's institution; every endpoint needs the ``batch`` permission (officers and admins)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from credcore.messages import field_message
from issuer import batches, idempotency
from issuer.api.common import DepsDep, IssuerRoute, LangDep, StaffDep
from issuer.api.models import BatchAccepted, BatchProgress
from issuer.db.models import Batch
from issuer.errors import Invalid, ServiceError

router = APIRouter(prefix="/api/v1", tags=["staff"], route_class=IssuerRoute)

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and the "type" field, on top of the CSV itself
CSV_MEDIA_TYPES = ("text/csv", "application/csv")
UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file", "type"],
        "properties": {"file": {"type": "string", "format": "binary", "description": "CSV UTF-8"},
                       "type": {"type": "string", "description": "credential type id"}}}},
    "text/csv": {"schema": {"type": "string"}, "description": "the CSV itself, with ?type="},
}}}


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"


def _links(batch_id: str) -> dict[str, str]:
    return {"self": f"/api/v1/batches/{batch_id}", "results": f"/api/v1/batches/{batch_id}/results.csv"}


def _accepted(batch: Batch) -> dict[str, Any]:
    return {"id": batch.id, "state": batch.state, "total": batch.total, "links": _links(batch.id)}


async def _read_capped(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` (never buffered beyond it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise batches.too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise batches.too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _from_multipart(request: Request, body: bytes) -> tuple[bytes, str | None]:
    """The ``file`` and ``type`` fields of a multipart body already read (and capped)."""
    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=4)
    except StarletteHTTPException:
        raise Invalid("form_invalid") from None
    try:
        upload, type_id = form.get("file"), form.get("type")
        if not isinstance(upload, UploadFile):
            raise Invalid("file_missing")
        return await upload.read(), type_id if isinstance(type_id, str) else None
    finally:
        await form.close()


async def _upload_of(request: Request, limit: int, query_type: str | None) -> tuple[bytes, str]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        data, form_type = await _from_multipart(request, await _read_capped(request, limit + MULTIPART_OVERHEAD))
        type_id = form_type or query_type
    elif media_type in CSV_MEDIA_TYPES:
        data, type_id = await _read_capped(request, limit), query_type
    else:
        raise UnsupportedMediaType()
    if len(data) > limit:
        raise batches.too_large(limit)
    if not type_id:
        raise Invalid("type_missing", errors=[{"field": "type", "code": "required",
                                               "message": field_message("required", "es")}])
    return data, type_id.strip()


@router.post("/batches", status_code=202, openapi_extra=UPLOAD_BODY, response_model=BatchAccepted)
async def upload_batch(request: Request, deps: DepsDep, staff: StaffDep, lang: LangDep,
                       type: Annotated[str | None, Query(max_length=64)] = None,
                       idempotency_key: Annotated[str | None, Header()] = None) -> Response:
    """Upload a CSV to issue one credential per row, in the background: 202 with the batch id.
    An optional ``Idempotency-Key`` makes a retried upload return the same batch."""
    staff.require("batch")
    data, type_id = await _upload_of(request, deps.settings.batch_max_bytes, type)
    claimed: Any = None
    if idempotency_key is not None:
        fingerprint = {"batch_type": type_id, "csv_sha256": hashlib.sha256(data).hexdigest()}
        claimed = await run_in_threadpool(idempotency.begin, deps, staff, idempotency_key, fingerprint)
        if isinstance(claimed, dict):
            return JSONResponse(claimed["body"], status_code=claimed["status"],
                                headers={"Idempotent-Replayed": "true", "Location": claimed["body"]["links"]["self"]})

    def finish(session: Session, batch: Batch) -> None:
        if claimed is not None:
            idempotency.complete(session, deps, claimed, 202, _accepted(batch))

    try:
        batch = await run_in_threadpool(batches.create_batch, deps, staff, type_id=type_id, data=data, lang=lang,
                                        in_transaction=finish)
    except Exception:
        if claimed is not None:
            await run_in_threadpool(idempotency.abandon, deps, claimed)
        raise
    return JSONResponse(_accepted(batch), status_code=202, headers={"Location": _links(batch.id)["self"]})


@router.get("/batches/{batch_id}", response_model=BatchProgress, response_model_exclude_unset=True)
def get_batch(batch_id: str, deps: DepsDep, staff: StaffDep) -> dict[str, Any]:
    """Progress and counts: ``processed`` of ``total`` rows, ``issued`` and ``failed``."""
    return batches.progress(deps, staff, batch_id)


@router.get("/batches/{batch_id}/results.csv", response_class=StreamingResponse)
def batch_results(batch_id: str, deps: DepsDep, staff: StaffDep) -> StreamingResponse:
    """One row per input row, in input order: ``row``, ``status`` (issued | error),
    ``credential_id``, ``offer_uri``, ``tx_code``, ``errors``. 409 until the batch is done."""
    batch, pieces = batches.results(deps, staff, batch_id)
    headers = {"Cache-Control": "no-store",
               "Content-Disposition": f'attachment; filename="puente-batch-{batch.id}-results.csv"'}
    return StreamingResponse((piece.encode("utf-8") for piece in pieces), media_type="text/csv; charset=utf-8",
                             headers=headers)

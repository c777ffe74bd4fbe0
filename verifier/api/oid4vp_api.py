"""OpenID4VP endpoints (PRODUCT.md "Verifier HTTP interface"; verifier/oid4vp.py has the protocol).

Frontend side: ``POST /api/v1/presentation-requests`` (a preset or a DCQL query) → the request id,
the ``openid4vp://`` QR text and a result token; ``GET /api/v1/presentation-requests/{id}`` with
``Authorization: Bearer <result token>`` → the status and, once answered, the result (read once:
its claims are deleted afterwards); ``GET …/{id}/qr.png`` the QR as an image.

Wallet side: ``GET /vp/{id}/request`` → the request object (``application/oauth-authz-req+jwt``,
served once); ``POST /vp/{id}/response`` (``direct_post``) → ``200 {}`` once processed, or
``400 {"error": "invalid_request", …}`` for an unknown, expired, replayed or malformed answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from credcore.encoding import loads_strict
from credcore.errors import CredentialError
from credcore.messages import message, negotiate
from puente.web import problem
from servicekit import qr_image
from verifier import oid4vp
from verifier.service import VerifierService

router = APIRouter(tags=["openid4vp"])
NO_STORE = {"Cache-Control": "no-store"}
# Wallet endpoints are public and cookie-less; a browser wallet on another origin may call them.
WALLET_HEADERS = {**NO_STORE, "Access-Control-Allow-Origin": "*"}
FORM = "application/x-www-form-urlencoded"

_CREATE_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "oneOf": [
            {"type": "object", "required": ["preset"], "additionalProperties": False,
             "properties": {"preset": {"type": "string", "enum": sorted(oid4vp.PRESETS)}}},
            {"type": "object", "required": ["dcql_query"], "additionalProperties": False,
             "properties": {"dcql_query": {"type": "object", "description": "DCQL (OpenID4VP 1.0 §6), dc+sd-jwt"}}},
        ]}}},
}


def service_of(request: Request) -> VerifierService:
    service: VerifierService = request.app.state.service
    return service


def _lang(accept_language: str | None) -> str:
    return negotiate(accept_language)


def _title(lang: str, es: str, en: str) -> str:
    return en if lang == "en" else es


def _not_found(lang: str) -> JSONResponse:
    return problem(404, "not_found", _title(lang, "Solicitud desconocida o vencida.", "Unknown or expired request."))


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token and len(token) <= 256 else None


@router.post("/api/v1/presentation-requests", status_code=201, openapi_extra={"requestBody": _CREATE_BODY})
async def create_presentation_request(request: Request,
                                      accept_language: Annotated[str | None, Header()] = None) -> Response:
    """Start a presentation request; the response holds the only copy of the result token."""
    lang = _lang(accept_language)
    service = service_of(request)
    invalid = _title(lang, "La solicitud de presentación no es válida.", "The presentation request is not valid.")
    try:
        body = loads_strict(await request.body())
    except CredentialError:
        return problem(422, "request_invalid", invalid, "the body must be JSON")
    try:
        types = service.trust.current().types
    except CredentialError as exc:
        return problem(503, exc.code, message(exc.code, lang))
    try:
        query = oid4vp.query_from_body(body, types)
    except oid4vp.DcqlError as exc:
        return problem(422, "dcql_invalid", invalid, str(exc), field=exc.where)
    except oid4vp.PresetUnavailable as exc:
        return problem(503, "type_not_trusted", _title(lang, "Ninguna entidad de confianza emite ese tipo.",
                                                       "No trusted institution issues that type."), str(exc))
    try:
        tx, token = oid4vp.create_transaction(service, query)
    except oid4vp.StoreFull:
        response = problem(503, "too_many_requests_open", _title(lang, "Demasiadas solicitudes abiertas.",
                                                                 "Too many open requests."))
        response.headers["Retry-After"] = "30"
        return response
    base = f"/api/v1/presentation-requests/{tx.id}"
    body = {"id": tx.id, "status": tx.status, "result_token": token, "expires_at": tx.expires_at,
            "client_id": tx.client_id, "request_uri": tx.request_uri, "qr": tx.qr_text(),
            "qr_png": f"{base}/qr.png", "result_uri": base, "dcql_query": tx.query}
    return JSONResponse(body, status_code=201, headers={**NO_STORE, "Location": base})


@router.get("/api/v1/presentation-requests/{request_id}")
def presentation_result(request_id: str, request: Request,
                        authorization: Annotated[str | None, Header()] = None,
                        accept_language: Annotated[str | None, Header()] = None) -> Response:
    """Status and result, for the frontend holding the result token only (anyone else: 404)."""
    lang = _lang(accept_language)
    service = service_of(request)
    token = _bearer(authorization)
    body = service.transactions.read_result(request_id, token, lang, service.clock.now()) if token else None
    if body is None:
        return _not_found(lang)
    return JSONResponse(body, headers=NO_STORE)


@router.get("/api/v1/presentation-requests/{request_id}/qr.png",
            responses={200: {"content": {"image/png": {}}}}, response_class=Response)
def presentation_qr(request_id: str, request: Request,
                    accept_language: Annotated[str | None, Header()] = None) -> Response:
    """The ``openid4vp://`` QR of a pending request (it carries nothing secret)."""
    service = service_of(request)
    tx = service.transactions.get(request_id, service.clock.now())
    if tx is None or tx.status != "pending":
        return _not_found(_lang(accept_language))
    return Response(qr_image.render_png(tx.qr_text(), "M"), media_type="image/png", headers=NO_STORE)


def _wallet_error(status: int, description: str) -> JSONResponse:
    return JSONResponse({"error": "invalid_request", "error_description": description}, status_code=status,
                        headers=WALLET_HEADERS)


@router.get("/vp/{request_id}/request", responses={200: {"content": {oid4vp.REQUEST_OBJECT_MEDIA_TYPE: {}}}},
            response_class=Response)
def wallet_request_object(request_id: str, request: Request) -> Response:
    """The request object, served once: a second fetch (or an unknown or expired id) is a 404."""
    service = service_of(request)
    tx = service.transactions.take_request(request_id, service.clock.now())
    if tx is None:
        return _wallet_error(404, "unknown, expired or already fetched request")
    return Response(oid4vp.request_object(tx), media_type=oid4vp.REQUEST_OBJECT_MEDIA_TYPE, headers=WALLET_HEADERS)


@router.post("/vp/{request_id}/response", responses={400: {"description": "invalid_request"}})
async def wallet_response(request_id: str, request: Request) -> Response:
    """The ``direct_post`` answer: ``vp_token`` and ``state``, or ``error``/``error_description``
    and ``state``. 200 ``{}`` once processed, whatever the verdict (the frontend reads it)."""
    service = service_of(request)
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM:
        return _wallet_error(400, f"the answer must be {FORM}")
    try:
        form = oid4vp.parse_form(await request.body())
        # Verification may fetch status lists: it runs in the thread pool, never on the event loop.
        result = await run_in_threadpool(oid4vp.receive_answer, service, request_id, form)
    except oid4vp.ResponseRejected as exc:
        return _wallet_error(400, exc.description)
    request.app.state.metrics.events.labels(f"oid4vp_{result.verdict}").inc()
    body: dict[str, Any] = {}
    return JSONResponse(body, headers=WALLET_HEADERS)

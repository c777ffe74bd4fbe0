"""OpenID4VP endpoints (PRODUCT.md "Verifier HTTP interface"; verifier/oid4vp/ has the protocol).

Frontend side: ``POST /api/v1/presentation-requests`` (a preset or a DCQL query) → the request id,
the ``openid4vp://`` QR text and a result token; ``GET /api/v1/presentation-requests/{id}`` with
``Authorization: Bearer <result token>`` → the status and, once answered, the result (read once:
its claims are deleted afterwards); ``GET …/{id}/qr.png`` the QR as an image.

Wallet side: ``GET /vp/{id}/request`` → the request object (``application/oauth-authz-req+jwt``,
served once); ``POST /vp/{id}/response`` (``direct_post``) → ``200 {}`` once processed, or
``400 {"error": "invalid_request", …}`` for an unknown, expired, replayed or malformed answer.
Errors are raised and answered by verifier/errors.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from credcore.encoding import loads_strict
from credcore.errors import CredentialError
from servicekit import qr_image
from verifier import oid4vp
from verifier.api.models import (
    PROBLEMS,
    PageToken,
    PresentationRequestCreated,
    PresentationStatus,
    WalletAccepted,
    WalletError,
)
from verifier.clients import KEY_PREFIX, PAGE_COOKIE, PageTokens
from verifier.deps import Bearer, Lang, Service
from verifier.errors import (
    WALLET_HEADERS,
    BodyNotJson,
    ClientCredentialInvalid,
    ClientCredentialRequired,
    UnknownRequest,
    WalletRequestGone,
)
from verifier.service import VerifierService

router = APIRouter(tags=["openid4vp"])
NO_STORE = {"Cache-Control": "no-store"}
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
_WALLET_ERRORS: dict[int | str, dict[str, Any]] = {400: {"model": WalletError}, 404: {"model": WalletError}}


def requester(request: Request, service: VerifierService, credential: str | None) -> str:
    """Who asks, for the quota of open requests: a verifier client (its key), or the scanning page
    (its token and cookie; counted by address), or, where credentials are not required
    (development, tests), the address. Raises when a credential is wrong or missing."""
    state = request.app.state
    address = f"addr:{request.client.host}" if request.client is not None else "addr:"
    if credential and credential.startswith(KEY_PREFIX):
        client = state.verifier_clients.authenticate(credential)
        if client is None:
            raise ClientCredentialInvalid(credential[:8])
        return f"client:{client.id}"
    if credential and credential.startswith("pt."):
        if state.page_tokens.check(credential, request.cookies.get(PAGE_COOKIE), service.clock.now()) is None:
            raise ClientCredentialInvalid("page token")
        return address
    if credential or service.settings.clients_required:
        raise ClientCredentialInvalid("credential") if credential else ClientCredentialRequired()
    return address


@router.post("/api/v1/page-token", response_model=PageToken, responses={429: PROBLEMS[429]})
def page_token(service: Service) -> Response:
    """A token for the scanning page to create presentation requests with, valid 10 minutes and
    only together with the cookie set here."""
    now = service.clock.now()
    token, page, expires = PageTokens(service.store).issue(now)
    response = JSONResponse({"token": token, "expires_at": expires}, headers=NO_STORE)
    response.set_cookie(PAGE_COOKIE, page, max_age=expires - now, path="/api/v1/presentation-requests",
                        httponly=True, samesite="strict", secure=service.settings.base_url.startswith("https://"))
    return response


@router.post("/api/v1/presentation-requests", status_code=201, openapi_extra={"requestBody": _CREATE_BODY},
             response_model=PresentationRequestCreated,
             responses={status: PROBLEMS[status] for status in (401, 413, 422, 429, 503)})
async def create_presentation_request(request: Request, service: Service, credential: Bearer) -> Response:
    """Start a presentation request; the response holds the only copy of the result token."""
    try:
        body = loads_strict(await request.body())
    except CredentialError:
        raise BodyNotJson("the body must be JSON") from None
    owner = requester(request, service, credential)
    types = service.trust.current().types
    query = oid4vp.query_from_body(body, types)
    tx, token = oid4vp.create_transaction(service, query, owner)
    base = f"/api/v1/presentation-requests/{tx.id}"
    created = {"id": tx.id, "status": tx.status, "result_token": token, "expires_at": tx.expires_at,
               "client_id": tx.client_id, "request_uri": tx.request_uri, "qr": tx.qr_text(),
               "qr_png": f"{base}/qr.png", "result_uri": base, "dcql_query": tx.query}
    return JSONResponse(created, status_code=201, headers={**NO_STORE, "Location": base})


@router.get("/api/v1/presentation-requests/{request_id}", response_model=PresentationStatus,
            responses={404: PROBLEMS[404]})
def presentation_result(request_id: str, service: Service, token: Bearer, lang: Lang) -> Response:
    """Status and result, for the frontend holding the result token only (anyone else: 404)."""
    body = service.transactions.read_result(request_id, token, lang, service.clock.now()) if token else None
    if body is None:
        raise UnknownRequest(request_id)
    return JSONResponse(body, headers=NO_STORE)


@router.get("/api/v1/presentation-requests/{request_id}/qr.png",
            responses={200: {"content": {"image/png": {}}}, 404: PROBLEMS[404]}, response_class=Response)
def presentation_qr(request_id: str, service: Service) -> Response:
    """The ``openid4vp://`` QR of a pending request (it carries nothing secret)."""
    tx = service.transactions.get(request_id, service.clock.now())
    if tx is None or tx.status != "pending":
        raise UnknownRequest(request_id)
    return Response(qr_image.render_png(tx.qr_text(), "M"), media_type="image/png", headers=NO_STORE)


@router.get("/vp/{request_id}/request",
            responses={200: {"content": {oid4vp.REQUEST_OBJECT_MEDIA_TYPE: {}}}, 404: {"model": WalletError}},
            response_class=Response)
def wallet_request_object(request_id: str, service: Service) -> Response:
    """The request object, served once: a second fetch (or an unknown or expired id) is a 404."""
    tx = service.transactions.take_request(request_id, service.clock.now())
    if tx is None:
        raise WalletRequestGone("unknown, expired or already fetched request")
    return Response(oid4vp.request_object(tx, service), media_type=oid4vp.REQUEST_OBJECT_MEDIA_TYPE,
                    headers=WALLET_HEADERS)


@router.post("/vp/{request_id}/response", response_model=WalletAccepted, responses=_WALLET_ERRORS)
async def wallet_response(request_id: str, request: Request, service: Service) -> Response:
    """The ``direct_post`` answer: ``vp_token`` and ``state``, or ``error``/``error_description``
    and ``state``. 200 ``{}`` once processed, whatever the verdict (the frontend reads it)."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM:
        raise oid4vp.ResponseRejected(f"the answer must be {FORM}")
    form = oid4vp.parse_form(await request.body())
    # Verification may fetch status lists: it runs in the thread pool, never on the event loop.
    result = await run_in_threadpool(oid4vp.receive_answer, service, request_id, form)
    request.app.state.metrics.events.labels(f"oid4vp_{result.verdict}").inc()
    body: dict[str, Any] = {}
    return JSONResponse(body, headers=WALLET_HEADERS)

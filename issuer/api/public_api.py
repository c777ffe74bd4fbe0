"""Public endpoints: OpenID4VCI (metadata, offers, token, nonce, credential), status lists, type
metadata, the JWKS per institution and the signed trust list."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from credcore.encoding import loads_strict
from credcore.errors import CredentialError
from issuer import oid4vci
from issuer.api.common import MAX_INT, DepsDep, IssuerRoute
from issuer.api.models import (
    AuthorizationServerMetadata,
    CredentialAnswer,
    CredentialOffer,
    IssuerMetadata,
    JwtVcIssuerMetadata,
    NonceAnswer,
    TokenAnswer,
)
from issuer.errors import NotFound
from issuer.institutions import by_slug, issuer_id, published_keys, signed_trust_list
from issuer.oid4vci import OAuthError
from issuer.statuses import status_list_token

router = APIRouter(tags=["openid4vci and public documents"], route_class=IssuerRoute)
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/.well-known/openid-credential-issuer/i/{slug}", response_model=IssuerMetadata,
            response_model_exclude_unset=True)
def credential_issuer_metadata(slug: str, deps: DepsDep) -> dict[str, Any]:
    with deps.session() as session:
        return oid4vci.issuer_metadata(deps, by_slug(session, slug))


@router.get("/.well-known/oauth-authorization-server/i/{slug}", response_model=AuthorizationServerMetadata,
            response_model_exclude_unset=True)
def authorization_server_metadata(slug: str, deps: DepsDep) -> dict[str, Any]:
    with deps.session() as session:
        return oid4vci.authorization_server_metadata(deps, by_slug(session, slug))


@router.get("/.well-known/jwt-vc-issuer/i/{slug}", response_model=JwtVcIssuerMetadata,
            response_model_exclude_unset=True)
def jwt_vc_issuer_metadata(slug: str, deps: DepsDep) -> dict[str, Any]:
    """SD-JWT VC issuer metadata: the issuer's public keys (compromised ones withdrawn)."""
    with deps.session() as session:
        institution = by_slug(session, slug)
        return {"issuer": issuer_id(deps, institution),
                "jwks": {"keys": published_keys(session, institution, include_compromised=False)}}


@router.get("/i/{slug}/offers/{offer_id}", response_model=CredentialOffer)
def credential_offer(slug: str, offer_id: str, deps: DepsDep) -> JSONResponse:
    return JSONResponse(oid4vci.credential_offer(deps, slug, offer_id), headers=NO_STORE)


@router.post("/i/{slug}/token", response_model=TokenAnswer)
async def token(slug: str, request: Request, deps: DepsDep) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise OAuthError("invalid_request", "the token request must be application/x-www-form-urlencoded")
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    # The database work runs in the thread pool, as for sync endpoints: never on the event loop.
    return JSONResponse(await run_in_threadpool(oid4vci.token, deps, slug, values), headers=NO_STORE)


@router.post("/i/{slug}/nonce", response_model=NonceAnswer)
def nonce(slug: str, deps: DepsDep) -> JSONResponse:
    return JSONResponse(oid4vci.nonce(deps, slug), headers=NO_STORE)


@router.post("/i/{slug}/credential", response_model=CredentialAnswer)
async def credential(slug: str, request: Request, deps: DepsDep,
                     authorization: str | None = Header(default=None)) -> JSONResponse:
    try:
        body = loads_strict(await request.body())
    except CredentialError:
        raise OAuthError("invalid_credential_request", "the body must be JSON") from None
    issued = await run_in_threadpool(oid4vci.credential, deps, slug, authorization, body)
    return JSONResponse(issued, headers=NO_STORE)


def entity_tag(body: str) -> str:
    """A strong ETag: the same bytes give the same tag."""
    return '"' + hashlib.sha256(body.encode("utf-8")).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 §13.1.2: ``*`` or any listed tag (weak comparison) matches."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match[:4096].split(",")]
    return "*" in tags or tag in tags


@router.get("/i/{slug}/status/{number}", responses={304: {"description": "unchanged (If-None-Match)"}})
def status_list(slug: str, number: Annotated[int, Path(ge=-MAX_INT, le=MAX_INT)], deps: DepsDep,
                if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The signed status list. ``ttl`` says when a verifier should ask again (a revocation reaches
    every verifier within ``ttl`` plus the HTTP cache time); ask with ``If-None-Match`` and an
    unchanged list is a bodiless ``304``."""
    with deps.session() as session:
        token_text, ttl = status_list_token(session, deps, slug, number)
    tag = entity_tag(token_text)
    headers = {"Cache-Control": f"public, max-age={min(ttl, deps.settings.status_list_cache_seconds)}", "ETag": tag}
    if matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    return Response(token_text, media_type="application/statuslist+jwt", headers=headers)


@router.get("/vct/{type_id}")
def type_metadata(type_id: str, deps: DepsDep) -> dict[str, Any]:
    ctype = deps.types.by_id.get(type_id)
    if ctype is None:
        raise NotFound("unknown_type")
    return ctype.public_metadata()


@router.get("/trust-list")
def trust_list(deps: DepsDep) -> Response:
    with deps.session() as session:
        token_text = signed_trust_list(session, deps)
    return Response(token_text, media_type="application/jwt", headers={"Cache-Control": "public, max-age=60"})

"""``/api/v1/offline/…``: what the scanning page keeps to verify with no connection (issue 16).

The page checks everything itself: the trust list's signature against the registry key, each status
list's signature against the issuer keys that list names. These routes relay the signed documents the
service already holds (so the page needs no access to issuers), the type bundle of the accredited
types, and the service's own limits, so that an offline result uses the same rules and maximum ages.
Documents carry an ETag and answer ``If-None-Match`` with 304; a status list says how long ago the
service fetched it (``Age``).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response

from credcore.errors import CredentialError
from credcore.key_binding import OFFLINE_AUDIENCE
from credcore.messages import CHECK_NAMES, catalog, message
from credcore.status_list import hosted_by
from servicekit.problems import problem
from verifier.api.models import OfflineConfig, StatusListAddresses
from verifier.deps import Lang, Service
from verifier.service import VerifierService

router = APIRouter(prefix="/api/v1/offline", tags=["offline"])
MAX_STATUS_LISTS = 200  # how many list addresses the page is told about
NO_CACHE = {"Cache-Control": "no-cache"}


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _document(body: bytes, media_type: str, if_none_match: str | None, extra: dict[str, str] | None = None) -> Response:
    headers = {**NO_CACHE, "ETag": _etag(body), **(extra or {})}
    if if_none_match is not None and headers["ETag"] in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _unavailable(code: str, lang: str, status: int = 503) -> JSONResponse:
    response = problem(status, code, message(code, lang), type="about:blank")
    response.headers.update(NO_CACHE)
    return response


@router.get("/config", response_model=OfflineConfig, response_model_exclude_unset=True)
def offline_config(service: Service) -> dict[str, Any]:
    """The pinned registry key and the limits the service verifies with (same maximum ages)."""
    settings = service.settings
    return {
        "registry_jwk": service.trust.registry_key.jwk(),
        "trust_list_max_age_seconds": settings.trust_max_age_seconds,
        "status_max_age_seconds": settings.status_max_age_seconds,
        "status_ttl_min_seconds": settings.status_ttl_min_seconds,
        "status_ttl_max_seconds": settings.status_ttl_max_seconds,
        "key_binding": {"audience": OFFLINE_AUDIENCE, "max_age": settings.kb_max_age_seconds,
                        "leeway": settings.clock_leeway_seconds},
        "leeway": settings.clock_leeway_seconds,
        "messages": catalog(),
        "checks": CHECK_NAMES,
    }


@router.get("/trust-list")
def offline_trust_list(service: Service, lang: Lang,
                       if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The registry-signed trust list the service holds (``application/jwt``), as signed."""
    snapshot = service.trust.held
    if snapshot is None:
        return _unavailable("trust_list_unavailable", lang)
    return _document(snapshot.token.encode("ascii"), "application/jwt", if_none_match)


@router.get("/types")
def offline_types(service: Service, lang: Lang, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """JSON Schema and type metadata of every type the trust list accredits."""
    snapshot = service.trust.held
    if snapshot is None:
        return _unavailable("trust_list_unavailable", lang)
    bundle = [{"id": t.id, "vct": t.vct, "schema": t.schema, "metadata": t.metadata}
              for t in snapshot.types.by_id.values()]
    body = JSONResponse({"types": bundle}).body
    return _document(bytes(body), "application/json", if_none_match)


def _trusted_host(service: VerifierService, uri: str) -> bool:
    trust = service.trust.trust_list
    return trust is not None and any(hosted_by(uri, iss) for iss in trust.issuers)


@router.get("/status-lists", response_model=StatusListAddresses)
def offline_status_lists(service: Service) -> dict[str, list[str]]:
    """Addresses of the status lists the service holds, of issuers on the trust list."""
    return {"uris": [u for u in service.status.uris() if _trusted_host(service, u)][:MAX_STATUS_LISTS]}


@router.get("/status-list")
def offline_status_list(service: Service, lang: Lang, uri: Annotated[str, Query(max_length=2048)],
                        if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The issuer-signed ``statuslist+jwt`` at ``uri`` as the service holds it (fetched within its
    ttl); ``Age`` is how many seconds ago the service had it from the issuer."""
    if not _trusted_host(service, uri):
        return _unavailable("status_invalid", lang, 404)
    try:
        token = service.status.status_list_token(uri)
    except CredentialError as exc:
        return _unavailable(exc.code, lang)
    checked = service.status.checked_at(uri)
    age = max(0, service.clock.now() - checked) if checked is not None else 0
    return _document(token.encode("ascii"), "application/statuslist+jwt", if_none_match, {"Age": str(age)})

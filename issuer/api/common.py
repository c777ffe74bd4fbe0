"""Shared API plumbing: the Deps from app state, the caller (staff), language, and the single
table that turns service errors into RFC 9457 problems and OAuth errors into their JSON shape."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.responses import Response

from credcore.messages import bilingual, negotiate, text
from issuer.deps import Deps
from issuer.errors import DATABASE_UNAVAILABLE, ServiceError, database_unavailable
from issuer.oid4vci import OAuthError
from issuer.staff import Staff, authenticate
from servicekit.hostile import MAX_INT
from servicekit.problems import problem

__all__ = ["MAX_INT"]  # re-exported: the bound every integer parameter of the API declares


class IssuerRoute(APIRoute):
    """A route whose database outages become ``503 database_unavailable`` problems instead of 500s
    (security.md #138); the client may retry, and nothing was half-done (every write is one
    transaction)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except DATABASE_UNAVAILABLE as exc:
                raise database_unavailable(exc) from exc

        return guarded


def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


def get_lang(accept_language: Annotated[str | None, Header()] = None) -> str:
    return negotiate(accept_language)


def get_staff(request: Request, authorization: Annotated[str | None, Header()] = None) -> Staff:
    """Staff by API key from the Authorization header only (never a query parameter)."""
    if "api_key" in request.query_params or "access_token" in request.query_params:
        raise ServiceError("api_key_in_query")
    deps = get_deps(request)
    with deps.session() as session:
        return authenticate(session, deps, authorization)


DepsDep = Annotated[Deps, Depends(get_deps)]
LangDep = Annotated[str, Depends(get_lang)]
StaffDep = Annotated[Staff, Depends(get_staff)]


def permitted(permission: str) -> Any:
    """``Annotated[Staff, permitted("issue")]``: the caller, refused with 403 before the request
    body is validated, so a role without the right learns nothing from the endpoint (security.md #105)."""

    def caller(staff: StaffDep) -> Staff:
        staff.require(permission)
        return staff

    return Depends(caller)


def service_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    lang = negotiate(request.headers.get("accept-language"))
    extra: dict[str, Any] = {}
    if exc.errors:
        extra["errors"] = exc.errors
    title = exc.message(lang)
    response = problem(exc.status, exc.code, title, **extra)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def oauth_error_response(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    response = JSONResponse({"error": exc.code, "error_description": exc.description}, status_code=exc.status,
                            headers={"Cache-Control": "no-store"})
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
    return response


def master_key_error_response(_request: Request, _exc: Exception) -> Response:
    return problem(503, "keys_unavailable", bilingual("code.keys_unavailable"))


def validation_error_response(request: Request, exc: Exception) -> Response:
    lang = negotiate(request.headers.get("accept-language"))
    errors = []
    for error in getattr(exc, "errors", lambda: [])():
        location = ".".join(str(p) for p in error.get("loc", ())[1:])
        errors.append({"field": location, "code": str(error.get("type", "invalid")),
                       "message": text("field.invalid_value", lang)})
    return problem(422, "request_invalid", text("code.request_invalid", lang), errors=errors)

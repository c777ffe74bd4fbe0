"""One table from the verifier's domain errors to an HTTP status and an RFC 9457 problem code.

Routes raise; the handlers registered by :func:`install` answer. Frontend endpoints answer with a
problem document (``application/problem+json``); the wallet endpoints of OpenID4VP answer in the
OAuth style ``{"error": "invalid_request", "error_description": …}`` (§8.2)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from credcore.dcql import DcqlError
from credcore.errors import CredentialError
from credcore.messages import message, negotiate
from credcore.ports import SharedStoreUnavailable
from servicekit.problems import problem
from verifier.oid4vp import PresetUnavailable, QuotaExceeded, ResponseRejected, StoreFull

WALLET_HEADERS = {"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"}


class ClientCredentialRequired(Exception):
    """Creating a presentation request needs a verifier client's key or a page token."""


class ClientCredentialInvalid(Exception):
    """An unknown or revoked client key, or a page token that is expired, altered or not this page's."""


class BodyNotJson(Exception):
    """A JSON endpoint got a body that is not JSON."""


class UnknownRequest(Exception):
    """An unknown, expired or foreign presentation request (404: nothing tells which)."""


class WalletRequestGone(Exception):
    """A request object that is unknown, expired or already fetched."""


@dataclass(frozen=True)
class Problem:
    status: int
    code: str | None  # None: the exception's own ``code`` (credential errors, read from credcore/messages)
    es: str
    en: str
    retry_after: int | None = None


INVALID_ES, INVALID_EN = "La solicitud de presentación no es válida.", "The presentation request is not valid."

PROBLEMS: dict[type[Exception], Problem] = {
    BodyNotJson: Problem(422, "request_invalid", INVALID_ES, INVALID_EN),
    DcqlError: Problem(422, "dcql_invalid", INVALID_ES, INVALID_EN),
    PresetUnavailable: Problem(503, "type_not_trusted", "Ninguna entidad de confianza emite ese tipo.",
                               "No trusted institution issues that type."),
    StoreFull: Problem(503, "too_many_requests_open", "Demasiadas solicitudes abiertas.", "Too many open requests.",
                       retry_after=30),
    QuotaExceeded: Problem(429, "client_quota_exceeded",
                           "Este cliente ya tiene el máximo de solicitudes abiertas; espere a que se respondan "
                           "o venzan.",
                           "This client already has the most open requests allowed; wait until they are answered "
                           "or expire.", retry_after=30),
    ClientCredentialRequired: Problem(
        401, "client_credential_required",
        "Para crear una solicitud se necesita la clave de un cliente verificador (puente verifier-client create) "
        "o el token de la página de verificación.",
        "Creating a request needs a verifier client's key (puente verifier-client create) or the scanning "
        "page's token."),
    ClientCredentialInvalid: Problem(
        401, "client_credential_invalid",
        "La clave del cliente verificador o el token de la página no es válido (desconocido, revocado o vencido).",
        "The verifier client's key or the page token is not valid (unknown, revoked or expired)."),
    UnknownRequest: Problem(404, "not_found", "Solicitud desconocida o vencida.", "Unknown or expired request."),
    CredentialError: Problem(503, None, "", ""),
    SharedStoreUnavailable: Problem(
        503, "shared_store_unavailable",
        "El verificador no puede consultar su almacén compartido; no puede confirmar que este código no se haya "
        "usado ya. Intente de nuevo en unos segundos.",
        "The verifier cannot reach its shared store, so it cannot confirm this code was not used before. "
        "Try again in a few seconds.", retry_after=5),
    RequestValidationError: Problem(
        422, "request_invalid",
        "La solicitud no tiene la forma esperada: envíe {\"qr\": …} o {\"presentation\": …}.",
        "The request does not have the expected shape: send {\"qr\": …} or {\"presentation\": …}."),
}


def problem_for(exc: Exception, lang: str) -> Response:
    """The problem response for ``exc`` (its class or nearest listed base decides)."""
    spec = next(PROBLEMS[cls] for cls in type(exc).__mro__ if cls in PROBLEMS)
    extra: dict[str, str] = {}
    if isinstance(exc, CredentialError):
        code, title = exc.code, message(exc.code, lang)
    else:
        code, title = spec.code or "error", spec.en if lang == "en" else spec.es
    detail = None
    if isinstance(exc, DcqlError):
        detail, extra["field"] = str(exc), exc.where
    elif isinstance(exc, BodyNotJson | PresetUnavailable):
        detail = str(exc) or None
    response = problem(spec.status, code, title, detail, **extra)
    if spec.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="presentation-requests"'
    if spec.retry_after is not None:
        response.headers["Retry-After"] = str(spec.retry_after)
    return response


def _problem_handler(request: Request, exc: Exception) -> Response:
    return problem_for(exc, negotiate(request.headers.get("accept-language")))


def wallet_error(status: int, description: str) -> JSONResponse:
    return JSONResponse({"error": "invalid_request", "error_description": description}, status_code=status,
                        headers=WALLET_HEADERS)


WALLET_ERRORS: dict[type[Exception], int] = {ResponseRejected: 400, WalletRequestGone: 404}


def _wallet_handler(_request: Request, exc: Exception) -> Response:
    description = exc.description if isinstance(exc, ResponseRejected) else str(exc)
    return wallet_error(WALLET_ERRORS[type(exc)], description)


def install(app: FastAPI) -> None:
    for cls in PROBLEMS:
        app.add_exception_handler(cls, _problem_handler)
    for cls in WALLET_ERRORS:
        app.add_exception_handler(cls, _wallet_handler)

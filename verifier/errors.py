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
from credcore.messages import message, negotiate, text
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
    code: str | None  # None: the exception's own ``code`` (credential errors)
    variant: str | None = None  # the catalog's ``code.<code>.<variant>`` wording, for this place
    retry_after: int | None = None

    def title(self, lang: str) -> str:
        return text(f"code.{self.code}" + (f".{self.variant}" if self.variant else ""), lang)


PROBLEMS: dict[type[Exception], Problem] = {
    BodyNotJson: Problem(422, "request_invalid", "presentation"),
    DcqlError: Problem(422, "dcql_invalid"),
    PresetUnavailable: Problem(503, "type_not_trusted"),
    StoreFull: Problem(503, "too_many_requests_open", retry_after=30),
    QuotaExceeded: Problem(429, "client_quota_exceeded", retry_after=30),
    ClientCredentialRequired: Problem(401, "client_credential_required"),
    ClientCredentialInvalid: Problem(401, "client_credential_invalid"),
    UnknownRequest: Problem(404, "not_found", "request"),
    CredentialError: Problem(503, None),
    SharedStoreUnavailable: Problem(503, "shared_store_unavailable", retry_after=5),
    RequestValidationError: Problem(422, "request_invalid", "verify_shape"),
}


def problem_for(exc: Exception, lang: str) -> Response:
    """The problem response for ``exc`` (its class or nearest listed base decides)."""
    spec = next(PROBLEMS[cls] for cls in type(exc).__mro__ if cls in PROBLEMS)
    extra: dict[str, str] = {}
    if isinstance(exc, CredentialError):
        code, title = exc.code, message(exc.code, lang)
    else:
        code, title = spec.code or "error", spec.title(lang)
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


@dataclass(frozen=True)
class WalletAnswer:
    """An error answered to a wallet in the OAuth style (§8.2): the status and the ``error`` code; the
    ``error_description`` is the exception's (for the wallet's developer, in English)."""

    status: int
    code: str

    def response(self, description: str) -> JSONResponse:
        return JSONResponse({"error": self.code, "error_description": description}, status_code=self.status,
                            headers=WALLET_HEADERS)


WALLET_ERRORS: dict[type[Exception], WalletAnswer] = {
    ResponseRejected: WalletAnswer(400, "invalid_request"),
    WalletRequestGone: WalletAnswer(404, "invalid_request"),
}


def _wallet_handler(_request: Request, exc: Exception) -> Response:
    description = exc.description if isinstance(exc, ResponseRejected) else str(exc)
    return WALLET_ERRORS[type(exc)].response(description)


def install(app: FastAPI) -> None:
    for cls in PROBLEMS:
        app.add_exception_handler(cls, _problem_handler)
    for cls in WALLET_ERRORS:
        app.add_exception_handler(cls, _wallet_handler)

"""Service-level errors with stable codes; the API maps them to RFC 9457 problems in one table."""

from __future__ import annotations

import logging

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

LOG = logging.getLogger("puente")

# The database cannot be reached (down, refusing connections, pool exhausted, locked): 503.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message_es: str, message_en: str, *, code: str | None = None,
                 errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message_en)
        self.message_es = message_es
        self.message_en = message_en
        if code:
            self.code = code
        self.errors = errors or []

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_es


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Invalid(ServiceError):
    status = 422
    code = "validation_failed"


class TooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class Unavailable(ServiceError):
    status = 503
    code = "unavailable"


def not_found(what_es: str = "No encontrado.", what_en: str = "Not found.") -> NotFound:
    return NotFound(what_es, what_en)


def database_unavailable(exc: Exception) -> Unavailable:
    """The 503 a request gets when the database cannot be reached (security.md #138): the client may
    retry, and nothing was half-done (every write is one transaction). The error's text holds SQL and
    parameters: only its type is logged."""
    LOG.warning("database unavailable", extra={"error": type(getattr(exc, "orig", None) or exc).__name__})
    return Unavailable("La base de datos no está disponible; intente de nuevo más tarde.",
                       "The database is unavailable; try again later.", code="database_unavailable")

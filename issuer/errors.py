"""Service-level errors with stable codes; the API maps them to RFC 9457 problems in one table."""

from __future__ import annotations

import logging

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from credcore.messages import bilingual, text

LOG = logging.getLogger("puente")

# The database cannot be reached (down, refusing connections, pool exhausted, locked): 503.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)


class ServiceError(Exception):
    """A refused request: a registered ``code`` (credcore/codes.py) whose message is the catalog's
    ``code.<code>`` (or ``code.<code>.<variant>``, a wording for one place), ``{name}`` placeholders
    filled from ``values``. The class gives the HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, code: str | None = None, *, variant: str | None = None,
                 errors: list[dict[str, str]] | None = None, **values: object) -> None:
        if code:
            self.code = code
        self.key = f"code.{self.code}" + (f".{variant}" if variant else "")
        self.values = values
        self.errors = errors or []
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        return text(self.key, lang, **self.values)


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


def field_error(field: str, code: str, key: str, **values: object) -> dict[str, str]:
    """One field's error in an ``errors`` list, its message the catalog's ``key`` as "español / English"
    (the domain answers before it knows the reader's language; the console shows one side)."""
    return {"field": field, "code": code, "message": bilingual(key, **values)}


def database_unavailable(exc: Exception) -> Unavailable:
    """The 503 a request gets when the database cannot be reached (security.md #138): the client may
    retry, and nothing was half-done (every write is one transaction). The error's text holds SQL and
    parameters: only its type is logged."""
    LOG.warning("database unavailable", extra={"error": type(getattr(exc, "orig", None) or exc).__name__})
    return Unavailable("database_unavailable")

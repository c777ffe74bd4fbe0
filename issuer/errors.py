"""Service-level errors with stable codes; the API maps them to RFC 9457 problems in one table."""

from __future__ import annotations


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

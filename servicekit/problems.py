"""RFC 9457 problem responses: the one JSON error shape of both services' HTTP APIs."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


def problem(status: int, code: str, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"https://puente.example/problems/{code}", "title": title, "status": status,
                            "code": code}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")

"""A file from an allow-list, answered ``304 Not Modified`` when the client already holds it.

Both web front ends send ``Cache-Control: no-cache`` (every load revalidates, so a fix reaches every
phone) and their service workers precache with ``cache: 'no-cache'``: without a conditional answer,
each revalidation downloads the whole file again, and a first visit pays twice for what the page
and its service worker both fetch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

# Headers a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5), besides the caller's own.
_KEPT = ("etag", "last-modified", "cache-control", "vary")


def _tags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header, weak ones compared as strong (RFC 9110 §13.1.2)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def holds(request: Request, etag: str) -> bool:
    """Whether the request's If-None-Match names ``etag`` (or is ``*``): the client holds this version."""
    asked = request.headers.get("if-none-match")
    return asked is not None and (asked.strip() == "*" or etag in _tags(asked))


def file_response(request: Request, file: Path, media_type: str,
                  headers: Mapping[str, str] | None = None) -> Response:
    """``file`` with its ETag and Last-Modified, or a bodiless 304 when If-None-Match names its
    ETag (or is ``*``)."""
    response = FileResponse(file, media_type=media_type, headers=dict(headers or {}), stat_result=file.stat())
    if holds(request, response.headers["etag"]):
        kept = {name: response.headers[name] for name in _KEPT if name in response.headers}
        return Response(status_code=304, headers={**dict(headers or {}), **kept})
    return response

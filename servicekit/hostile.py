"""Requests refused before any parser or database sees them: NUL characters, JSON nested deeper
than any request needs, bodies past the size cap, integers past what the database stores."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from credcore.encoding import nested_deeper_than
from credcore.messages import bilingual
from servicekit.problems import problem

MAX_JSON_NESTING = 64  # deeper JSON bodies are refused before any parser sees them (security.md #141)

# The largest integer any parameter may carry (a PostgreSQL integer): larger ones are refused with a
# 422 before they reach the database, where they would overflow (security.md #141).
MAX_INT = 2_147_483_647


class BodyTooLarge(Exception):
    pass


def parsed_body(scope: Scope) -> str:
    """A body FastAPI or a handler parses whole: JSON (or no media type, which FastAPI reads as JSON)
    or a URL-encoded form. Multipart uploads stream past this check, capped by size."""
    if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return ""
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").split(b";")[0].strip().lower()
    if content_type == b"application/x-www-form-urlencoded":
        return "form"
    return "json" if not content_type or content_type.endswith((b"/json", b"+json")) else ""


_NUL = bilingual("code.nul_character")


def hostile_url(scope: Scope) -> Response | None:
    """A NUL character cannot be stored (PostgreSQL text refuses it) nor mean anything here."""
    query = scope.get("query_string", b"").lower()
    if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
        return problem(400, "nul_character", _NUL)
    return None


def hostile_body(body: bytes | None, *, form: bool) -> Response | None:
    """413 past the size cap, 400 for JSON nested deeper than any request needs (a parser recursing
    30,000 levels exhausts the stack) and for NUL characters, escaped or not."""
    if body is None:
        return problem(413, "payload_too_large", bilingual("code.payload_too_large.request"))
    if not form and nested_deeper_than(body, MAX_JSON_NESTING):
        return problem(400, "json_too_deep", bilingual("code.json_too_deep"),
                       max_depth=MAX_JSON_NESTING)
    if b"\x00" in body or (b"%00" if form else b"\\u0000") in body.lower():
        return problem(400, "nul_character", _NUL)
    return None


async def buffered(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """Read the whole body (None past ``limit``) and a receive that hands it on in one message."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body, sent = b"".join(chunks), False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay

"""The operations middleware of every Puente service: request ids, a body-size cap (413 before
parsing), hostile-input refusals, per-client rate limits with Retry-After, an access log line and
metrics per request, and a 500 problem (never a traceback) for an unexpected error."""

from __future__ import annotations

import html
import json
import random
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credcore.messages import bilingual, text
from servicekit.hostile import BodyTooLarge, buffered, hostile_body, hostile_url, parsed_body
from servicekit.logs import LOG, access
from servicekit.metrics import Metrics
from servicekit.problems import problem
from servicekit.ratelimit import RateLimiter

# Request ids correlate a response with its log line; they need to be unique, not secret: a
# generator seeded from the OS once, rather than os.urandom on every request (3% of a trivial one).
_IDS = random.Random()


class OperationsMiddleware:
    """Request id, body cap (413 before parsing), rate limits, access log and metrics."""

    def __init__(self, app: ASGIApp, *, service: str, metrics: Metrics, limiter: RateLimiter,
                 limited: Callable[[str, str], str | None], max_body: int,
                 body_limits: dict[tuple[str, str], int] | None = None, back_link: str = "/") -> None:
        self.app, self.service, self.metrics, self.limiter = app, service, metrics, limiter
        self.limited, self.default_max_body = limited, max_body
        self.body_limits = body_limits or {}
        self.back_link = back_link  # where the 429 page sends a browser back to

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"{_IDS.getrandbits(64):016x}"
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 500}
        path, method = scope["path"], scope["method"]
        declared = dict(scope.get("headers") or []).get(b"content-length")
        max_body = self.body_limits.get((method, path), self.default_max_body)
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            await self._finish(problem(413, "payload_too_large", bilingual("code.payload_too_large.request")),
                               scope, receive, send, request_id, status_holder)
            self._log(method, path, status_holder["status"], started, request_id)
            return
        bucket = self.limited(method, path)
        if bucket is not None:
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = await self.limiter.hit_async(client, bucket)
            if wait is not None:
                accept = dict(scope.get("headers") or []).get(b"accept", b"")
                response = (_too_many_page(wait, self.back_link) if b"text/html" in accept else
                            problem(429, "rate_limited", bilingual("code.rate_limited"),
                                    retry_after=wait))
                response.headers["Retry-After"] = str(wait)
                await self._finish(response, scope, receive, send, request_id, status_holder)
                self._log(method, path, 429, started, request_id)
                return
        refused = hostile_url(scope)
        parsed = parsed_body(scope)
        if refused is None and parsed:
            body, receive = await buffered(receive, max_body)
            refused = hostile_body(body, form=parsed == "form")
        if refused is not None:
            await self._finish(refused, scope, receive, send, request_id, status_holder)
            self._log(method, path, status_holder["status"], started, request_id)
            return
        received = 0
        started_response = False

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started_response
            if message["type"] == "http.response.start":
                started_response = True
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, capped_receive, tracking_send)
        except BodyTooLarge:
            await problem(413, "payload_too_large", bilingual("code.payload_too_large.request"))(
                scope, receive, tracking_send)
        except Exception as exc:  # an unexpected error is a 500 problem, never a traceback to the client
            self._log_error(exc, request_id)
            if not started_response:
                await problem(500, "internal_error", bilingual("code.internal_error"))(scope, receive, tracking_send)
        self._log(method, path, status_holder["status"], started, request_id, scope)

    def _log_error(self, exc: Exception, request_id: str) -> None:
        """The error's type and where it was raised; never its message, which may hold claim values."""
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "unknown"
        LOG.error("unhandled error", extra={"request_id": request_id, "error": type(exc).__name__, "where": where,
                                            "service": self.service})

    async def _finish(self, response: Response, scope: Scope, receive: Receive, send: Send, request_id: str,
                      status_holder: dict[str, int]) -> None:
        response.headers["x-request-id"] = request_id
        status_holder["status"] = response.status_code
        await response(scope, receive, send)

    def _log(self, method: str, path: str, status: int, started: float, request_id: str,
             scope: Scope | None = None) -> None:
        route = scope.get("route") if scope else None
        template = getattr(route, "path", None) or "unmatched"
        elapsed = time.perf_counter() - started
        self.metrics.request(template, method, status, elapsed)
        access(request_id, method, template, status, round(elapsed * 1000, 1), self.service)


def _too_many_page(wait: int, back_link: str) -> Response:
    """A browser (a staff member on the sign-in page) gets a page, not JSON."""
    title = html.escape(text("code.rate_limited", "es"))
    wait_es, wait_en = (html.escape(text("code.rate_limited.wait", lang, wait=wait)) for lang in ("es", "en"))
    body = (f'<!doctype html><html lang="es"><meta charset="utf-8"><title>{title}</title>'
            f'<h1>{title}</h1><p>{wait_es}</p>'
            f'<p lang="en">{html.escape(text("code.rate_limited", "en"))}. {wait_en}</p>'
            f'<p><a href="{html.escape(back_link)}">{html.escape(bilingual("code.rate_limited.back"))}</a></p></html>')
    return HTMLResponse(body, status_code=429, headers={"Content-Security-Policy": "default-src 'none'",
                                                        "Cache-Control": "no-store"})


async def read_json(request: Request) -> Any:
    """The body as JSON, or raise ValueError (the caller answers 422)."""
    raw = await request.body()
    return json.loads(raw)


Handler = Callable[[Request], Awaitable[Response]]

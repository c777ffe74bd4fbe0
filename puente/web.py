"""Operations shared by every Puente service: request ids, structured JSON logs, a body-size cap,
per-client rate limits with Retry-After, and Prometheus metrics.

Log lines never carry bodies, query strings, headers or claim values: only method, route template,
status, duration and request id.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import secrets
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credcore.encoding import nested_deeper_than
from credcore.ports import SharedStore, SharedStoreUnavailable
from servicekit.shared_store import MemoryStore
from servicekit.slow_clients import install_repeat_filter

LOG = logging.getLogger("puente")
MAX_JSON_NESTING = 64  # deeper JSON bodies are refused before any parser sees them (security.md #141)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                                 "logger": record.name, "msg": record.getMessage()}
        for key in ("request_id", "method", "route", "status", "ms", "service", "error", "where"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger("puente")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    # A flood of identical records (a client loop, "too many open files") is counted, not written.
    install_repeat_filter(root, logging.getLogger("asyncio"), logging.getLogger("uvicorn.error"))


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.service = service
        self.requests = Counter("puente_http_requests_total", "HTTP requests", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("puente_http_request_seconds", "HTTP request latency", ["route"],
                                 registry=self.registry)
        self.events = Counter("puente_events_total", "Domain events (issuance, verdicts, batches)", ["event"],
                              registry=self.registry)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type="text/plain; version=0.0.4; charset=utf-8")

    def guarded(self, request: Request, *, env: str, token: str | None) -> Response:
        """The metrics for development, a loopback client, or the bearer of the metrics token;
        otherwise 401: counts of issuance and failed sign-ins are not public (security.md #149)."""
        if env == "development" or _loopback(request) or _bearer_is(request, token):
            return self.render()
        response = problem(401, "metrics_token_required",
                           "Se requiere el token de métricas / A metrics token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response


def _loopback(request: Request) -> bool:
    try:
        return ipaddress.ip_address(request.client.host if request.client else "").is_loopback
    except ValueError:
        return False


def _bearer_is(request: Request, token: str | None) -> bool:
    given = request.headers.get("authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


class RateLimiter:
    """A fixed-window counter per (client address, bucket), in the shared store so every replica
    counts the same requests (``INCR`` with the window's expiry in Redis). The address is the TCP
    peer: headers such as X-Forwarded-For are ignored unless a proxy we run sets them (security.md
    #115). If the shared store cannot be reached, requests are let through (logged): the limits
    protect endpoints whose own single-use checks live in the database, not in Redis."""

    def __init__(self, per_minute: int, budgets: dict[str, int] | None = None,
                 store: SharedStore | None = None) -> None:
        self.per_minute = per_minute
        self.budgets = budgets or {}  # a tighter budget for some buckets
        self.store: SharedStore = store if store is not None else MemoryStore()

    def hit(self, client: str, bucket: str, now: float | None = None) -> int | None:
        """None if allowed, else the seconds to wait."""
        if self.per_minute <= 0:
            return None
        limit = min(self.budgets.get(bucket, self.per_minute) or self.per_minute, self.per_minute)
        now = time.time() if now is None else now
        window = int(now // 60)
        try:
            count = self.store.incr(f"rl:{bucket}:{window}:{client[:64]}", (window + 1) * 60, int(now))
        except SharedStoreUnavailable:
            LOG.warning("rate limit not counted: the shared store is unavailable")
            return None
        if count > limit:
            return max(1, int((window + 1) * 60 - now))
        return None


def problem(status: int, code: str, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"https://puente.example/problems/{code}", "title": title, "status": status,
                            "code": code}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


class OperationsMiddleware:
    """Request id, body cap (413 before parsing), rate limits, access log and metrics."""

    def __init__(self, app: ASGIApp, *, service: str, metrics: Metrics, limiter: RateLimiter,
                 limited: Callable[[str, str], str | None], max_body: int,
                 body_limits: dict[tuple[str, str], int] | None = None) -> None:
        self.app, self.service, self.metrics, self.limiter = app, service, metrics, limiter
        self.limited, self.default_max_body = limited, max_body
        self.body_limits = body_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 500}
        path, method = scope["path"], scope["method"]
        declared = dict(scope.get("headers") or []).get(b"content-length")
        max_body = self.body_limits.get((method, path), self.default_max_body)
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            await self._finish(problem(413, "payload_too_large", "Solicitud demasiado grande / Request too large"),
                               scope, receive, send, request_id, status_holder)
            self._log(method, path, status_holder["status"], started, request_id)
            return
        bucket = self.limited(method, path)
        if bucket is not None:
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = self.limiter.hit(client, bucket)
            if wait is not None:
                accept = dict(scope.get("headers") or []).get(b"accept", b"")
                response = (_too_many_page(wait) if b"text/html" in accept else
                            problem(429, "rate_limited", "Demasiadas solicitudes / Too many requests",
                                    retry_after=wait))
                response.headers["Retry-After"] = str(wait)
                await self._finish(response, scope, receive, send, request_id, status_holder)
                self._log(method, path, 429, started, request_id)
                return
        refused = _hostile_url(scope)
        parsed = _parsed_body(scope)
        if refused is None and parsed:
            body, receive = await _buffered(receive, max_body)
            refused = _hostile_body(body, form=parsed == "form")
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
                    raise _BodyTooLarge()
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
        except _BodyTooLarge:
            await problem(413, "payload_too_large", "Solicitud demasiado grande / Request too large")(
                scope, receive, tracking_send)
        except Exception as exc:  # an unexpected error is a 500 problem, never a traceback to the client
            self._log_error(exc, request_id)
            if not started_response:
                await problem(500, "internal_error", "Error interno / Internal error")(scope, receive, tracking_send)
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
        self.metrics.requests.labels(template, method, str(status)).inc()
        self.metrics.latency.labels(template).observe(elapsed)
        LOG.info("request", extra={"request_id": request_id, "method": method, "route": template, "status": status,
                                   "ms": round(elapsed * 1000, 1), "service": self.service})


def _too_many_page(wait: int) -> Response:
    """A browser (a staff member on the sign-in page) gets a page, not JSON."""
    body = ('<!doctype html><html lang="es"><meta charset="utf-8"><title>Demasiadas solicitudes</title>'
            f'<h1>Demasiadas solicitudes</h1><p>Espere {wait} segundos e intente de nuevo.</p>'
            f'<p lang="en">Too many requests. Wait {wait} seconds and try again.</p>'
            '<p><a href="/console/login">Volver / Back</a></p></html>')
    return HTMLResponse(body, status_code=429, headers={"Content-Security-Policy": "default-src 'none'",
                                                        "Cache-Control": "no-store"})


class _BodyTooLarge(Exception):
    pass


def _parsed_body(scope: Scope) -> str:
    """A body FastAPI or a handler parses whole: JSON (or no media type, which FastAPI reads as JSON)
    or a URL-encoded form. Multipart uploads stream past this check, capped by size."""
    if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return ""
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").split(b";")[0].strip().lower()
    if content_type == b"application/x-www-form-urlencoded":
        return "form"
    return "json" if not content_type or content_type.endswith((b"/json", b"+json")) else ""


_NUL = "Carácter nulo en la solicitud / NUL character in the request"


def _hostile_url(scope: Scope) -> Response | None:
    """A NUL character cannot be stored (PostgreSQL text refuses it) nor mean anything here."""
    query = scope.get("query_string", b"").lower()
    if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
        return problem(400, "nul_character", _NUL)
    return None


def _hostile_body(body: bytes | None, *, form: bool) -> Response | None:
    """413 past the size cap, 400 for JSON nested deeper than any request needs (a parser recursing
    30,000 levels exhausts the stack) and for NUL characters, escaped or not."""
    if body is None:
        return problem(413, "payload_too_large", "Solicitud demasiado grande / Request too large")
    if not form and nested_deeper_than(body, MAX_JSON_NESTING):
        return problem(400, "json_too_deep", "JSON anidado en exceso / JSON nested too deeply",
                       max_depth=MAX_JSON_NESTING)
    if b"\x00" in body or (b"%00" if form else b"\\u0000") in body.lower():
        return problem(400, "nul_character", _NUL)
    return None


async def _buffered(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
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


async def read_json(request: Request) -> Any:
    """The body as JSON, or raise ValueError (the caller answers 422)."""
    raw = await request.body()
    return json.loads(raw)


Handler = Callable[[Request], Awaitable[Response]]

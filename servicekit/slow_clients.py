"""Slow and flooding clients must not exhaust a service (security.md #162).

- :class:`HeaderTimeoutProtocol` (over h11) and :class:`HttpToolsHeaderTimeoutProtocol` (over
  httptools, the ``server`` extra's C parser): uvicorn's protocol with a deadline for every request's
  headers. A connection whose request line and headers are not complete ``HEADER_TIMEOUT`` seconds
  after it opened, or after its previous response, is closed. (Uvicorn alone closes idle
  keep-alive connections, but waits forever for a request that has started and never ends: 20,000
  of them ran the verifier out of file descriptors.)
- :class:`RepeatFilter`: a logging filter that lets the same record (level, message, error, place)
  through a few times a minute and then counts it, so a flood of identical errors cannot fill the
  disk (186 MB in 40 s in the red-team run); the count is logged when the minute ends.
- :func:`server_options`: the uvicorn settings ``puente serve`` uses: that protocol, a short
  keep-alive, and a cap on concurrent connections (503 past it).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:  # the C HTTP parser of the ``server`` extra; without it, uvicorn's pure-Python h11
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    HTTPTOOLS = True
except ImportError:  # pragma: no cover - the server extra is always installed here
    HTTPTOOLS = False

HEADER_TIMEOUT = 10.0
KEEP_ALIVE_SECONDS = 5
MAX_CONNECTIONS = 2000
REPEATS_PER_MINUTE = 5

LOG = logging.getLogger("puente")


class _HeaderDeadline:
    """The deadline itself, for either of uvicorn's HTTP protocols (mixed in before it): armed when a
    connection opens and after each response, disarmed when a request's headers are complete (the
    protocol class says when), and the connection closed if it fires while headers are still awaited."""

    header_timeout = HEADER_TIMEOUT
    _deadline: asyncio.TimerHandle | None = None
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the next request's headers have the same deadline

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.cycle is None or self.cycle.response_complete:  # still waiting for headers
            LOG.warning("connection closed: request headers incomplete after %.0f s", self.header_timeout)
            self.transport.close()


class HeaderTimeoutProtocol(_HeaderDeadline, H11Protocol):
    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not None and self.cycle is not before:  # a request's headers are complete
            self._disarm()


if HTTPTOOLS:

    class HttpToolsHeaderTimeoutProtocol(_HeaderDeadline, HttpToolsProtocol):
        """:class:`HeaderTimeoutProtocol` over uvicorn's httptools protocol (the C parser of the
        ``server`` extra): the same deadline for every request's headers."""

        def on_headers_complete(self) -> None:
            self._disarm()  # a request's headers are complete
            super().on_headers_complete()


class RepeatFilter(logging.Filter):
    """At most ``per_minute`` identical records a minute; then one line saying how many were held."""

    def __init__(self, per_minute: int = REPEATS_PER_MINUTE) -> None:
        super().__init__()
        self.per_minute = per_minute
        self._window = 0
        self._seen: dict[tuple[Any, ...], int] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:  # access logs and progress lines always pass
            return True
        key = (record.name, record.levelno, record.msg, getattr(record, "error", None),
               getattr(record, "where", None), record.exc_info[0] if record.exc_info else None)
        window = int(time.time() // 60)
        with self._lock:
            if window != self._window:
                held = {k: n - self.per_minute for k, n in self._seen.items() if n > self.per_minute}
                self._window, self._seen = window, {}
            else:
                held = {}
            count = self._seen.get(key, 0) + 1
            if len(self._seen) < 10_000 or key in self._seen:
                self._seen[key] = count
        for (name, level, message, *_), number in held.items():
            logging.getLogger(name).log(level, "%d identical records held back in the last minute: %s", number,
                                        str(message)[:200])
        return count <= self.per_minute


def install_repeat_filter(*loggers: logging.Logger) -> RepeatFilter:
    """One shared filter on the given loggers (and on their handlers, which also see records that
    propagate from child loggers)."""
    repeat = RepeatFilter()
    for logger in loggers:
        if not any(isinstance(f, RepeatFilter) for f in logger.filters):
            logger.addFilter(repeat)
        for handler in logger.handlers:
            if not any(isinstance(f, RepeatFilter) for f in handler.filters):
                handler.addFilter(repeat)
    return repeat


def server_options() -> dict[str, Any]:
    """The uvicorn options of every Puente service: the header deadline over httptools when the
    ``server`` extra is installed (uvicorn's default then; a protocol class given by name, as this
    one is, replaces that choice, so h11 would parse every request in pure Python), else over h11."""
    protocol = HttpToolsHeaderTimeoutProtocol if HTTPTOOLS else HeaderTimeoutProtocol
    # proxy_headers off: uvicorn would believe X-Forwarded-For from any loopback peer; the services
    # believe it only from PUENTE_TRUSTED_PROXIES (servicekit.ratelimit.ForwardedClient).
    return {"http": protocol, "timeout_keep_alive": KEEP_ALIVE_SECONDS,
            "limit_concurrency": MAX_CONNECTIONS, "backlog": 1024, "proxy_headers": False}

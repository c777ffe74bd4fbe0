"""Structured JSON logs for every Puente service.

Log lines never carry bodies, query strings, headers or claim values: only method, route template,
status, duration, request id, and for errors the exception's type and where it was raised.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from servicekit.slow_clients import RepeatFilter, install_repeat_filter

LOG = logging.getLogger("puente")


_FIELDS = ("request_id", "method", "route", "status", "ms", "service", "error", "where")
# One encoder: json.dumps(..., ensure_ascii=False) builds a new one on every call.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


_LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warning", "ERROR": "error", "CRITICAL": "critical"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname
        entry: dict[str, Any] = {"ts": round(record.created, 3), "level": _LEVELS.get(level) or level.lower(),
                                 "logger": record.name, "msg": record.getMessage()}
        fields = record.__dict__
        for key in _FIELDS:
            if key in fields:
                entry[key] = fields[key]
        return _ENCODE(entry)


class JsonStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The services' own handler: JSON lines on stderr (configure_logging), and the access line
    written directly (:func:`access`)."""

    def __init__(self) -> None:
        super().__init__()
        # Route templates and methods seen so far, JSON-quoted once (a service has a few dozen of
        # each; methods are the client's choice, so the table stays bounded).
        self._quoted: dict[str, str] = {}

    def quoted(self, value: str) -> str:
        text = self._quoted.get(value)
        if text is None:
            text = _ENCODE(value)
            if len(self._quoted) < 1024:
                self._quoted[value] = text
        return text

    def write_access(self, request_id: str, method: str, route: str, status: int, ms: float, service: str) -> None:
        """The line JsonFormatter writes for the access record, built in one step; one flushed write
        under the handler's lock, so nothing is held back on a crash."""
        ident = f'"{request_id}"' if request_id.isascii() and request_id.isalnum() else _ENCODE(request_id)
        line = (f'{{"ts": {round(time.time(), 3)!r}, "level": "info", "logger": "puente", "msg": "request", '
                f'"request_id": {ident}, "method": {self.quoted(method)}, "route": {self.quoted(route)}, '
                f'"status": {int(status)}, "ms": {float(ms)!r}, "service": {self.quoted(service)}}}\n')
        with self.lock:  # type: ignore[union-attr]
            self.stream.write(line)
            self.stream.flush()


def _direct_handler() -> JsonStreamHandler | None:
    """The handler an access line can be written to directly: when "puente" records go only to
    the services' JSON handler (no other handler, no propagation, no filter that could drop an
    INFO record). Anything else (a test's capturing handler, an operator's logging config) gets
    the record itself."""
    handlers = LOG.handlers
    if len(handlers) != 1 or LOG.propagate:
        return None
    handler = handlers[0]
    if type(handler) is not JsonStreamHandler or handler.level > logging.INFO:
        return None
    if any(not isinstance(f, RepeatFilter) for f in (*LOG.filters, *handler.filters)):
        return None  # RepeatFilter lets every record below WARNING pass
    return handler


def access(request_id: str, method: str, route: str, status: int, ms: float, service: str) -> None:
    """One access line: ``{"ts", "level": "info", "logger": "puente", "msg": "request", "request_id",
    "method", "route", "status", "ms", "service"}``, the line ``LOG.info("request", extra=…)`` writes.

    It is written on every request, so it skips what the logging machinery does for nothing here
    (a LogRecord, filters that pass INFO, a dict encoded key by key): about 9 µs instead of about 40,
    which was 40% of the time a trivial request took (bench/verify_http.py ``hello_vs_bare_hello``)."""
    if not LOG.isEnabledFor(logging.INFO):
        return
    handler = _direct_handler()
    if handler is not None:
        handler.write_access(request_id, method, route, status, ms, service)
        return
    record = LOG.makeRecord(LOG.name, logging.INFO, "(access)", 0, "request", (), None)
    record.__dict__.update(request_id=request_id, method=method, route=route, status=status, ms=ms, service=service)
    LOG.handle(record)


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger("puente")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = JsonStreamHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    # A flood of identical records (a client loop, "too many open files") is counted, not written.
    install_repeat_filter(root, logging.getLogger("asyncio"), logging.getLogger("uvicorn.error"))
    # Every record (one access line per request) would otherwise look up the caller's frame, the
    # thread, process and multiprocessing names, none of which a JSON line carries: the logging
    # HOWTO's "Optimization" switches, which cut the cost of a record by about a third.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no caller lookup (findCaller)

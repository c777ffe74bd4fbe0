"""Structured JSON logs for every Puente service.

Log lines never carry bodies, query strings, headers or claim values: only method, route template,
status, duration, request id, and for errors the exception's type and where it was raised.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from servicekit.slow_clients import install_repeat_filter

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


def access(fields: dict[str, Any]) -> None:
    """One access line ("request" with ``fields``), as ``LOG.info("request", extra=fields)`` writes
    it, minus the steps that do nothing for it (caller lookup, ``extra`` merging checks)."""
    if LOG.isEnabledFor(logging.INFO):
        record = LOG.makeRecord(LOG.name, logging.INFO, "(access)", 0, "request", (), None)
        record.__dict__.update(fields)
        LOG.handle(record)


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
    # Every record (one access line per request) would otherwise look up the caller's frame, the
    # thread, process and multiprocessing names, none of which a JSON line carries: the logging
    # HOWTO's "Optimization" switches, which cut the cost of a record by about a third.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no caller lookup (findCaller)

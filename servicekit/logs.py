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

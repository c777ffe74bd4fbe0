"""The access line: written directly when the services' JSON handler is the only one (the fast path
of every request), and exactly the line the logging machinery writes for the same record."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from servicekit import logs
from servicekit.logs import LOG, JsonFormatter, access, configure_logging


@contextmanager
def service_logging() -> Iterator[io.StringIO]:
    """The "puente" logger as a service configures it (its JSON handler only: pytest's capturing
    handlers are set aside while the block runs), writing to a buffer."""
    saved = (list(LOG.handlers), list(LOG.filters), LOG.level, LOG.propagate)
    for handler in saved[0]:
        LOG.removeHandler(handler)
    configure_logging()
    buffer = io.StringIO()
    LOG.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        for handler in list(LOG.handlers):
            LOG.removeHandler(handler)
        for handler in saved[0]:
            LOG.addHandler(handler)
        LOG.filters[:] = saved[1]
        LOG.setLevel(saved[2])
        LOG.propagate = saved[3]


def _through_logging(**fields: object) -> dict[str, object]:
    """What ``LOG.info("request", extra=fields)`` writes through the JSON formatter."""
    record = LOG.makeRecord(LOG.name, logging.INFO, "(access)", 0, "request", (), None)
    record.__dict__.update(fields)
    line: dict[str, object] = json.loads(JsonFormatter().format(record))
    return line


CASES = [
    dict(request_id="1998245efbc27f93", method="GET", route="/api/v1/hello", status=200, ms=3.2, service="verifier"),
    dict(request_id='a"b\\c\nd', method='G"ET\u00e9', route="unmatched", status=413, ms=0.0, service="issuer"),
    dict(request_id="x" * 40, method="PROPFIND", route="/i/{slug}/status/{number}", status=503, ms=12345.6,
         service="issuer"),
]


@pytest.mark.parametrize("fields", CASES)
def test_the_direct_line_is_the_line_logging_writes(fields: dict[str, object]) -> None:
    with service_logging() as stream:
        assert logs._direct_handler() is LOG.handlers[0]
        access(**fields)  # type: ignore[arg-type]
    (written,) = stream.getvalue().splitlines()
    line = json.loads(written)
    expected = _through_logging(**fields)
    assert abs(float(line.pop("ts")) - float(expected.pop("ts"))) < 5  # type: ignore[arg-type]
    assert line == expected
    assert list(json.loads(written)) == ["ts", "level", "logger", "msg", "request_id", "method", "route", "status",
                                         "ms", "service"]


def test_another_handler_gets_the_record_itself() -> None:
    """A capturing handler (tests, an operator's logging config) sees a LogRecord with the fields."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    with service_logging() as stream:
        LOG.addHandler(Keep())
        assert logs._direct_handler() is None
        access(**CASES[0])  # type: ignore[arg-type]
    assert [(r.getMessage(), r.route, r.status) for r in seen] == [  # type: ignore[attr-defined]
        ("request", "/api/v1/hello", 200)]
    assert json.loads(stream.getvalue())["route"] == "/api/v1/hello"  # the JSON handler still writes it


def test_no_line_below_the_level_and_no_direct_write_past_a_filter() -> None:
    with service_logging() as stream:
        LOG.setLevel(logging.WARNING)
        access(**CASES[0])  # type: ignore[arg-type]
        assert stream.getvalue() == ""
        LOG.setLevel(logging.INFO)
        LOG.addFilter(logging.Filter("someone.else"))  # drops every "puente" record
        assert logs._direct_handler() is None
        access(**CASES[0])  # type: ignore[arg-type]
        assert stream.getvalue() == ""

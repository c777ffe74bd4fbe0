"""Hostile requests generated from an OpenAPI document (security.md #141): every operation gets
huge, negative and malformed values in each path and query parameter, and every operation that
takes a body gets deeply nested JSON, huge integers and wrong types in each member of a valid
body. A service passes when none of them is answered with a 5xx.

Routes outside the document (the console) are held to the same rule by ``integer_bounds``: every
integer parameter of every route has a lower and an upper bound that fit the database.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.routing import APIRoute

from credcore.encoding import b64url_encode

INT64_OVERFLOW = 9223372036854775808
HUGE = 1180591620717411303424
PARAMETER_VALUES = (str(INT64_OVERFLOW), str(HUGE), str(-INT64_OVERFLOW - 1), "1e400", "NaN", "-1", "0",
                    "abc", "x" * 3000, "%00", "\x00", "[]", "{}", "9" * 5000)
DEEP_ARRAYS = b"[" * 30_000 + b"]" * 30_000
DEEP_OBJECTS = b'{"a":' * 8_000 + b"1" + b"}" * 8_000
DEEP_JWT = ".".join((b64url_encode(b'{"alg":"ES256","typ":"dc+sd-jwt"}'), b64url_encode(b"[" * 5_000 + b"]" * 5_000),
                     "AAAA")) + "~"
RAW_BODIES = (DEEP_ARRAYS, DEEP_OBJECTS, b"1" + b"0" * 5_000, b"1e400", b'"text"', b"[]", b"123", b"null", b"{}",
              b"{", b"\xff\xfe", b'{"a":1,"a":2}')


def _member_values() -> list[Any]:
    deep: Any = 1
    for _ in range(40):
        deep = {"a": [deep]}
    return [HUGE, -HUGE, INT64_OVERFLOW, 1e308, "texto", "x" * 20_000, [], {}, None, True, [[[[[HUGE]]]]], deep,
            DEEP_JWT, "nul\x00nul"]


MEMBER_VALUES = _member_values()


@dataclass
class Hostile:
    """Known good values that take a request past the first checks: path parameters by name,
    headers, and a valid body per (method, path template)."""

    path_values: dict[str, str]
    headers: Callable[[str], dict[str, str]]  # by URL
    bodies: dict[tuple[str, str], Any] = field(default_factory=dict)
    forms: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Attempt:
    method: str
    url: str
    what: str
    content: bytes | None = None
    form: dict[str, str] | None = None


def _url(template: str, values: dict[str, str]) -> str:
    url = template
    for name, value in values.items():
        url = url.replace("{" + name + "}", quote(value, safe=""))
    return url


def _mutations(body: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
    """The body with one member (at any of the first two levels) replaced by each hostile value."""
    if not isinstance(body, dict) or depth > 1:
        return
    for name in list(body):
        for value in MEMBER_VALUES:
            changed = copy.deepcopy(body)
            changed[name] = value
            yield f"{name}={str(value)[:20]}", changed
        for what, inner in _mutations(body[name], depth + 1):
            changed = copy.deepcopy(body)
            changed[name] = inner
            yield f"{name}.{what}", changed
    for value in MEMBER_VALUES[:4]:
        yield f"extra={value}", {**body, "extra_member": value}


def attempts(document: dict[str, Any], hostile: Hostile) -> Iterator[Attempt]:
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            method = method.upper()
            parameters = [p for p in operation.get("parameters", []) if p["in"] in ("path", "query")]
            good = {p["name"]: hostile.path_values.get(p["name"], "desconocido") for p in parameters
                    if p["in"] == "path"}
            for parameter in parameters:
                for value in PARAMETER_VALUES:
                    values = {**good, parameter["name"]: value} if parameter["in"] == "path" else good
                    url = _url(template, values)
                    if parameter["in"] == "query":
                        url += f"?{parameter['name']}={quote(value, safe='')}"
                    yield Attempt(method, url, f"{parameter['name']}={value[:20]}")
            if method not in ("POST", "PUT", "PATCH"):
                continue
            url = _url(template, good)
            for raw in RAW_BODIES:
                yield Attempt(method, url, f"raw {raw[:12]!r}", content=raw)
            base = hostile.bodies.get((method, template))
            if base is not None:
                yield Attempt(method, url, "valid body", content=json.dumps(base).encode())
                for what, body in _mutations(base):
                    yield Attempt(method, url, what, content=json.dumps(body).encode())
            form = hostile.forms.get((method, template))
            if form is not None:
                for name in form:
                    for value in (*PARAMETER_VALUES, DEEP_JWT, DEEP_ARRAYS.decode()[:20_000]):
                        yield Attempt(method, url, f"form {name}={value[:20]}", form={**form, name: value})


def drive(client: Any, document: dict[str, Any], hostile: Hostile) -> tuple[int, list[str]]:
    """Send every attempt; the number sent and the ones answered with a 5xx."""
    failures, sent = [], 0
    for attempt in attempts(document, hostile):
        headers = {**hostile.headers(attempt.url), "Idempotency-Key": secrets.token_urlsafe(18)}
        if attempt.content is not None:
            headers["Content-Type"] = "application/json"
            response = client.request(attempt.method, attempt.url, content=attempt.content, headers=headers)
        elif attempt.form is not None:
            response = client.request(attempt.method, attempt.url, data=attempt.form, headers=headers)
        else:
            response = client.request(attempt.method, attempt.url, headers=headers)
        sent += 1
        if response.status_code >= 500:
            failures.append(f"{attempt.method} {attempt.url[:80]} [{attempt.what}] -> {response.status_code}")
    return sent, failures


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI keeps included routers as branches
        if inner is not None:
            yield from _routes(inner.routes)
        elif isinstance(route, APIRoute):
            yield route


def integer_bounds(app: FastAPI, upper: int) -> list[str]:
    """Integer parameters of any route (documented or not) without both bounds, or bounded above
    ``upper``."""
    problems = []
    for route in _routes(app.routes):
        stack, fields = [route.dependant], []
        while stack:
            dependant = stack.pop()
            fields += dependant.path_params + dependant.query_params + dependant.header_params
            stack += dependant.dependencies
        for param in fields:
            if param.field_info.annotation is not int:
                continue
            low = [m.ge for m in param.field_info.metadata if hasattr(m, "ge")]
            high = [m.le for m in param.field_info.metadata if hasattr(m, "le")]
            if not low or not high or high[0] > upper:
                problems.append(f"{route.path} {param.name}")
    return problems


def schema_integers(document: dict[str, Any], upper: int) -> list[str]:
    """Integer members of the document's body schemas without both bounds."""
    problems = []

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer" and ("maximum" not in node or "minimum" not in node
                                                  or node["maximum"] > upper):
                problems.append(where)
            for key, child in node.items():
                visit(child, f"{where}.{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                visit(child, f"{where}[{index}]")

    visit(document.get("components", {}).get("schemas", {}), "schemas")
    return [p for p in problems if not p.startswith(("schemas.ValidationError", "schemas.HTTPValidationError"))]

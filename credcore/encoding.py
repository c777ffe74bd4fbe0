"""Strict base64url (RFC 4648 §5, no padding) and strict JSON (RFC 8259 / RFC 7519 §4).

JOSE libraries are lenient where attackers like it: padding, whitespace, duplicate member names,
``NaN``, lone surrogates. These helpers are not, and raise :class:`MalformedError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from credcore.errors import MalformedError, PayloadTooLargeError

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
MAX_JSON_DEPTH = 32


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, refusing anything that does not re-encode to the same text."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise MalformedError("invalid base64url", code="malformed")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedError("invalid base64url") from exc
    if b64url_encode(data) != text:
        # Non-zero trailing bits: a second spelling of the same bytes.
        raise MalformedError("non-canonical base64url")
    return data


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedError(f"duplicate member name {key[:40]!r}", code="duplicate_member")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise MalformedError(f"non-standard JSON constant {name}")


def _check_tree(value: Any) -> None:
    """Iteratively check nesting depth and that every string is valid Unicode text."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise PayloadTooLargeError("JSON nested too deeply")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedError("lone surrogate in JSON string") from exc


def loads_strict(data: bytes | str) -> Any:
    """Parse UTF-8 JSON with no duplicate names, no NaN/Infinity and bounded depth."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise MalformedError("JSON is not UTF-8") from exc
    try:
        value = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except MalformedError:
        raise
    except RecursionError as exc:
        raise PayloadTooLargeError("JSON nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, huge integers
        raise MalformedError("invalid JSON") from exc
    _check_tree(value)
    return value


def dumps_compact(value: Any) -> str:
    """The one JSON spelling Puente signs: compact separators, UTF-8 kept as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

"""Strict base64url (RFC 4648 §5, no padding) and strict JSON (RFC 8259 / RFC 7519 §4).

JOSE libraries are lenient where attackers like it: padding, whitespace, duplicate member names,
``NaN``, lone surrogates. These helpers are not, and raise :class:`MalformedError`.
"""

from __future__ import annotations

import binascii
import json
import math
import re
from typing import Any

from credcore.errors import MalformedError, PayloadTooLargeError

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\\\]|\\\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Last characters allowed when the text ends with 2 or 3 characters of a group: the unused low
# bits must be zero, otherwise two texts would spell the same bytes.
_CANONICAL_LAST = {2: frozenset(_ALPHABET[::16]), 3: frozenset(_ALPHABET[::4])}


def b64url_encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, refusing padding, other alphabets and non-canonical spellings."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text):
        raise MalformedError("invalid base64url", code="malformed")
    rest = len(text) % 4
    if rest == 1 or (rest and text[-1] not in _CANONICAL_LAST[rest]):
        raise MalformedError("invalid or non-canonical base64url")
    try:
        return binascii.a2b_base64(text.encode("ascii").translate(_TO_STANDARD) + b"=" * (-len(text) % 4),
                                   strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedError("invalid base64url") from exc


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedError(f"duplicate member name {key[:40]!r}", code="duplicate_member")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise MalformedError(f"non-standard JSON constant {name}")


def _check_tree(value: Any, strings: bool) -> None:
    """Iteratively check nesting depth and (when ``strings``) that every string is valid Unicode."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise PayloadTooLargeError("JSON nested too deeply")
        if isinstance(item, dict):
            for key, child in item.items():
                if strings:
                    _check_text(key)
                if isinstance(child, dict | list) or strings:
                    stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if strings or isinstance(child, dict | list))
        elif isinstance(item, str) and strings:
            _check_text(item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedError("lone surrogate in JSON string") from exc


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 overflows: Infinity by another spelling
        raise MalformedError("JSON number out of range")
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant, parse_float=_finite_float
)


def loads_strict(data: bytes | str) -> Any:
    """Parse UTF-8 JSON with no duplicate names, no NaN/Infinity and bounded depth."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise MalformedError("JSON is not UTF-8") from exc
    try:
        value = _DECODER.decode(text)
    except MalformedError:
        raise
    except RecursionError as exc:
        raise PayloadTooLargeError("JSON nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, huge integers
        raise MalformedError("invalid JSON") from exc
    # Strict UTF-8 decoding already excludes surrogates; only a \\uD800-\\uDFFF escape can make one.
    strings = _SURROGATE_ESCAPE.search(text) is not None
    if strings or text.count("{") + text.count("[") > MAX_JSON_DEPTH:
        _check_tree(value, strings=strings)
    return value


def nested_deeper_than(data: bytes, limit: int) -> bool:
    """Whether JSON text opens more than ``limit`` arrays or objects inside each other, found
    without parsing it (a parser would recurse once per level: 30,000 ``[`` exhaust Python's
    stack). Brackets inside strings do not count; text that is not JSON may over-count, which only
    refuses what a parser would refuse anyway."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", data)):
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False


def dumps_compact(value: Any) -> str:
    """The one JSON spelling Puente signs: compact separators, UTF-8 kept as is."""
    return _COMPACT_ENCODE(value)


# Built once: json.dumps with any non-default option builds a new encoder on every call.
_COMPACT_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

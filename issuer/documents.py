"""Identifiers as officers write them: a Venezuelan cédula typed "V-12.345.678", "v 12345678" or
"12.345.678" is one number, stored "V12345678". The same normalisation applies at issuance (API, console form, CSV
rows) and in search; the console's forms state each format in words and give browsers a pattern
that is valid under the ``v`` flag they compile it with."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from credcore.messages import text

NORMALISED_CLAIMS = ("document_number",)
_PREFIX = re.compile(r"^([VE])-?(?=[0-9])")
_CLASS = re.compile(r"\[([^\]]*)\]")

# The format of each identifier pattern of the credential types, in words: its catalog entry.
FORMATS = {
    "^[0-9]{6,12}$": "console.format_hint.digits",
    "^[A-Z0-9-]{4,20}$": "console.format_hint.document",
    "^[A-Z]{2}$": "console.format_hint.country",
    "^[A-Z0-9/-]{1,32}$": "console.format_hint.reference",
}


def normalize_document(value: str) -> str:
    """Without spaces and dots, in capitals, a V/E prefix joined to the number: "v-12.345.678" → "V12345678"."""
    compact = re.sub(r"[\s.]+", "", value).upper()
    return _PREFIX.sub(lambda m: m.group(1), compact)


def normalize_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The claims with each identifier normalised (other values untouched)."""
    return {name: normalize_document(value) if name in NORMALISED_CLAIMS and isinstance(value, str) else value
            for name, value in claims.items()}


def search_forms(value: str) -> list[str]:
    """Every way the same document may have been stored: "12345678" also finds "V12345678" and
    "E12345678" (and "V-12345678", stored before normalisation); "V-12.345.678" also finds the bare
    number, never "E12345678"."""
    number = normalize_document(value)
    prefix = _PREFIX.match(number)
    bare = _PREFIX.sub("", number)
    if not bare.isdigit():
        return [number]
    letters = prefix.group(1) if prefix else "VE"
    return list(dict.fromkeys([number, bare, *(f"{letter}{dash}{bare}" for letter in letters for dash in ("-", ""))]))


def html_pattern(pattern: str) -> str | None:
    """A JSON Schema pattern as an HTML ``pattern`` attribute: anchors dropped (the browser anchors),
    and "-" or "/" inside a character class escaped, which the ``v`` flag requires."""
    body = pattern.removeprefix("^").removesuffix("$")
    if not body:
        return None

    def escape(match: re.Match[str]) -> str:
        inside = match.group(1).replace("/", "\\/")
        if inside.endswith("-") and not inside.endswith("\\-"):
            inside = inside[:-1] + "\\-"
        return f"[{inside}]"

    return _CLASS.sub(escape, body)


def format_hint(schema: Mapping[str, Any], lang: str) -> str | None:
    """The format of a claim in words, when its pattern is one of the identifier formats."""
    key = FORMATS.get(schema.get("pattern", ""))
    return None if key is None else text(key, lang)

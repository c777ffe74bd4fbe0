"""Identifiers as officers write them: a Venezuelan cédula typed "V-12.345.678", "v 12345678" or
"12.345.678" is one number, stored "V12345678". The same normalisation applies at issuance (API, console form, CSV
rows) and in search; the console's forms state each format in words and give browsers a pattern
that is valid under the ``v`` flag they compile it with."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

NORMALISED_CLAIMS = ("document_number",)
_PREFIX = re.compile(r"^([VE])-?(?=[0-9])")
_CLASS = re.compile(r"\[([^\]]*)\]")

# The format of each identifier pattern of the credential types, in words (es, en).
FORMATS: dict[str, tuple[str, str]] = {
    "^[0-9]{6,12}$": ("Solo números, de 6 a 12 cifras; los puntos y espacios se quitan solos.",
                      "Digits only, 6 to 12 of them; dots and spaces are removed for you."),
    "^[A-Z0-9-]{4,20}$": ("Letras, números y guiones, de 4 a 20; por ejemplo V12345678, E1234567 o el número "
                          "del PPT. Puede escribirlo como aparece (V-12.345.678): se guarda como V12345678.",
                          "Letters, digits and hyphens, 4 to 20; for example V12345678, E1234567 or the PPT "
                          "number. Type it as it appears (V-12.345.678): it is stored as V12345678."),
    "^[A-Z]{2}$": ("Dos letras del país (ISO 3166), por ejemplo VE o CO.",
                   "Two letters of the country (ISO 3166), for example VE or CO."),
    "^[A-Z0-9/-]{1,32}$": ("Letras, números, / y guiones, hasta 32; por ejemplo 2024-01234.",
                           "Letters, digits, / and hyphens, up to 32; for example 2024-01234."),
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
    words = FORMATS.get(schema.get("pattern", ""))
    return None if words is None else words[1 if lang == "en" else 0]

"""User-facing messages, Spanish first and English second: the one catalog of Puente's words.

The catalog is flat JSON per language, ``web_common/i18n/es.json`` and ``en.json``, plus parts that
only some readers need: ``cli/`` (the ``puente`` command's help texts, output and errors, keys
``cli.<key>``, read by Python only), ``console/`` (the console's words, which no browser page needs), ``wallet/``
(the wallet's, keys ``wallet.<key>``) and ``camera/`` (``camera.<key>``, shown by the wallet and the
scanning page alike): key → text with ``{name}`` placeholders. Python (the verifier's report, the API
problem bodies, the console, the CLI) reads every file through :func:`text`; the scanning page and the
wallet fetch theirs under ``/common/i18n/``. Keys are namespaced: ``code.<code>`` (an error code's message, see
:mod:`credcore.codes`; ``code.<code>.<variant>`` for a more specific wording of the same code),
``verdict.<verdict>``, ``check.<check>``, ``field.<kind>``, ``scan.<key>`` (the scanning page),
``console.<key>`` (the staff console and the printed credential), ``cli.<key>`` (the CLI),
``api.<key>`` and ``operator.<key>`` (OpenAPI descriptions, operator messages).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import NamedTuple

from credcore.resources import package_dir

LANGUAGES = ("es", "en")
CATALOG_DIR = package_dir("web_common") / "i18n"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Ref(NamedTuple):
    """A value that is itself a catalog entry, put in the same language as the text around it."""

    key: str


def catalog_files(lang: str) -> list[Path]:
    """The files of ``lang``'s catalog: ``<lang>.json`` (the scanning page's) and one
    ``<part>/<lang>.json`` per part (``camera/``, ``cli/``, ``console/``, ``wallet/``), each downloaded
    only by the pages that show it: a phone never downloads the staff console's words, and no page the
    CLI's."""
    return [CATALOG_DIR / f"{lang}.json", *sorted(CATALOG_DIR.glob(f"*/{lang}.json"))]


def entries(lang: str) -> dict[str, str]:
    """Every key of the catalog in ``lang`` (Spanish for anything else)."""
    return _catalog(lang if lang in LANGUAGES else "es")


@cache
def _catalog(lang: str) -> dict[str, str]:
    """Read once per language (the files ship with the package)."""
    merged: dict[str, str] = {}
    for path in catalog_files(lang):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def text(key: str, lang: str = "es", **values: object) -> str:
    """The catalog's text for ``key`` in ``lang``, ``{name}`` placeholders filled from ``values``.

    A missing key is a programming error (tests/test_messages.py holds every used key present)."""
    template = entries(lang)[key]
    if not values:
        return template

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        return text(value.key, lang) if isinstance(value, Ref) else str(value)

    return _PLACEHOLDER.sub(fill, template)


def bilingual(key: str, **values: object) -> str:
    """``"Spanish / English"``: for answers given before any language is known (the web kit's problems,
    the issuer's field errors) and for the printed credential, which shows both."""
    return f"{text(key, 'es', **values)} / {text(key, 'en', **values)}"


def pair(key: str) -> tuple[str, str]:
    """``(Spanish, English)`` for ``key``."""
    return entries("es")[key], entries("en")[key]


def _section(prefix: str) -> dict[str, tuple[str, str]]:
    return {key[len(prefix):]: pair(key) for key in entries("es") if key.startswith(prefix) and
            "." not in key[len(prefix):]}


def catalog() -> dict[str, tuple[str, str]]:
    """Every code with its (Spanish, English) message: what the scanning page shows offline."""
    return _section("code.")


CHECK_NAMES: dict[str, tuple[str, str]] = _section("check.")


def message(code: str, lang: str = "es") -> str:
    """The message of error code ``code`` (``malformed``'s for a code the catalog does not know)."""
    key = f"code.{code}"
    return text(key if key in entries(lang) else "code.malformed", lang)


def negotiate(accept_language: str | None) -> str:
    """Pick ``es`` or ``en`` from an Accept-Language header; Spanish by default."""
    if not accept_language:
        return "es"
    best, best_q = "es", -1.0
    for part in accept_language.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower()[:2]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


def field_message(kind: str, lang: str = "es") -> str:
    key = f"field.{kind}"
    return text(key if key in entries(lang) else "field.other", lang)

"""One SD-JWT disclosure (RFC 9901 §4.2.1–§4.2.3) and its digest.

A disclosure is the base64url text of a JSON array ``[salt, name, value]`` (object property) or
``[salt, value]`` (array element). Its digest is taken over that exact ASCII text: a received
disclosure is never re-serialized.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from credcore.encoding import b64url_decode, b64url_encode, dumps_compact, loads_strict
from credcore.errors import CredentialError, DisclosureError, SignatureError

# IANA "Named Information Hash Algorithm" names we accept for _sd_alg (no truncated variants).
HASH_ALGORITHMS: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-384": hashlib.sha384,
    "sha-512": hashlib.sha512,
}
DEFAULT_SD_ALG = "sha-256"
SALT_BYTES = 16  # 128 bits of CSPRNG output per claim (RFC 9901 §9.3)
MAX_DISCLOSURE_LENGTH = 16 * 1024


def hash_b64(text: str, sd_alg: str = DEFAULT_SD_ALG) -> str:
    """base64url(H(ASCII text)): the digest rule of RFC 9901 §4.2.3, also used for sd_hash."""
    try:
        hash_fn = HASH_ALGORITHMS[sd_alg]
    except (KeyError, TypeError) as exc:
        raise SignatureError(f"_sd_alg {str(sd_alg)[:20]!r} is not allowed", code="sd_alg_not_allowed") from exc
    return b64url_encode(hash_fn(text.encode("ascii")).digest())


@dataclass(frozen=True)
class Disclosure:
    text: str
    salt: str
    name: str | None  # None for an array element
    value: Any

    def digest(self, sd_alg: str = DEFAULT_SD_ALG) -> str:
        return hash_b64(self.text, sd_alg)


def create_disclosure(salt: str, name: str | None, value: Any) -> Disclosure:
    if name in ("_sd", "..."):
        raise DisclosureError(f"claim name {name!r} is reserved", code="disclosure_reserved_name")
    array = [salt, value] if name is None else [salt, name, value]
    return Disclosure(b64url_encode(dumps_compact(array).encode("utf-8")), salt, name, value)


def parse_disclosure(text: str) -> Disclosure:
    """Decode a received disclosure; shape errors are ``disclosure_invalid``."""
    if len(text) > MAX_DISCLOSURE_LENGTH:
        raise DisclosureError("disclosure too long", code="payload_too_large")
    try:
        array = loads_strict(b64url_decode(text))
    except CredentialError as exc:
        code = "payload_too_large" if exc.code == "payload_too_large" else None  # keep the size limit's code
        raise DisclosureError(f"disclosure is not base64url JSON: {exc.description}", code=code) from exc
    if not isinstance(array, list) or len(array) not in (2, 3):
        raise DisclosureError("disclosure must be a JSON array of 2 or 3 elements")
    if not isinstance(array[0], str):
        raise DisclosureError("disclosure salt must be a string")
    if len(array) == 2:
        return Disclosure(text, array[0], None, array[1])
    if not isinstance(array[1], str):
        raise DisclosureError("disclosure claim name must be a string")
    if array[1] in ("_sd", "..."):
        raise DisclosureError(f"claim name {array[1]!r} is reserved", code="disclosure_reserved_name")
    return Disclosure(text, array[0], array[1], array[2])

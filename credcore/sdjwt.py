"""SD-JWT (RFC 9901): issuance with concealed claims and decoys, the compact form, selection of
disclosures for a presentation, and the verifier's processing rules (§7.1).

Claim paths are tuples of object keys (str) and array indexes (int); in an issuance spec ``None``
stands for "every element of this array".
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from credcore.disclosure import (
    DEFAULT_SD_ALG,
    SALT_BYTES,
    Disclosure,
    create_disclosure,
    hash_b64,
    parse_disclosure,
)
from credcore.encoding import b64url_encode
from credcore.errors import DisclosureError, MalformedError, PayloadTooLargeError

Path = tuple[str | int, ...]
PathPattern = tuple[str | int | None, ...]
RandomBytes = Callable[[int], bytes]

MAX_DISCLOSURES = 128
MAX_PRESENTATION_LENGTH = 48 * 1024
MAX_DEPTH = 32
_COMPACT = re.compile(r"[A-Za-z0-9_.~-]+")


@dataclass(frozen=True)
class SdJwt:
    """The compact form split into its parts: ``ISSUER_JWT~D1~…~DN~[KB_JWT]``."""

    issuer_jwt: str
    disclosures: tuple[str, ...] = ()
    kb_jwt: str | None = None

    def without_kb(self) -> str:
        """The part a KB-JWT's ``sd_hash`` covers, ending in ``~``."""
        return "".join([self.issuer_jwt, "~", *(d + "~" for d in self.disclosures)])

    def serialize(self) -> str:
        return self.without_kb() + (self.kb_jwt or "")


def parse_compact(text: str) -> SdJwt:
    """Split a compact SD-JWT or SD-JWT+KB; bounds the size and count before any hashing."""
    if not isinstance(text, str) or not text:
        raise MalformedError("empty presentation")
    if len(text) > MAX_PRESENTATION_LENGTH:
        raise PayloadTooLargeError("presentation too long")
    if not _COMPACT.fullmatch(text):
        raise MalformedError("presentation has characters outside the compact SD-JWT alphabet")
    parts = text.split("~")
    if len(parts) < 2:
        raise MalformedError("an SD-JWT ends with '~' or a key-binding JWT")
    issuer_jwt, *middle, last = parts
    if len(middle) > MAX_DISCLOSURES:
        raise PayloadTooLargeError("too many disclosures")
    if any(not d for d in middle):
        raise MalformedError("empty disclosure ('~~')")
    if any("." in d for d in middle):  # disclosures are base64url: two tokens were run together
        raise MalformedError("a JWT where a disclosure belongs")
    if issuer_jwt.count(".") != 2 or (last and last.count(".") != 2):
        raise MalformedError("issuer JWT or key-binding JWT is not a compact JWS")
    return SdJwt(issuer_jwt, tuple(middle), last or None)


# ----------------------------------------------------------------------------- issuance


def new_salt(random_bytes: RandomBytes = os.urandom) -> str:
    return b64url_encode(random_bytes(SALT_BYTES))


def _matches(pattern: PathPattern, path: Path) -> bool:
    return len(pattern) == len(path) and all(
        p == c or (p is None and isinstance(c, int)) for p, c in zip(pattern, path, strict=True)
    )


@dataclass
class _Concealer:
    patterns: tuple[PathPattern, ...]
    random_bytes: RandomBytes
    decoys: int
    sd_alg: str
    disclosures: list[Disclosure] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Exact paths are looked up in a set; only patterns with an "any index" (None) are matched.
        self._exact = frozenset(p for p in self.patterns if None not in p)
        self._wildcards = tuple(p for p in self.patterns if None in p)

    def is_concealed(self, path: Path) -> bool:
        return path in self._exact or any(_matches(p, path) for p in self._wildcards)

    def disclose(self, name: str | None, value: Any) -> str:
        disclosure = create_disclosure(new_salt(self.random_bytes), name, value)
        self.disclosures.append(disclosure)
        return disclosure.digest(self.sd_alg)

    def decoy(self) -> str:
        return hash_b64(b64url_encode(self.random_bytes(SALT_BYTES)), self.sd_alg)

    def conceal(self, node: Any, path: Path) -> Any:
        if isinstance(node, dict):
            return self._object(node, path)
        if isinstance(node, list):
            return self._array(node, path)
        return node

    def _object(self, node: dict[str, Any], path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        digests: list[str] = []
        for name, value in node.items():
            if name in ("_sd", "...", "_sd_alg"):
                raise DisclosureError(f"claim name {name!r} is reserved", code="disclosure_reserved_name")
            child = self.conceal(value, (*path, name))
            if self.is_concealed((*path, name)):
                digests.append(self.disclose(name, child))
            else:
                out[name] = child
        if digests:
            digests.extend(self.decoy() for _ in range(self.decoys))
            out["_sd"] = sorted(digests)  # sorted: the order must not leak the claim order
        return out

    def _array(self, node: list[Any], path: Path) -> list[Any]:
        out: list[Any] = []
        for index, value in enumerate(node):
            child = self.conceal(value, (*path, index))
            if self.is_concealed((*path, index)):
                out.append({"...": self.disclose(None, child)})
            else:
                out.append(child)
        return out


def conceal_claims(
    claims: dict[str, Any],
    disclosable: Iterable[PathPattern],
    *,
    random_bytes: RandomBytes = os.urandom,
    decoys: int = 0,
    sd_alg: str = DEFAULT_SD_ALG,
) -> tuple[dict[str, Any], list[Disclosure]]:
    """Replace the claims at ``disclosable`` paths by digests; return the payload and disclosures.

    Nested concealed claims become recursive disclosures. Each ``_sd`` array gets ``decoys``
    extra digests of random data. Every disclosure has a fresh 128-bit salt.
    """
    concealer = _Concealer(tuple(tuple(p) for p in disclosable), random_bytes, decoys, sd_alg)
    payload = concealer.conceal(claims, ())
    return payload, concealer.disclosures


# ----------------------------------------------------------------------------- processing


@dataclass
class Processed:
    """The result of RFC 9901 §7.1 step 3–5: the claims and where each disclosure landed."""

    claims: dict[str, Any]
    paths: dict[str, Path]  # disclosure text -> claim path
    undisclosed_digests: int = 0


@dataclass
class _Processor:
    by_digest: dict[str, Disclosure]
    sd_alg: str
    seen: set[str] = field(default_factory=set)
    paths: dict[str, Path] = field(default_factory=dict)
    unmatched: int = 0

    def note(self, digest: str) -> Disclosure | None:
        if digest in self.seen:
            raise DisclosureError("a digest appears more than once", code="digest_duplicate")
        self.seen.add(digest)
        found = self.by_digest.get(digest)
        if found is None:
            self.unmatched += 1  # undisclosed claim or decoy: ignored
        return found

    def walk(self, node: Any, path: Path) -> Any:
        if len(path) > MAX_DEPTH:
            raise PayloadTooLargeError("claims nested too deeply")
        if isinstance(node, dict):
            return self._object(node, path)
        if isinstance(node, list):
            return self._array(node, path)
        return node

    def _object(self, node: dict[str, Any], path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in node.items():
            if name == "_sd":
                continue
            if name == "..." or (name == "_sd_alg" and path):
                raise MalformedError(f"{name!r} used outside its place", code="sd_structure_invalid")
            # Only objects and arrays can hold digests: a plain value is taken as it is (walked only
            # where its depth is refused).
            deep = isinstance(value, dict | list) or len(path) >= MAX_DEPTH
            out[name] = self.walk(value, (*path, name)) if deep else value
        digests = node.get("_sd", [])
        if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
            raise MalformedError("_sd must be an array of strings", code="sd_structure_invalid")
        for digest in digests:
            disclosure = self.note(digest)
            if disclosure is None:
                continue
            if disclosure.name is None:
                raise DisclosureError("array-element disclosure referenced from _sd", code="disclosure_arity")
            if disclosure.name in out:
                raise DisclosureError(
                    "disclosed claim name already exists at that level", code="disclosure_collision"
                )
            self.paths[disclosure.text] = (*path, disclosure.name)
            out[disclosure.name] = self.walk(disclosure.value, (*path, disclosure.name))
        return out

    def _array(self, node: list[Any], path: Path) -> list[Any]:
        out: list[Any] = []
        for index, element in enumerate(node):
            if isinstance(element, dict) and "..." in element:
                if len(element) != 1 or not isinstance(element["..."], str):
                    raise DisclosureError("array digest placeholder must be {'...': digest} only")
                disclosure = self.note(element["..."])
                if disclosure is None:
                    continue
                if disclosure.name is not None:
                    raise DisclosureError(
                        "object-property disclosure referenced from an array", code="disclosure_arity"
                    )
                self.paths[disclosure.text] = (*path, index)
                out.append(self.walk(disclosure.value, (*path, index)))
            elif isinstance(element, dict | list) or len(path) >= MAX_DEPTH:
                out.append(self.walk(element, (*path, index)))
            else:
                out.append(element)
        return out


def sd_alg_of(payload: dict[str, Any]) -> str:
    sd_alg = payload.get("_sd_alg", DEFAULT_SD_ALG)
    hash_b64("", sd_alg)  # raises sd_alg_not_allowed for md5, sha-256-32, non-strings …
    return str(sd_alg)


def process_disclosures(payload: dict[str, Any], disclosures: Collection[str]) -> Processed:
    """Apply RFC 9901 §7.1 steps 3–5 to a verified issuer payload; abort on the first violation."""
    sd_alg = sd_alg_of(payload)
    by_digest: dict[str, Disclosure] = {}
    for text in disclosures:
        disclosure = parse_disclosure(text)
        digest = disclosure.digest(sd_alg)
        if digest in by_digest:
            raise DisclosureError("the same disclosure is presented twice", code="disclosure_duplicate")
        by_digest[digest] = disclosure
    processor = _Processor(by_digest, sd_alg)
    claims = processor.walk({k: v for k, v in payload.items() if k != "_sd_alg"}, ())
    if len(processor.paths) != len(by_digest):
        raise DisclosureError("a disclosure is not referenced by any digest", code="disclosure_unreferenced")
    return Processed(claims, processor.paths, processor.unmatched)


# ----------------------------------------------------------------------------- selection


def _related(selected: Path, candidate: Path) -> bool:
    """True when ``candidate`` is ``selected``, an ancestor of it (a parent), or a descendant."""
    shortest = min(len(selected), len(candidate))
    return selected[:shortest] == candidate[:shortest]


def select_disclosures(
    payload: dict[str, Any], disclosures: Collection[str], paths: Iterable[Path]
) -> tuple[str, ...]:
    """The disclosures that reveal ``paths``: their parents are included automatically, and a
    selected object or array brings all of its concealed members."""
    processed = process_disclosures(payload, disclosures)
    wanted = [tuple(p) for p in paths]
    return tuple(
        text
        for text in disclosures
        if any(_related(w, processed.paths[text]) for w in wanted)
    )

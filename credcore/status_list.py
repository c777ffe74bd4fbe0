"""IETF Token Status List (draft-ietf-oauth-status-list-20): bit packing, zlib, ``statuslist+jwt``.

Entry ``i`` occupies bits ``[i*bits, (i+1)*bits)`` packed LSB-first inside each byte (§4.1). The
byte array is compressed with zlib (RFC 1950) at level 9 and carried base64url in ``lst``.
Inflation is capped, so a tiny ``lst`` cannot become gigabytes (security.md #73).
"""

from __future__ import annotations

import re
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from credcore import jws
from credcore.encoding import b64url_decode, b64url_encode
from credcore.errors import CredentialError, MalformedError, PayloadTooLargeError, StatusUnavailableError
from credcore.keys import PublicKey, SigningKey

STATUS_LIST_TYP = "statuslist+jwt"
VALID, INVALID, SUSPENDED = 0, 1, 2
ALLOWED_BITS = (1, 2, 4, 8)
DEFAULT_SIZE = 131_072  # entries per list (PRODUCT.md): herd privacy at a few kilobytes
MAX_INFLATED = 4 * 1024 * 1024  # bytes; 2^22 entries at 8 bits
MAX_AGE_WITHOUT_EXP = 86_400  # seconds a status list token without ``exp`` is believed


class StatusList:
    """A mutable array of ``size`` entries of ``bits`` bits each, all VALID at first."""

    def __init__(self, size: int = DEFAULT_SIZE, bits: int = 2, data: bytes | None = None) -> None:
        if not _is_bits(bits):
            raise MalformedError(f"bits must be one of {ALLOWED_BITS}", code="status_invalid")
        if size <= 0 or (size * bits) % 8:
            raise MalformedError("list size in bits must be a positive multiple of 8", code="status_invalid")
        nbytes = size * bits // 8
        if data is not None and len(data) != nbytes:
            raise MalformedError("status list data has the wrong length", code="status_invalid")
        self.size = size
        self.bits = bits
        self.data = bytearray(data) if data is not None else bytearray(nbytes)

    def _locate(self, index: int) -> tuple[int, int]:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise MalformedError("status index out of range", code="status_invalid")
        bit = index * self.bits
        return bit // 8, bit % 8

    def get(self, index: int) -> int:
        byte, shift = self._locate(index)
        return (self.data[byte] >> shift) & ((1 << self.bits) - 1)

    def set(self, index: int, value: int) -> None:
        mask = (1 << self.bits) - 1
        if not 0 <= value <= mask:
            raise MalformedError("status value does not fit in the list's bits", code="status_invalid")
        byte, shift = self._locate(index)
        self.data[byte] = (self.data[byte] & ~(mask << shift) & 0xFF) | (value << shift)

    def encode(self) -> str:
        """``lst``: base64url of the zlib-compressed (level 9) byte array."""
        return b64url_encode(zlib.compress(bytes(self.data), 9))

    @classmethod
    def decode(cls, lst: str, bits: int, max_inflated: int = MAX_INFLATED) -> StatusList:
        data = inflate(b64url_decode(lst), max_inflated, code="status_invalid")
        if not data:
            raise MalformedError("empty status list", code="status_invalid")
        return cls(len(data) * 8 // bits, bits, data) if _is_bits(bits) else cls(8, bits)


def _is_bits(bits: Any) -> bool:
    """1, 2, 4 or 8 as an integer: JSON ``true`` and ``2.0`` compare equal to 1 and 2 but are not."""
    return isinstance(bits, int) and not isinstance(bits, bool) and bits in ALLOWED_BITS


def inflate(data: bytes, cap: int, *, code: str = "malformed", wbits: int = zlib.MAX_WBITS,
            zdict: bytes | None = None) -> bytes:
    """zlib-decompress with an output cap; truncated or trailing data is malformed."""
    inflater = zlib.decompressobj(wbits, zdict=zdict) if zdict else zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise MalformedError("data is not valid zlib", code=code) from exc
    if len(out) > cap or inflater.unconsumed_tail:
        raise PayloadTooLargeError("data inflates past the size limit")
    if not inflater.eof or inflater.unused_data:
        raise MalformedError("compressed data is truncated or has trailing bytes", code=code)
    return out


def build_status_list_token(
    status_list: StatusList,
    *,
    uri: str,
    issuer: str,
    key: SigningKey,
    iat: int,
    ttl: int,
    exp: int,
) -> str:
    payload: dict[str, Any] = {
        "sub": uri,
        "iss": issuer,
        "iat": iat,
        "exp": exp,
        "ttl": ttl,
        "status_list": {"bits": status_list.bits, "lst": status_list.encode()},
    }
    return jws.sign(payload, key, {"typ": STATUS_LIST_TYP})


@dataclass(frozen=True)
class StatusListToken:
    uri: str
    iat: int
    exp: int | None
    ttl: int | None
    status_list: StatusList


def _number(claims: dict[str, Any], name: str, required: bool) -> int | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise MalformedError(f"status list token {name} is invalid", code="status_invalid")
    return value


def _still_vouches(iat: int, exp: int | None, now: int) -> bool:
    """A token vouches until its ``exp``; without one, for a day from ``iat`` only (it would
    otherwise vouch forever, and an old copy could hide a later revocation)."""
    return now < exp if exp is not None else iat >= now - MAX_AGE_WITHOUT_EXP


def verify_status_list_token(
    token: str,
    *,
    uri: str,
    resolve_key: Callable[[jws.Jws], PublicKey],
    now: int,
    max_inflated: int = MAX_INFLATED,
) -> StatusListToken:
    """Verify a ``statuslist+jwt`` for the list at ``uri``; any defect is ``status_invalid``
    (verdict ``status_unavailable``: a status that cannot be established is never valid)."""
    try:
        parsed = jws.verify(token, typ=STATUS_LIST_TYP, resolve_key=resolve_key)
        claims = parsed.claims()
        if claims.get("sub") != uri:
            raise MalformedError("status list token is for another list")
        iat = _number(claims, "iat", True)
        exp = _number(claims, "exp", False)
        ttl = _number(claims, "ttl", False)
        assert iat is not None
        if not _still_vouches(iat, exp, now):
            raise MalformedError("status list token has expired", code="status_expired")
        body = claims.get("status_list")
        if not isinstance(body, dict) or not _is_bits(body.get("bits")):
            raise MalformedError("status_list.bits must be 1, 2, 4 or 8")
        if not isinstance(body.get("lst"), str):
            raise MalformedError("status_list.lst missing")
        status_list = StatusList.decode(body["lst"], body["bits"], max_inflated)
    except CredentialError as exc:
        code = exc.code if exc.code in ("status_expired", "payload_too_large") else "status_invalid"
        raise StatusUnavailableError(f"status list rejected: {exc.description}", code=code) from exc
    assert iat is not None
    return StatusListToken(uri, iat, exp, ttl, status_list)


class VerifiedStatusLists:
    """:func:`verify_status_list_token`, remembering tokens already verified with the same key.

    A verifier checks thousands of credentials against the same few lists; the signature and the
    inflation are pure functions of (token, key), so they are done once. The key is still resolved
    from the trust list on every call (a compromised or removed key stops working at once) and the
    token's ``exp`` is still checked against ``now``. A long-lived verifier keeps one
    (``credcore.verify.VerifierMemory``).
    """

    def __init__(self, limit: int = 256) -> None:
        self._verified: OrderedDict[tuple[str, str, str, int], StatusListToken] = OrderedDict()
        self._headers: OrderedDict[str, jws.Jws] = OrderedDict()  # token -> its parsed protected header only
        self._limit = limit

    def verify(
        self,
        token: str,
        *,
        uri: str,
        resolve_key: Callable[[jws.Jws], PublicKey],
        now: int,
        max_inflated: int = MAX_INFLATED,
    ) -> StatusListToken:
        header = self._headers.get(token)
        try:
            if header is None:
                header = jws.parse_header_only(token)
                self._headers[token] = header
                if len(self._headers) > self._limit:
                    self._headers.popitem(last=False)
            key = resolve_key(header)
        except CredentialError as exc:
            raise StatusUnavailableError(f"status list rejected: {exc.description}", code="status_invalid") from exc
        cache_key = (token, uri, key.kid, max_inflated)
        found = self._verified.get(cache_key)
        if found is None:
            found = verify_status_list_token(token, uri=uri, resolve_key=lambda _: key, now=now,
                                             max_inflated=max_inflated)
            self._verified[cache_key] = found
            if len(self._verified) > self._limit:
                self._verified.popitem(last=False)
        elif not _still_vouches(found.iat, found.exp, now):
            raise StatusUnavailableError("status list token has expired", code="status_expired")
        return found


_URI_CHARACTERS = re.compile(r"[A-Za-z0-9._~:/?@!$&'()*+,;=%-]+")  # RFC 3986 characters except '#'


def hosted_by(uri: str, issuer: str) -> bool:
    """True when ``uri`` is a plain URI below ``issuer``'s identifier (security.md #77): no
    whitespace, control characters, fragment or dot segments that could lead a fetcher elsewhere."""
    if not uri.startswith(issuer + "/") or not _URI_CHARACTERS.fullmatch(uri):
        return False
    return not any(segment in (".", "..") for segment in unquote(urlsplit(uri).path).split("/"))


def reference(claims: dict[str, Any]) -> tuple[str, int] | None:
    """The credential's ``status.status_list`` (uri, idx), or None if it has no status."""
    if "status" not in claims:
        return None
    entry = claims["status"].get("status_list") if isinstance(claims["status"], dict) else None
    if not isinstance(entry, dict):
        raise StatusUnavailableError("status claim is malformed", code="status_invalid")
    idx, uri = entry.get("idx"), entry.get("uri")
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0 or not isinstance(uri, str) or not uri:
        raise StatusUnavailableError("status reference is malformed", code="status_invalid")
    return uri, idx

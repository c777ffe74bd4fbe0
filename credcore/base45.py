"""Base45 (RFC 9285): bytes as text in the 45 characters of the QR alphanumeric mode."""

from __future__ import annotations

import struct

from credcore.errors import MalformedError

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INDEX = {c: i for i, c in enumerate(BASE45)}
_OUTSIDE = 0xFF
# Latin-1 byte → its Base45 value, or 0xFF for a character outside the alphabet (one C-level translate).
_VALUES = bytes(_INDEX.get(chr(b), _OUTSIDE) for b in range(256))


def _values(text: str) -> bytes | None:
    """Each character's value, or None if one is outside the alphabet."""
    try:
        values = text.encode("latin-1").translate(_VALUES)
    except UnicodeEncodeError:
        return None
    return None if _OUTSIDE in values else values


def is_base45(text: str) -> bool:
    """Whether every character of ``text`` is in the Base45 (QR alphanumeric) alphabet."""
    return _values(text) is not None


def base45_encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out.append(BASE45[c] + BASE45[d] + BASE45[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out.append(BASE45[c] + BASE45[d])
    return "".join(out)


def base45_decode(text: str) -> bytes:
    """Strict decoding: an impossible length, a character outside the alphabet or a group out of
    range is ``malformed``."""
    if len(text) % 3 == 1:
        raise MalformedError("Base45 text has an impossible length", code="malformed")
    values = _values(text)
    if values is None:
        raise MalformedError("character outside the Base45 alphabet")
    full = len(values) - len(values) % 3
    triplets = [c + d * 45 + e * 2025 for c, d, e in zip(values[0:full:3], values[1:full:3], values[2:full:3],
                                                           strict=True)]
    if triplets and max(triplets) > 0xFFFF:
        raise MalformedError("Base45 triplet out of range")
    out = struct.pack(f">{len(triplets)}H", *triplets)
    if full < len(values):
        pair = values[full] + values[full + 1] * 45
        if pair > 0xFF:
            raise MalformedError("Base45 pair out of range")
        out += bytes((pair,))
    return out

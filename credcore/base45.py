"""Base45 (RFC 9285): bytes as text in the 45 characters of the QR alphanumeric mode."""

from __future__ import annotations

from credcore.errors import MalformedError

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INDEX = {c: i for i, c in enumerate(BASE45)}


def is_base45(text: str) -> bool:
    """Whether every character of ``text`` is in the Base45 (QR alphanumeric) alphabet."""
    return all(c in _INDEX for c in text)


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
    try:
        values = [_INDEX[c] for c in text]
    except KeyError:
        raise MalformedError("character outside the Base45 alphabet") from None
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i : i + 3]
        n = sum(v * 45**k for k, v in enumerate(chunk))
        if len(chunk) == 3:
            if n > 0xFFFF:
                raise MalformedError("Base45 triplet out of range")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise MalformedError("Base45 pair out of range")
            out.append(n)
    return bytes(out)

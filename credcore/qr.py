"""Offline QR format ``PT1`` (normative text: ``schemas/qr-format.md``).

QR text = ``"PT1:" + Base45(zlib(structure) + entropy)``, shown in QR alphanumeric mode. *Packing*
splits a compact SD-JWT into a compressible *structure* (JSON texts with Puente's common fragments
replaced by control bytes, numbers and dates in binary, and every value that can be derived from
elsewhere — a disclosure's digest, the KB-JWT ``sd_hash``, the ``y`` of a P-256 key — replaced by a
reference) and an incompressible *entropy* tail (salts, digests, key coordinates, signatures).
Anything that does not pack exactly is carried as raw text, so ``decode(encode(t)) == t`` for
every text ``t``.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from datetime import date

from cryptography.hazmat.primitives.asymmetric import ec

from credcore.base45 import base45_decode, base45_encode
from credcore.disclosure import hash_b64
from credcore.encoding import b64url_decode, b64url_encode
from credcore.errors import CredentialError, MalformedError, PayloadTooLargeError
from credcore.resources import package_dir

PREFIX = "PT1:"
MAX_QR_TEXT = 8 * 1024  # characters; QR version 40 holds 4,296 alphanumeric characters
MAX_PACKED = 48 * 1024  # bytes after inflation (security.md #96)

KIND_RAW, KIND_SD_JWT = 0x00, 0x01
ESC, REF_DIGEST, REF_SD_HASH, RAW32, P256_Y, RAW16, NUMBER, DATE = 0, 1, 2, 3, 4, 5, 6, 7
MAX_DISCLOSURES = 128

# Fragments of the JSON that Puente signs, replaced by one control byte (0x08-0x1E), by 0x1F and an
# index byte, or by one of 0xF5-0xFF (never in UTF-8 text). One data file holds them for this module,
# the wallet's and scanning page's web_common/pt1.js and the spec: changing one makes a new format.
TABLES_FILE = package_dir("schemas") / "qr-format-tables.json"
_TABLES = json.loads(TABLES_FILE.read_text("utf-8"))
FRAGMENTS: tuple[str, ...] = tuple(_TABLES["fragments"])
HIGH_FRAGMENTS: tuple[str, ...] = tuple(_TABLES["high_fragments"])
EXTENDED_FRAGMENTS: tuple[str, ...] = tuple(_TABLES["extended_fragments"])
_FIRST_FRAGMENT = 0x08
_EXTENDED = 0x1F
_FRAGMENT_BYTES = [f.encode("utf-8") for f in FRAGMENTS]
_EXTENDED_BYTES = [f.encode("utf-8") for f in EXTENDED_FRAGMENTS]
_FIRST_HIGH = 0xF5
_HIGH_BYTES = [f.encode("utf-8") for f in HIGH_FRAGMENTS]
_CODES = {f: bytes([_FIRST_FRAGMENT + i]) for i, f in enumerate(_FRAGMENT_BYTES)}
_CODES.update({f: bytes([_FIRST_HIGH + i]) for i, f in enumerate(_HIGH_BYTES)})
_CODES.update({f: bytes([_EXTENDED, i]) for i, f in enumerate(_EXTENDED_BYTES) if f not in _CODES})
_FRAGMENT_RE = re.compile(b"|".join(re.escape(f) for f in sorted(_CODES, key=len, reverse=True)))
assert _FIRST_FRAGMENT + len(FRAGMENTS) - 1 < _EXTENDED and _FIRST_HIGH + len(HIGH_FRAGMENTS) - 1 == 0xFF
# unpack_json expands runs of plain bytes and one-byte fragment codes in one C-level pass; only the
# codes that take an operand (below 0x08, and 0x1F) go through its Python branches.
_EXPAND: list[bytes] = [bytes((b,)) for b in range(256)]
_EXPAND[_FIRST_FRAGMENT : _FIRST_FRAGMENT + len(FRAGMENTS)] = _FRAGMENT_BYTES
_EXPAND[_FIRST_HIGH:] = _HIGH_BYTES
_OPERAND_CODES = {ESC, REF_DIGEST, REF_SD_HASH, RAW32, P256_Y, RAW16, NUMBER, DATE, _EXTENDED}
_SIMPLE_RUN = re.compile(b"[" + b"".join(re.escape(bytes((b,))) for b in range(256) if b not in _OPERAND_CODES) + b"]+")
FORMAT_TABLES_SHA256 = hashlib.sha256(
    "\n".join((*FRAGMENTS, "", *HIGH_FRAGMENTS, "", *EXTENDED_FRAGMENTS)).encode()
).hexdigest()

_EPOCH_ORDINAL = date(1900, 1, 1).toordinal()
# Integers of 4 to 15 digits without a leading zero, and ISO dates, outside any longer digit run.
_NUMBER_OR_DATE = re.compile(rb"(?<![0-9])(?:([0-9]{4}-[0-9]{2}-[0-9]{2})|[1-9][0-9]{8,14})(?![0-9])")
_B64_TOKEN = re.compile(rb'"([A-Za-z0-9_-]{43}|[A-Za-z0-9_-]{22})"')
_X_BEFORE_Y = re.compile(rb'"x":"([A-Za-z0-9_-]{43})","y":"$')


# ----------------------------------------------------------------------------- varints


def _put_varint(out: bytearray, value: int) -> None:
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise MalformedError("packed presentation is truncated")
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise MalformedError("packed presentation is truncated")
        self.pos += size
        return self.data[self.pos - size : self.pos]

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if byte == 0 and shift:
                    raise MalformedError("non-minimal varint")
                return value
            shift += 7
            if shift > 56:
                raise MalformedError("varint too large")


# ----------------------------------------------------------------------------- JSON part packing


class P256Points:
    """The ``y`` of compressed P-256 points (the ``y`` of a key is packed as a reference to its ``x``),
    each (x, parity) worked out once: decompressing a point takes a modular square root, about 70 µs
    in OpenSSL, a third of decoding a live QR, and a holder shows the same key in every QR. A verifier
    keeps one across QRs (``credcore.verify.VerifierMemory``); an encode or decode without one uses
    its own, so packing and the round-trip check that follows share it."""

    def __init__(self, limit: int = 4096) -> None:
        self._y: dict[tuple[bytes, int], bytes | None] = {}
        self._limit = limit

    def y(self, x: bytes, parity: int) -> bytes | None:
        """The ``y`` of the point with this ``x`` and parity (None: no such point)."""
        found = self._y.get((x, parity), b"")
        if found != b"":
            return found
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes([2 + parity]) + x)
            y: bytes | None = key.public_numbers().y.to_bytes(32, "big")
        except ValueError:
            y = None
        if len(self._y) >= self._limit:
            self._y.clear()
        self._y[x, parity] = y
        return y

    def __len__(self) -> int:
        return len(self._y)


class _Context:
    """What a reference can point at (disclosure digests, the sd_hash) and the entropy stream."""

    def __init__(self, digests: list[str], sd_hash: str | None, entropy: bytearray | _Reader,
                 points: P256Points) -> None:
        self.digests = digests
        self.index = {d: i for i, d in enumerate(digests) if i < 256}
        self.sd_hash = sd_hash
        self.entropy = entropy
        self.points = points


def _escape(out: bytearray, span: bytes) -> None:
    position = 0
    for match in _FRAGMENT_RE.finditer(span):
        _escape_bytes(out, span[position : match.start()])
        out += _CODES[match.group(0)]
        position = match.end()
    _escape_bytes(out, span[position:])


def _escape_bytes(out: bytearray, span: bytes) -> None:
    position = 0
    for match in _NUMBER_OR_DATE.finditer(span):
        value = _date_days(match.group(0)) if match.group(1) else int(match.group(0))
        if value is None:
            continue
        _escape_control(out, span[position : match.start()])
        if match.group(1):
            out.append(DATE)
            out += value.to_bytes(2, "big")
        else:
            out.append(NUMBER)
            _put_varint(out, value)
        position = match.end()
    _escape_control(out, span[position:])


def _escape_control(out: bytearray, span: bytes) -> None:
    for byte in span:
        if byte <= _EXTENDED or byte >= _FIRST_HIGH:
            out.append(ESC)
        out.append(byte)


def _date_days(text: bytes) -> int | None:
    """Days since 1900-01-01 for a canonical ISO date in 1900..2079 (fits two bytes)."""
    try:
        day = date.fromisoformat(text.decode("ascii"))
    except ValueError:
        return None
    days = day.toordinal() - _EPOCH_ORDINAL
    return days if 0 <= days <= 0xFFFF and day.isoformat().encode() == text else None


def _pack_token(out: bytearray, token: bytes, before: bytes, ctx: _Context) -> None:
    text = token.decode("ascii")
    raw = b64url_decode(text)
    entropy = ctx.entropy
    assert isinstance(entropy, bytearray)
    if len(raw) == 16:
        out.append(RAW16)
        entropy += raw
        return
    if text in ctx.index:
        out += bytes([REF_DIGEST, ctx.index[text]])
        return
    if ctx.sd_hash is not None and text == ctx.sd_hash:
        out.append(REF_SD_HASH)
        return
    match = _X_BEFORE_Y.search(before)
    if match:
        x = b64url_decode(match.group(1).decode("ascii"))
        for parity in (0, 1):
            if ctx.points.y(x, parity) == raw:
                out += bytes([P256_Y, parity])
                return
    out.append(RAW32)
    entropy += raw


def pack_json(data: bytes, ctx: _Context) -> bytes:
    out = bytearray()
    position = 0
    for match in _B64_TOKEN.finditer(data):
        start, end = match.span(1)
        try:
            b64url_decode(match.group(1).decode("ascii"))
        except CredentialError:
            continue  # non-canonical spelling: stays literal
        _escape(out, data[position:start])
        _pack_token(out, match.group(1), data[:start], ctx)
        position = end
    _escape(out, data[position:])
    return bytes(out)


def unpack_json(packed: bytes, ctx: _Context) -> bytes:
    out = bytearray()
    reader = _Reader(packed)
    entropy = ctx.entropy
    assert isinstance(entropy, _Reader)
    simple_run, expand = _SIMPLE_RUN.match, _EXPAND.__getitem__
    while reader.pos < len(packed):
        run = simple_run(packed, reader.pos)
        if run is not None:  # plain JSON text and fragment codes
            out += b"".join(map(expand, run.group()))
            reader.pos = run.end()
            continue
        byte = packed[reader.pos]
        reader.pos += 1
        if byte == ESC:
            literal = reader.byte()
            if _EXTENDED < literal < _FIRST_HIGH:
                raise MalformedError("bad escape in packed JSON")
            out.append(literal)
        elif byte == NUMBER:
            out += str(reader.varint()).encode("ascii")
        elif byte == DATE:
            days = int.from_bytes(reader.take(2), "big")
            out += date.fromordinal(_EPOCH_ORDINAL + days).isoformat().encode("ascii")
        elif byte == _EXTENDED:
            index = reader.byte()
            if index >= len(_EXTENDED_BYTES):
                raise MalformedError("unknown fragment in packed JSON")
            out += _EXTENDED_BYTES[index]
        elif byte == REF_DIGEST:
            index = reader.byte()
            if index >= len(ctx.digests):
                raise MalformedError("reference to a missing disclosure")
            out += ctx.digests[index].encode("ascii")
        elif byte == REF_SD_HASH:
            if ctx.sd_hash is None:
                raise MalformedError("sd_hash reference outside a KB-JWT")
            out += ctx.sd_hash.encode("ascii")
        elif byte in (RAW16, RAW32):
            out += b64url_encode(entropy.take(16 if byte == RAW16 else 32)).encode("ascii")
        elif byte == P256_Y:
            parity = reader.byte()
            match = _X_BEFORE_Y.search(bytes(out))
            y = ctx.points.y(b64url_decode(match.group(1).decode("ascii")), parity) if match and parity < 2 else None
            if y is None:
                raise MalformedError("invalid compressed P-256 point")
            out += b64url_encode(y).encode("ascii")
    return bytes(out)


# ----------------------------------------------------------------------------- presentation packing


def _segment(out: bytearray, data: bytes) -> None:
    _put_varint(out, len(data))
    out += data


def _signature(out: bytearray, entropy: bytearray, data: bytes) -> None:
    _put_varint(out, len(data))
    entropy += data


def _jwt_parts(jwt: str) -> list[bytes]:
    parts = jwt.split(".")
    if len(parts) != 3:
        raise MalformedError("not a compact JWS")
    return [b64url_decode(p) for p in parts]


def _pack_sd_jwt(text: str, points: P256Points) -> tuple[bytes, bytes]:
    pieces = text.split("~")
    if len(pieces) < 2 or len(pieces) > MAX_DISCLOSURES + 2:
        raise MalformedError("not an SD-JWT")
    issuer_jwt, *disclosures, kb = pieces
    if any(not d for d in disclosures):
        raise MalformedError("empty disclosure")
    head, body, signature = _jwt_parts(issuer_jwt)
    out, entropy = bytearray([KIND_SD_JWT]), bytearray()
    _put_varint(out, len(disclosures))
    plain = _Context([], None, entropy, points)
    for disclosure in disclosures:
        _segment(out, pack_json(b64url_decode(disclosure), plain))
    ctx = _Context([hash_b64(d) for d in disclosures], None, entropy, points)
    _segment(out, pack_json(head, ctx))
    _segment(out, pack_json(body, ctx))
    _signature(out, entropy, signature)
    if kb:
        kb_ctx = _Context(ctx.digests, hash_b64(text[: len(text) - len(kb)]), entropy, points)
        kb_head, kb_body, kb_signature = _jwt_parts(kb)
        out.append(1)
        _segment(out, pack_json(kb_head, kb_ctx))
        _segment(out, pack_json(kb_body, kb_ctx))
        _signature(out, entropy, kb_signature)
    else:
        out.append(0)
    return bytes(out), bytes(entropy)


def _unpack_sd_jwt(reader: _Reader, entropy: _Reader, points: P256Points) -> str:
    count = reader.varint()
    if count > MAX_DISCLOSURES:
        raise PayloadTooLargeError("too many disclosures")
    plain = _Context([], None, entropy, points)
    disclosures = [b64url_encode(unpack_json(reader.take(reader.varint()), plain)) for _ in range(count)]
    ctx = _Context([hash_b64(d) for d in disclosures], None, entropy, points)
    head = b64url_encode(unpack_json(reader.take(reader.varint()), ctx))
    body = b64url_encode(unpack_json(reader.take(reader.varint()), ctx))
    signature = b64url_encode(entropy.take(reader.varint()))
    presented = "~".join([f"{head}.{body}.{signature}", *disclosures]) + "~"
    flag = reader.byte()
    if flag == 0:
        return presented
    if flag != 1:
        raise MalformedError("bad key-binding flag")
    kb_ctx = _Context(ctx.digests, hash_b64(presented), entropy, points)
    kb_head = b64url_encode(unpack_json(reader.take(reader.varint()), kb_ctx))
    kb_body = b64url_encode(unpack_json(reader.take(reader.varint()), kb_ctx))
    kb_signature = b64url_encode(entropy.take(reader.varint()))
    return f"{presented}{kb_head}.{kb_body}.{kb_signature}"


def pack(text: str, points: P256Points | None = None) -> tuple[bytes, bytes]:
    """``text`` as (structure, entropy): structured when that reproduces it exactly, raw otherwise."""
    points = points if points is not None else P256Points()
    try:
        packed = _pack_sd_jwt(text, points)
        if unpack(*packed, points=points) == text:
            return packed
    except (CredentialError, UnicodeError, ValueError):
        pass
    return bytes([KIND_RAW]) + text.encode("utf-8", "surrogatepass"), b""


def unpack(structure: bytes, entropy: bytes, points: P256Points | None = None) -> str:
    reader, random_part = _Reader(structure), _Reader(entropy)
    kind = reader.byte()
    if kind == KIND_RAW:
        if entropy:
            raise MalformedError("trailing bytes after the presentation")
        try:
            return structure[1:].decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise MalformedError("raw QR payload is not UTF-8") from exc
    if kind != KIND_SD_JWT:
        raise MalformedError("unknown packed kind")
    text = _unpack_sd_jwt(reader, random_part, points if points is not None else P256Points())
    if reader.pos != len(structure) or random_part.pos != len(entropy):
        raise MalformedError("trailing bytes after the presentation")
    return text


# ----------------------------------------------------------------------------- QR text


def inflate_prefix(data: bytes, cap: int) -> tuple[bytes, bytes]:
    """Inflate the zlib stream at the start of ``data`` (capped); return it and the bytes after it."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise MalformedError("QR payload is not valid compressed data") from exc
    if len(out) > cap or inflater.unconsumed_tail:
        raise PayloadTooLargeError("QR payload inflates past the size limit")
    if not inflater.eof:
        raise MalformedError("QR payload is truncated")
    return out, inflater.unused_data



def encode(text: str, points: P256Points | None = None) -> str:
    """Presentation text → QR text (``PT1:`` + Base45 of the compressed packing)."""
    structure, entropy = pack(text, points)
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS, 9)
    return PREFIX + base45_encode(compressor.compress(structure) + compressor.flush() + entropy)


def decode(qr_text: str, points: P256Points | None = None) -> str:
    """QR text → the exact presentation text; every defect is ``malformed`` or ``payload_too_large``.
    ``points``: the P-256 points a long-lived verifier already decompressed (None: this QR's own)."""
    if not isinstance(qr_text, str):
        raise MalformedError("QR content must be text")
    if len(qr_text) > MAX_QR_TEXT:
        raise PayloadTooLargeError("QR text too long")
    if not qr_text.startswith(PREFIX):
        raise MalformedError("not a Puente QR code (unknown prefix)", code="malformed")
    compressed = base45_decode(qr_text[len(PREFIX) :])
    if len(compressed) < 2 or compressed[0] & 0x0F != 8 or (compressed[0] * 256 + compressed[1]) % 31:
        raise MalformedError("QR payload is not zlib-compressed")
    structure, entropy = inflate_prefix(compressed, MAX_PACKED)
    return unpack(structure, entropy, points)

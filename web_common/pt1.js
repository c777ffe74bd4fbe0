// PT1, Puente's offline QR format (normative text: schemas/qr-format.md; reference: credcore/qr.py).
// One implementation for the wallet and the scanning page (both serve web_common/ at /common/).
//
// QR text = "PT1:" + Base45(zlib(S) + E). Packing splits a compact SD-JWT presentation into a
// compressible structure S (JSON with Puente's common fragments replaced by control bytes, numbers
// and dates in binary, and whatever can be recomputed — a disclosure's digest, the KB-JWT sd_hash,
// the y of a P-256 key — replaced by a reference) and an incompressible entropy tail E (salts,
// digests, key coordinates, signatures). This is a port of credcore.qr: the same input gives the same
// S and E byte for byte. Anything that does not unpack to exactly the input is carried raw (kind 0).

import {
  FormatError, b64urlDecode, b64urlEncode, concat, equalBytes, fromBinary, hashB64, hex, isCanonicalB64url,
  sha256, toBinary, utf8,
} from './bytes.js';
import { inflateZlib } from './inflate.js';
import TABLES from './qr-format-tables.json' with { type: 'json' };

export const PREFIX = 'PT1:';
export const BASE45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
export const MAX_QR_TEXT = 8 * 1024;
export const MAX_PACKED = 48 * 1024;
const KIND_RAW = 0x00;
const KIND_SD_JWT = 0x01;
const ESC = 0, REF_DIGEST = 1, REF_SD_HASH = 2, RAW32 = 3, P256_Y = 4, RAW16 = 5, NUMBER = 6, DATE = 7;
const MAX_DISCLOSURES = 128;
const FIRST_FRAGMENT = 0x08;
const EXTENDED = 0x1f;
const FIRST_HIGH = 0xf5;

// The format's tables: one data file, schemas/qr-format-tables.json, read by credcore/qr.py as well
// and served next to this module. Changing an entry makes a new format version.
export const FRAGMENTS = Object.freeze([...TABLES.fragments]);
export const HIGH_FRAGMENTS = Object.freeze([...TABLES.high_fragments]);
export const EXTENDED_FRAGMENTS = Object.freeze([...TABLES.extended_fragments]);

const asBinary = (text) => toBinary(utf8(text));
const FRAGMENT_BIN = FRAGMENTS.map(asBinary);
const HIGH_BIN = HIGH_FRAGMENTS.map(asBinary);
const EXTENDED_BIN = EXTENDED_FRAGMENTS.map(asBinary);

// Fragment (as a binary string) → its code bytes; insertion order as in credcore.qr._CODES.
const CODES = new Map();
FRAGMENT_BIN.forEach((f, i) => CODES.set(f, [FIRST_FRAGMENT + i]));
HIGH_BIN.forEach((f, i) => CODES.set(f, [FIRST_HIGH + i]));
EXTENDED_BIN.forEach((f, i) => { if (!CODES.has(f)) CODES.set(f, [EXTENDED, i]); });
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
// Longest first (a stable sort, like Python's sorted(..., reverse=True)), so a fragment never hides a longer one.
const FRAGMENT_RE = new RegExp(
  [...CODES.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
// Integers of 9 to 15 digits without a leading zero, and ISO dates, outside any longer digit run.
const NUMBER_OR_DATE = /(?<![0-9])(?:([0-9]{4}-[0-9]{2}-[0-9]{2})|[1-9][0-9]{8,14})(?![0-9])/g;
const B64_TOKEN = /"([A-Za-z0-9_-]{43}|[A-Za-z0-9_-]{22})"/g;
const X_BEFORE_Y = /"x":"([A-Za-z0-9_-]{43})","y":"$/;

/** SHA-256 (hex) of the three tables as the spec and credcore.qr.FORMAT_TABLES_SHA256 compute it. */
export async function formatTablesSha256() {
  const text = [...FRAGMENTS, '', ...HIGH_FRAGMENTS, '', ...EXTENDED_FRAGMENTS].join('\n');
  return hex(await sha256(utf8(text)));
}

// ---------------------------------------------------------------------------- Base45 (RFC 9285)

export function base45Encode(bytes) {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let n = bytes[i] * 256 + bytes[i + 1];
    const c = n % 45;
    n = Math.floor(n / 45);
    out += BASE45[c] + BASE45[n % 45] + BASE45[Math.floor(n / 45)];
  }
  if (bytes.length % 2) {
    const last = bytes[bytes.length - 1];
    out += BASE45[last % 45] + BASE45[Math.floor(last / 45)];
  }
  return out;
}

const B45_INDEX = new Map([...BASE45].map((c, i) => [c, i]));

export function base45Decode(text) {
  if (text.length % 3 === 1) throw new FormatError('Base45 text has an impossible length');
  const out = [];
  for (let i = 0; i < text.length; i += 3) {
    const chunk = [...text.slice(i, i + 3)].map((c) => {
      const v = B45_INDEX.get(c);
      if (v === undefined) throw new FormatError('character outside the Base45 alphabet');
      return v;
    });
    const n = chunk.reduce((sum, v, k) => sum + v * 45 ** k, 0);
    if (chunk.length === 3) {
      if (n > 0xffff) throw new FormatError('Base45 triplet out of range');
      out.push(n >> 8, n & 0xff);
    } else {
      if (n > 0xff) throw new FormatError('Base45 pair out of range');
      out.push(n);
    }
  }
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------- varints and a reader

function putVarint(out, value) {
  do {
    const byte = value % 128;
    value = Math.floor(value / 128);
    out.push(value ? byte | 0x80 : byte);
  } while (value);
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
  }

  byte() {
    if (this.pos >= this.bytes.length) throw new FormatError('packed presentation is truncated');
    return this.bytes[this.pos++];
  }

  take(size) {
    if (this.pos + size > this.bytes.length) throw new FormatError('packed presentation is truncated');
    this.pos += size;
    return this.bytes.subarray(this.pos - size, this.pos);
  }

  varint() {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) {
        if (byte === 0 && shift) throw new FormatError('non-minimal varint');
        if (value > Number.MAX_SAFE_INTEGER) throw new FormatError('varint too large');
        return value;
      }
      shift += 7;
      if (shift > 56) throw new FormatError('varint too large');
    }
  }
}

// ---------------------------------------------------------------------------- dates (proleptic Gregorian)

function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe;
}

function civilFromDays(z) {
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const EPOCH = daysFromCivil(1900, 1, 1);

/** Days since 1900-01-01 for a valid ISO date text in 1900..2079 (two bytes), else null. */
function dateDays(text) {
  const y = Number(text.slice(0, 4)), m = Number(text.slice(5, 7)), d = Number(text.slice(8, 10));
  if (y < 1 || m < 1 || m > 12 || d < 1) return null;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  if (d > monthDays) return null;
  const days = daysFromCivil(y, m, d) - EPOCH;
  return days >= 0 && days <= 0xffff ? days : null;
}

function dateText(days) {
  const [y, m, d] = civilFromDays(EPOCH + days);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

// ---------------------------------------------------------------------------- P-256 point decompression

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

function modPow(base, exponent, modulus) {
  let result = 1n;
  base %= modulus;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
    exponent >>= 1n;
  }
  return result;
}

/** The y (32 bytes) of the P-256 point with this x and y parity, or null when there is none. */
export function yFromX(xBytes, parity) {
  if (xBytes.length !== 32) return null;
  const x = BigInt('0x' + hex(xBytes));
  if (x >= P) return null;
  const rhs = (((x * x % P) * x - 3n * x + B) % P + P) % P;
  let y = modPow(rhs, (P + 1n) / 4n, P); // P ≡ 3 (mod 4)
  if ((y * y) % P !== rhs) return null;
  if (Number(y & 1n) !== parity) y = (P - y) % P;
  const digits = y.toString(16).padStart(64, '0');
  return Uint8Array.from(digits.match(/../g), (h) => parseInt(h, 16));
}

// ---------------------------------------------------------------------------- JSON part packing

class Context {
  /** What a reference can point at (disclosure digests, the sd_hash) and the entropy stream. */
  constructor(digests, sdHash, entropy) {
    this.digests = digests;
    this.index = new Map();
    digests.forEach((d, i) => { if (i < 256) this.index.set(d, i); });
    this.sdHash = sdHash;
    this.entropy = entropy; // an array of bytes when packing, a Reader when unpacking
  }
}

function escapeControl(out, span) {
  for (let i = 0; i < span.length; i++) {
    const byte = span.charCodeAt(i);
    if (byte <= EXTENDED || byte >= FIRST_HIGH) out.push(ESC);
    out.push(byte);
  }
}

function escapeNumbers(out, span) {
  let position = 0;
  for (const match of span.matchAll(NUMBER_OR_DATE)) {
    const isDate = match[1] !== undefined;
    const value = isDate ? dateDays(match[0]) : Number(match[0]);
    if (value === null) continue;
    escapeControl(out, span.slice(position, match.index));
    if (isDate) {
      out.push(DATE, value >> 8, value & 0xff);
    } else {
      out.push(NUMBER);
      putVarint(out, value);
    }
    position = match.index + match[0].length;
  }
  escapeControl(out, span.slice(position));
}

function escapeSpan(out, span) {
  let position = 0;
  for (const match of span.matchAll(FRAGMENT_RE)) {
    escapeNumbers(out, span.slice(position, match.index));
    out.push(...CODES.get(match[0]));
    position = match.index + match[0].length;
  }
  escapeNumbers(out, span.slice(position));
}

function packToken(out, token, before, ctx) {
  const raw = b64urlDecode(token);
  if (raw.length === 16) {
    out.push(RAW16);
    ctx.entropy.push(...raw);
    return;
  }
  if (ctx.index.has(token)) {
    out.push(REF_DIGEST, ctx.index.get(token));
    return;
  }
  if (ctx.sdHash !== null && token === ctx.sdHash) {
    out.push(REF_SD_HASH);
    return;
  }
  const match = X_BEFORE_Y.exec(before);
  if (match) {
    const x = b64urlDecode(match[1]);
    for (const parity of [0, 1]) {
      const y = yFromX(x, parity);
      if (y && equalBytes(y, raw)) {
        out.push(P256_Y, parity);
        return;
      }
    }
  }
  out.push(RAW32);
  ctx.entropy.push(...raw);
}

/** A JSON part (binary string) → packed bytes (array). */
function packJson(data, ctx) {
  const out = [];
  let position = 0;
  for (const match of data.matchAll(B64_TOKEN)) {
    if (!isCanonicalB64url(match[1])) continue; // a non-canonical spelling stays literal
    const start = match.index + 1;
    escapeSpan(out, data.slice(position, start));
    packToken(out, match[1], data.slice(0, start), ctx);
    position = start + match[1].length;
  }
  escapeSpan(out, data.slice(position));
  return out;
}

/** Packed bytes → the JSON part as a binary string. */
function unpackJson(packed, ctx) {
  let out = '';
  const reader = new Reader(packed);
  while (reader.pos < packed.length) {
    const byte = reader.byte();
    if (byte === ESC) {
      const literal = reader.byte();
      if (literal > EXTENDED && literal < FIRST_HIGH) throw new FormatError('bad escape in packed JSON');
      out += String.fromCharCode(literal);
    } else if (byte >= FIRST_HIGH) {
      out += HIGH_BIN[byte - FIRST_HIGH];
    } else if (byte >= FIRST_FRAGMENT && byte < FIRST_FRAGMENT + FRAGMENTS.length) {
      out += FRAGMENT_BIN[byte - FIRST_FRAGMENT];
    } else if (byte === NUMBER) {
      out += String(reader.varint());
    } else if (byte === DATE) {
      const two = reader.take(2);
      out += dateText(two[0] * 256 + two[1]);
    } else if (byte === EXTENDED) {
      const index = reader.byte();
      if (index >= EXTENDED_BIN.length) throw new FormatError('unknown fragment in packed JSON');
      out += EXTENDED_BIN[index];
    } else if (byte === REF_DIGEST) {
      const index = reader.byte();
      if (index >= ctx.digests.length) throw new FormatError('reference to a missing disclosure');
      out += ctx.digests[index];
    } else if (byte === REF_SD_HASH) {
      if (ctx.sdHash === null) throw new FormatError('sd_hash reference outside a KB-JWT');
      out += ctx.sdHash;
    } else if (byte === RAW16 || byte === RAW32) {
      out += b64urlEncode(ctx.entropy.take(byte === RAW16 ? 16 : 32));
    } else if (byte === P256_Y) {
      const parity = reader.byte();
      const match = X_BEFORE_Y.exec(out);
      const y = match && parity < 2 ? yFromX(b64urlDecode(match[1]), parity) : null;
      if (y === null) throw new FormatError('invalid compressed P-256 point');
      out += b64urlEncode(y);
    } else {
      out += String.fromCharCode(byte);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------- presentation packing

function segment(out, bytes) {
  putVarint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function jwtParts(jwt) {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new FormatError('not a compact JWS');
  return parts.map((p) => toBinary(b64urlDecode(p)));
}

async function packSdJwt(text) {
  const pieces = text.split('~');
  if (pieces.length < 2 || pieces.length > MAX_DISCLOSURES + 2) throw new FormatError('not an SD-JWT');
  const issuerJwt = pieces[0];
  const disclosures = pieces.slice(1, -1);
  const kb = pieces[pieces.length - 1];
  if (disclosures.some((d) => !d)) throw new FormatError('empty disclosure');
  const [head, body, signature] = jwtParts(issuerJwt);
  const out = [KIND_SD_JWT];
  const entropy = [];
  putVarint(out, disclosures.length);
  const plain = new Context([], null, entropy);
  for (const disclosure of disclosures) segment(out, packJson(toBinary(b64urlDecode(disclosure)), plain));
  const digests = await Promise.all(disclosures.map(hashB64));
  const ctx = new Context(digests, null, entropy);
  segment(out, packJson(head, ctx));
  segment(out, packJson(body, ctx));
  putVarint(out, signature.length);
  entropy.push(...fromBinary(signature));
  if (kb) {
    const kbCtx = new Context(digests, await hashB64(text.slice(0, text.length - kb.length)), entropy);
    const [kbHead, kbBody, kbSignature] = jwtParts(kb);
    out.push(1);
    segment(out, packJson(kbHead, kbCtx));
    segment(out, packJson(kbBody, kbCtx));
    putVarint(out, kbSignature.length);
    entropy.push(...fromBinary(kbSignature));
  } else {
    out.push(0);
  }
  return { structure: Uint8Array.from(out), entropy: Uint8Array.from(entropy) };
}

const encodeBinary = (binary) => b64urlEncode(fromBinary(binary));

async function unpackSdJwt(reader, entropy) {
  const count = reader.varint();
  if (count > MAX_DISCLOSURES) throw new FormatError('too many disclosures', 'payload_too_large');
  const plain = new Context([], null, entropy);
  const disclosures = [];
  for (let i = 0; i < count; i++) disclosures.push(encodeBinary(unpackJson(reader.take(reader.varint()), plain)));
  const ctx = new Context(await Promise.all(disclosures.map(hashB64)), null, entropy);
  const head = encodeBinary(unpackJson(reader.take(reader.varint()), ctx));
  const body = encodeBinary(unpackJson(reader.take(reader.varint()), ctx));
  const signature = b64urlEncode(entropy.take(reader.varint()));
  const presented = [`${head}.${body}.${signature}`, ...disclosures].join('~') + '~';
  const flag = reader.byte();
  if (flag === 0) return presented;
  if (flag !== 1) throw new FormatError('bad key-binding flag');
  const kbCtx = new Context(ctx.digests, await hashB64(presented), entropy);
  const kbHead = encodeBinary(unpackJson(reader.take(reader.varint()), kbCtx));
  const kbBody = encodeBinary(unpackJson(reader.take(reader.varint()), kbCtx));
  const kbSignature = b64urlEncode(entropy.take(reader.varint()));
  return `${presented}${kbHead}.${kbBody}.${kbSignature}`;
}

/** UTF-8 that, like Python's "surrogatepass", also carries lone surrogates (so raw text is exact). */
function utf8Pass(text) {
  const out = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (c >= 0xd800 && c < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
      c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
      i++;
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

/** `text` as {structure, entropy}: kind 1 when that unpacks to exactly `text`, kind 0 (raw) otherwise. */
export async function pack(text) {
  try {
    const packed = await packSdJwt(text);
    if ((await unpack(packed.structure, packed.entropy)) === text) return packed;
  } catch (error) {
    if (!(error instanceof FormatError || error instanceof RangeError || error instanceof TypeError)) throw error;
  }
  return { structure: Uint8Array.from([KIND_RAW, ...utf8Pass(text)]), entropy: new Uint8Array(0) };
}

export async function unpack(structure, entropy) {
  const reader = new Reader(structure);
  const randomPart = new Reader(entropy);
  const kind = reader.byte();
  if (kind === KIND_RAW) {
    if (entropy.length) throw new FormatError('trailing bytes after the presentation');
    return new TextDecoder('utf-8', { fatal: true }).decode(structure.subarray(1));
  }
  if (kind !== KIND_SD_JWT) throw new FormatError('unknown packed kind');
  const text = await unpackSdJwt(reader, randomPart);
  if (reader.pos !== structure.length || randomPart.pos !== entropy.length) {
    throw new FormatError('trailing bytes after the presentation');
  }
  return text;
}

// ---------------------------------------------------------------------------- QR text

async function streamBytes(bytes, transform) {
  const stream = new Blob([bytes]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** zlib (RFC 1950): CompressionStream("deflate") is the zlib format, header and Adler-32 included. */
export const zlibCompress = (bytes) => streamBytes(bytes, new CompressionStream('deflate'));
export const zlibDecompress = (bytes) => streamBytes(bytes, new DecompressionStream('deflate'));

/** Presentation text → QR text. The zlib stream is inflated again and compared before use. */
export async function encode(text) {
  const { structure, entropy } = await pack(text);
  if (structure.length > MAX_PACKED) throw new FormatError('presentation too large for a QR code', 'payload_too_large');
  const compressed = await zlibCompress(structure);
  if (!equalBytes(await zlibDecompress(compressed), structure)) throw new FormatError('compression did not round-trip');
  const qrText = PREFIX + base45Encode(concat(compressed, entropy));
  if (qrText.length > MAX_QR_TEXT) throw new FormatError('presentation too large for a QR code', 'payload_too_large');
  return qrText;
}

const codePoints = (text) => {
  let n = 0;
  for (const _ of text) n += 1; // eslint-disable-line no-unused-vars
  return n;
};

/**
 * QR text → the exact presentation text, as credcore.qr.decode: every defect is FormatError
 * 'malformed', an oversized text or stream 'payload_too_large'.
 */
export async function decode(qrText) {
  if (typeof qrText !== 'string') throw new FormatError('QR content must be text');
  if (qrText.length > MAX_QR_TEXT && codePoints(qrText) > MAX_QR_TEXT) {
    throw new FormatError('QR text too long', 'payload_too_large');
  }
  if (!qrText.startsWith(PREFIX)) throw new FormatError('not a Puente QR code (unknown prefix)');
  try {
    const compressed = base45Decode(qrText.slice(PREFIX.length));
    if (compressed.length < 2 || (compressed[0] & 0x0f) !== 8 || (compressed[0] * 256 + compressed[1]) % 31) {
      throw new FormatError('QR payload is not zlib-compressed');
    }
    const { data, end } = inflateZlib(compressed, MAX_PACKED);
    return await unpack(data, compressed.subarray(end));
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw new FormatError('QR payload cannot be unpacked'); // RangeError, TypeError: never anything but malformed
  }
}


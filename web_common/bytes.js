// Bytes, text and hashing helpers shared by the wallet's modules: strict base64url (RFC 4648 §5,
// unpadded, canonical), UTF-8, "binary strings" (one char per byte, for byte-level regexes) and SHA-256.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));
const B64URL = /^[A-Za-z0-9_-]*$/;

export class FormatError extends Error {
  constructor(message, code = 'malformed') {
    super(message);
    this.code = code;
  }
}

export function b64urlEncode(bytes) {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63];
  }
  return out;
}

/** Whether `text` is unpadded base64url whose unused low bits are zero (one spelling per byte string). */
export function isCanonicalB64url(text) {
  if (typeof text !== 'string' || !B64URL.test(text)) return false;
  const rest = text.length % 4;
  if (rest === 1) return false;
  if (rest === 0 || text.length === 0) return true;
  const last = INDEX.get(text[text.length - 1]);
  return rest === 2 ? last % 16 === 0 : last % 4 === 0;
}

export function b64urlDecode(text) {
  if (!isCanonicalB64url(text)) throw new FormatError('invalid or non-canonical base64url');
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (const c of text) {
    value = (value << 6) | INDEX.get(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export const utf8 = (text) => encoder.encode(text);

export function utf8Decode(bytes) {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new FormatError('not UTF-8');
  }
}

/** ASCII bytes of `text`; anything outside ASCII is an error (digests are over ASCII text). */
export function ascii(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) throw new FormatError('text is not ASCII');
    out[i] = code;
  }
  return out;
}

/** One char per byte: lets byte-oriented regexes run over binary data, as Python's bytes regexes do. */
export function toBinary(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 0x4000) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x4000));
  }
  return out;
}

export function fromBinary(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** All bytes of a stream, or null as soon as they pass `max` (the stream is then cancelled). */
export async function readCapped(stream, max) {
  const reader = stream.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** base64url(SHA-256(ASCII of text)): the SD-JWT digest rule (RFC 9901 §4.2.3), also `sd_hash`. */
export async function hashB64(text) {
  return b64urlEncode(await sha256(ascii(text)));
}

export const randomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));

export const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

// SD-JWT presentations as the verifier processes them (RFC 9901 §7.1), a port of credcore.sdjwt,
// credcore.disclosure and credcore.verify.parse_input: the same limits, the same order of checks,
// the same codes. Claims are Maps (names are untrusted text, security.md #39).

import { FormatError, ascii, b64urlDecode, b64urlEncode } from '../bytes.js';
import { parseStrict } from '../json_strict.js';
import { PREFIX, decode as decodePt1 } from '../pt1.js';
import { codePointLength, disclosureInvalid, malformed, signatureInvalid } from './errors.js';

const MAX_DISCLOSURES = 128;
const MAX_PRESENTATION_LENGTH = 48 * 1024;
const MAX_DISCLOSURE_LENGTH = 16 * 1024;
const MAX_DEPTH = 32;
const COMPACT = /^[A-Za-z0-9_.~-]+$/;
const HASHES = { 'sha-256': 'SHA-256', 'sha-384': 'SHA-384', 'sha-512': 'SHA-512' };
// Python's str.strip(): the characters str.isspace() accepts.
const PY_SPACE = '[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'g');

/** base64url(H(ASCII text)) for an allowed _sd_alg (credcore.disclosure.hash_b64). */
export async function hashB64(text, sdAlg = 'sha-256') {
  if (typeof sdAlg !== 'string' || !Object.hasOwn(HASHES, sdAlg)) signatureInvalid('sd_alg_not_allowed', '_sd_alg not allowed');
  return b64urlEncode(new Uint8Array(await crypto.subtle.digest(HASHES[sdAlg], ascii(text))));
}

/** credcore.sdjwt.parse_compact: {issuerJwt, disclosures, kbJwt, withoutKb}. */
export function parseCompact(text) {
  if (typeof text !== 'string' || !text) malformed('malformed', 'empty presentation');
  if (codePointLength(text) > MAX_PRESENTATION_LENGTH) malformed('payload_too_large', 'presentation too long');
  if (!COMPACT.test(text)) malformed('malformed', 'characters outside the compact SD-JWT alphabet');
  const parts = text.split('~');
  if (parts.length < 2) malformed('malformed', "an SD-JWT ends with '~' or a key-binding JWT");
  const issuerJwt = parts[0];
  const middle = parts.slice(1, -1);
  const last = parts[parts.length - 1];
  if (middle.length > MAX_DISCLOSURES) malformed('payload_too_large', 'too many disclosures');
  if (middle.some((d) => !d)) malformed('malformed', "empty disclosure ('~~')");
  if (middle.some((d) => d.includes('.'))) malformed('malformed', 'a JWT where a disclosure belongs');
  const dots = (s) => s.split('.').length - 1;
  if (dots(issuerJwt) !== 2 || (last && dots(last) !== 2)) malformed('malformed', 'issuer JWT or KB-JWT is not a compact JWS');
  return {
    issuerJwt, disclosures: middle, kbJwt: last || null,
    withoutKb: [issuerJwt, '~', ...middle.map((d) => `${d}~`)].join(''),
  };
}

/** credcore.verify.parse_input: a scanned QR text ("PT1:…") or a compact SD-JWT, Python-stripped. */
export async function parseInput(input) {
  if (typeof input !== 'string') malformed('malformed', 'input must be text');
  let text = input.replace(STRIP, '');
  if (text.startsWith(PREFIX) || text.toUpperCase().startsWith(PREFIX.slice(0, 2))) text = await decodePt1(text);
  return parseCompact(text);
}

/** credcore.disclosure.parse_disclosure: {text, salt, name (null for an array element), value}. */
export function parseDisclosure(text) {
  if (codePointLength(text) > MAX_DISCLOSURE_LENGTH) disclosureInvalid('payload_too_large', 'disclosure too long');
  let array;
  try {
    array = parseStrict(b64urlDecode(text));
  } catch (error) {
    if (!(error instanceof FormatError)) throw error;
    disclosureInvalid(error.code === 'payload_too_large' ? 'payload_too_large' : 'disclosure_invalid', 'not base64url JSON');
  }
  if (!Array.isArray(array) || (array.length !== 2 && array.length !== 3)) disclosureInvalid('disclosure_invalid', 'not 2 or 3 elements');
  if (typeof array[0] !== 'string') disclosureInvalid('disclosure_invalid', 'salt must be a string');
  if (array.length === 2) return { text, salt: array[0], name: null, value: array[1] };
  if (typeof array[1] !== 'string') disclosureInvalid('disclosure_invalid', 'claim name must be a string');
  if (array[1] === '_sd' || array[1] === '...') disclosureInvalid('disclosure_reserved_name', 'reserved claim name');
  return { text, salt: array[0], name: array[1], value: array[2] };
}

/** credcore.sdjwt.sd_alg_of. */
export async function sdAlgOf(payload) {
  const sdAlg = payload.has('_sd_alg') ? payload.get('_sd_alg') : 'sha-256';
  await hashB64('', sdAlg);
  return sdAlg;
}

class Processor {
  constructor(byDigest) {
    this.byDigest = byDigest;
    this.seen = new Set();
    this.paths = new Map(); // disclosure text → claim path
  }

  note(digest) {
    if (this.seen.has(digest)) disclosureInvalid('digest_duplicate', 'a digest appears more than once');
    this.seen.add(digest);
    return this.byDigest.get(digest) || null;
  }

  walk(node, path) {
    if (path.length > MAX_DEPTH) malformed('payload_too_large', 'claims nested too deeply');
    if (node instanceof Map) return this.object(node, path);
    if (Array.isArray(node)) return this.array(node, path);
    return node;
  }

  object(node, path) {
    const out = new Map();
    for (const [name, value] of node) {
      if (name === '_sd') continue;
      if (name === '...' || (name === '_sd_alg' && path.length)) malformed('sd_structure_invalid', `${name} outside its place`);
      out.set(name, this.walk(value, [...path, name]));
    }
    const digests = node.has('_sd') ? node.get('_sd') : [];
    if (!Array.isArray(digests) || !digests.every((d) => typeof d === 'string')) {
      malformed('sd_structure_invalid', '_sd must be an array of strings');
    }
    for (const digest of digests) {
      const disclosure = this.note(digest);
      if (disclosure === null) continue;
      if (disclosure.name === null) disclosureInvalid('disclosure_arity', 'array-element disclosure referenced from _sd');
      if (out.has(disclosure.name)) disclosureInvalid('disclosure_collision', 'disclosed claim name already exists');
      this.paths.set(disclosure.text, [...path, disclosure.name]);
      out.set(disclosure.name, this.walk(disclosure.value, [...path, disclosure.name]));
    }
    return out;
  }

  array(node, path) {
    const out = [];
    node.forEach((element, index) => {
      if (element instanceof Map && element.has('...')) {
        if (element.size !== 1 || typeof element.get('...') !== 'string') {
          disclosureInvalid('disclosure_invalid', "array digest placeholder must be {'...': digest} only");
        }
        const disclosure = this.note(element.get('...'));
        if (disclosure === null) return;
        if (disclosure.name !== null) disclosureInvalid('disclosure_arity', 'object-property disclosure in an array');
        this.paths.set(disclosure.text, [...path, index]);
        out.push(this.walk(disclosure.value, [...path, index]));
      } else {
        out.push(this.walk(element, [...path, index]));
      }
    });
    return out;
  }
}

/** credcore.sdjwt.process_disclosures: {claims, paths}; aborts at the first violation. */
export async function processDisclosures(payload, disclosures) {
  const sdAlg = await sdAlgOf(payload);
  const byDigest = new Map();
  for (const text of disclosures) {
    const disclosure = parseDisclosure(text);
    const digest = await hashB64(disclosure.text, sdAlg);
    if (byDigest.has(digest)) disclosureInvalid('disclosure_duplicate', 'the same disclosure is presented twice');
    byDigest.set(digest, disclosure);
  }
  const processor = new Processor(byDigest);
  const claims = processor.walk(new Map([...payload].filter(([name]) => name !== '_sd_alg')), []);
  if (processor.paths.size !== byDigest.size) disclosureInvalid('disclosure_unreferenced', 'a disclosure is not referenced');
  return { claims, paths: processor.paths };
}

// SD-JWT VC as the holder handles it (RFC 9901 §7.2, standards.md §1–2): check what the issuer sent
// before storing it, read its claims, and build a presentation of chosen disclosures with a fresh
// key-binding JWT for the offline QR.
//
// Claim names and values come from the issuer and are untrusted: they live in Maps and arrays, never
// as keys of plain objects (security.md #39), and the UI only ever sets them as text.

import { FormatError, b64urlDecode, b64urlEncode, hashB64, randomBytes, utf8Decode } from './bytes.js';
import { own, parseJws, signEs256 } from './jose.js';

export const SD_JWT_VC_TYP = 'dc+sd-jwt';
export const OFFLINE_AUDIENCE = 'urn:puente:offline';
const COMPACT = /^[A-Za-z0-9_.~-]+$/;
const MAX_LENGTH = 48 * 1024;
const MAX_DISCLOSURES = 128;
const ALGS = new Set(['ES256', 'EdDSA']);

function fail(message, code) {
  throw new FormatError(message, code);
}

/** The parts of a compact SD-JWT: issuer JWT, disclosure texts, and the last part (KB-JWT or ''). */
export function splitCompact(text) {
  if (typeof text !== 'string' || !text || text.length > MAX_LENGTH || !COMPACT.test(text)) {
    fail('not a compact SD-JWT', 'malformed');
  }
  const parts = text.split('~');
  if (parts.length < 2) fail('an SD-JWT ends with "~"', 'malformed');
  const disclosures = parts.slice(1, -1);
  if (disclosures.length > MAX_DISCLOSURES) fail('too many disclosures', 'malformed');
  if (disclosures.some((d) => !d || d.includes('.'))) fail('empty or misplaced disclosure', 'malformed');
  return { issuerJwt: parts[0], disclosures, last: parts[parts.length - 1] };
}

/** One disclosure `[salt, name, value]` (object property); array-element disclosures are not used here. */
export function parseDisclosure(text) {
  let array;
  try {
    array = JSON.parse(utf8Decode(b64urlDecode(text)));
  } catch {
    fail('a disclosure is not base64url JSON', 'disclosure_invalid');
  }
  if (!Array.isArray(array) || array.length !== 3) fail('a disclosure is not [salt, name, value]', 'disclosure_invalid');
  const [salt, name, value] = array;
  if (typeof salt !== 'string' || typeof name !== 'string') fail('bad disclosure salt or name', 'disclosure_invalid');
  if (name === '_sd' || name === '...') fail('reserved claim name in a disclosure', 'disclosure_invalid');
  return { text, salt, name, value };
}

function sameKey(jwk, ours) {
  return jwk && typeof jwk === 'object' && !Array.isArray(jwk)
    && jwk.kty === ours.kty && jwk.crv === ours.crv && jwk.x === ours.x && jwk.y === ours.y;
}

/**
 * Check a credential just received from an issuer, before storing it: compact form without a KB-JWT
 * (#40), `typ: dc+sd-jwt`, an allowed `alg`, the expected `iss` and `vct`, `cnf.jwk` equal to our key,
 * not expired, and every disclosure well formed, unique and referenced from `_sd`. The issuer's
 * signature is checked separately (it needs the issuer's keys). Returns the parsed parts.
 */
export async function checkIssued(text, { issuer, vct, holderJwk, now }) {
  const { issuerJwt, disclosures, last } = splitCompact(text);
  if (last !== '') fail('the issuer sent a key-binding JWT', 'kb_present');
  let jws;
  try {
    jws = parseJws(issuerJwt);
  } catch {
    fail('the issuer JWT is not a compact JWS', 'malformed');
  }
  const { header, payload } = jws;
  if (header.typ !== SD_JWT_VC_TYP) fail('the credential is not typ dc+sd-jwt', 'typ_invalid');
  if (!ALGS.has(header.alg)) fail('signature algorithm not allowed', 'alg_not_allowed');
  if (payload.iss !== issuer) fail('the credential names another issuer', 'issuer_mismatch');
  if (vct !== undefined && payload.vct !== vct) fail('the credential is of another type', 'type_mismatch');
  if (!Number.isInteger(payload.exp) || payload.exp <= now) fail('the credential is expired', 'expired');
  if (!Number.isInteger(payload.iat)) fail('the credential has no iat', 'malformed');
  const cnf = payload.cnf;
  if (!cnf || typeof cnf !== 'object' || !sameKey(cnf.jwk, holderJwk)) fail('the credential is not bound to our key', 'cnf_mismatch');
  if (own(payload, '_sd_alg') && payload._sd_alg !== 'sha-256') fail('unsupported _sd_alg', 'alg_not_allowed');
  const digests = own(payload, '_sd') ? payload._sd : [];
  if (!Array.isArray(digests) || digests.some((d) => typeof d !== 'string')) fail('_sd is not an array of strings', 'malformed');
  const unused = new Set(digests);
  if (unused.size !== digests.length) fail('a digest appears twice', 'disclosure_invalid');
  const names = new Set();
  const parsed = [];
  for (const disclosureText of disclosures) {
    const disclosure = parseDisclosure(disclosureText);
    const digest = await hashB64(disclosureText);
    if (!unused.delete(digest)) fail('a disclosure is not referenced by the credential', 'disclosure_invalid');
    if (own(payload, disclosure.name) || names.has(disclosure.name)) fail('a disclosed claim name repeats', 'disclosure_invalid');
    names.add(disclosure.name);
    parsed.push(disclosure);
  }
  return { jws, payload, disclosures: parsed };
}

/** The issuer-signed payload (not verified: used for display of a credential already checked). */
export function payloadOf(text) {
  return parseJws(splitCompact(text).issuerJwt).payload;
}

/** The selectively disclosable claims, in issuance order: [{name, value}]. */
export function disclosedClaims(text) {
  return splitCompact(text).disclosures.map(parseDisclosure).map(({ name, value }) => ({ name, value }));
}

/**
 * A presentation: the issuer JWT, the chosen disclosures in issuance order and a KB-JWT
 * `{iat, aud, nonce, sd_hash}` signed with the holder key. The offline QR uses the audience
 * "urn:puente:offline" and 16 random bytes as nonce; OpenID4VP the verifier's client_id and nonce.
 */
export async function present(text, chosenNames, privateKey, now, { aud = OFFLINE_AUDIENCE, nonce = null } = {}) {
  const { issuerJwt, disclosures } = splitCompact(text);
  const chosen = disclosures.filter((d) => chosenNames.has(parseDisclosure(d).name));
  const presented = [issuerJwt, ...chosen].join('~') + '~';
  const payload = { iat: now, aud, nonce: nonce ?? b64urlEncode(randomBytes(16)), sd_hash: await hashB64(presented) };
  return presented + (await signEs256(privateKey, { typ: 'kb+jwt' }, payload));
}

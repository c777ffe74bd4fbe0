// SD-JWT VC on the holder's side (RFC 9901 §7.2, standards.md §1–2): check what the issuer sent
// before storing it, read its claims, select disclosures and build a presentation with a fresh
// key-binding JWT (the offline QR, OpenID4VP answers). Parsing and disclosure processing are the
// verifier's (verify/sdjwt.js, credcore's rules: strict JSON, the same limits, §7.1 processing), so
// the wallet stores only what the scanning page and the service would accept; this module adds the
// holder's own checks and gives the wallet plain values.
//
// Claim names and values come from the issuer and are untrusted: they live in Maps and arrays, never
// as keys of plain objects (security.md #39), and the UI only ever sets them as text.

import { FormatError, b64urlEncode, hashB64, randomBytes } from './bytes.js';
import { toPlain } from './json_strict.js';
import { own, parseJws, signEs256 } from './jose.js';
import { CredentialError } from './verify/errors.js';
import { parseCompact, parseDisclosure as parseVerifiedDisclosure, processDisclosures } from './verify/sdjwt.js';
import { parseJws as parseJwsStrict, claimsOf } from './verify/jose.js';

export const SD_JWT_VC_TYP = 'dc+sd-jwt';
export const OFFLINE_AUDIENCE = 'urn:puente:offline';
const ALGS = new Set(['ES256', 'EdDSA']);

function fail(message, code) {
  throw new FormatError(message, code);
}

/** The verifier's parsing, its errors as the wallet's FormatErrors with `code` (or the parser's size code). */
function asFormat(action, code) {
  try {
    return action();
  } catch (error) {
    if (error instanceof CredentialError) fail(error.message, error.code === 'payload_too_large' ? 'malformed' : code);
    throw error;
  }
}

/** The parts of a compact SD-JWT (verify/sdjwt.js parseCompact): issuer JWT, disclosure texts, and the last part (KB-JWT or ''). */
export function splitCompact(text) {
  const parts = asFormat(() => parseCompact(text), 'malformed');
  return { issuerJwt: parts.issuerJwt, disclosures: parts.disclosures, last: parts.kbJwt || '' };
}

/** One object-property disclosure `{text, salt, name, value}` (strict JSON; value as plain data, objects without prototype). */
export function parseDisclosure(text) {
  const disclosure = asFormat(() => parseVerifiedDisclosure(text), 'disclosure_invalid');
  if (disclosure.name === null) fail('an array-element disclosure where a claim belongs', 'disclosure_invalid');
  return { ...disclosure, value: toPlain(disclosure.value) };
}

function sameKey(jwk, ours) {
  return jwk && typeof jwk === 'object' && !Array.isArray(jwk)
    && jwk.kty === ours.kty && jwk.crv === ours.crv && jwk.x === ours.x && jwk.y === ours.y;
}

/**
 * Check a credential just received from an issuer, before storing it: compact form without a KB-JWT
 * (#40), `typ: dc+sd-jwt`, an allowed `alg`, the expected `iss` and `vct`, `cnf.jwk` equal to our key,
 * not expired, and the disclosures processed as a verifier does (RFC 9901 §7.1: each well formed,
 * unique, referenced exactly once, no name colliding). The issuer's signature is checked separately
 * (it needs the issuer's keys). Returns the parsed parts.
 */
export async function checkIssued(text, { issuer, vct, holderJwk, now }) {
  const { issuerJwt, disclosures, last } = splitCompact(text);
  if (last !== '') fail('the issuer sent a key-binding JWT', 'kb_present');
  let jws;
  let claims;
  try {
    jws = parseJws(issuerJwt);
    claims = claimsOf(parseJwsStrict(issuerJwt));
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
  if (own(payload, '_sd_alg') && payload._sd_alg !== 'sha-256') fail('unsupported _sd_alg', 'sd_alg_not_allowed');
  try {
    await processDisclosures(claims, disclosures);
  } catch (error) {
    if (error instanceof CredentialError || error instanceof FormatError) {
      fail(`disclosures rejected: ${error.message}`, error.code === 'sd_structure_invalid' ? 'malformed' : 'disclosure_invalid');
    }
    throw error;
  }
  return { jws, payload, disclosures: disclosures.map(parseDisclosure) };
}

/** The issuer-signed payload (not verified: used for display of a credential already checked). */
export function payloadOf(text) {
  return parseJws(splitCompact(text).issuerJwt).payload;
}

/** The selectively disclosable claims, in issuance order: [{name, value}]. */
export function disclosedClaims(text) {
  return splitCompact(text).disclosures.map(parseDisclosure).map(({ name, value }) => ({ name, value }));
}

/** The issuer JWT and the disclosures of the claims named in `chosenNames` (a Set), in issuance order, ending with '~'. */
export function selectDisclosures(text, chosenNames) {
  const { issuerJwt, disclosures } = splitCompact(text);
  const chosen = disclosures.filter((d) => chosenNames.has(parseDisclosure(d).name));
  return [issuerJwt, ...chosen].join('~') + '~';
}

/** A key-binding JWT (RFC 9901 §4.3) over the presented `withoutKb` text, signed with the holder's key. */
export async function signKeyBinding(withoutKb, privateKey, now, { aud = OFFLINE_AUDIENCE, nonce = null } = {}) {
  const payload = { iat: now, aud, nonce: nonce ?? b64urlEncode(randomBytes(16)), sd_hash: await hashB64(withoutKb) };
  return signEs256(privateKey, { typ: 'kb+jwt' }, payload);
}

/**
 * A presentation: the issuer JWT, the chosen disclosures in issuance order and a KB-JWT
 * `{iat, aud, nonce, sd_hash}` signed with the holder key. The offline QR uses the audience
 * "urn:puente:offline" and 16 random bytes as nonce; OpenID4VP the verifier's client_id and nonce.
 */
export async function present(text, chosenNames, privateKey, now, options = {}) {
  const presented = selectDisclosures(text, chosenNames);
  return presented + (await signKeyBinding(presented, privateKey, now, options));
}

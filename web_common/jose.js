// Compact JWS (RFC 7515) for the wallet: ES256 signing with the holder's non-extractable WebCrypto
// key, and verification of issuer signatures with keys the wallet fetched itself (never a key named
// by the token). Parsing and verification are the scanning page's (verify/jose.js, the core's rules:
// strict JSON, exact alg allow-list, the key's one algorithm), so both front ends check a JWS one
// way; this module gives the wallet plain objects. WebCrypto's ECDSA signature is raw r||s, as JWS ES256.

import { FormatError, ascii, b64urlDecode, b64urlEncode, utf8 } from './bytes.js';
import { parseObject, toPlain } from './json_strict.js';
import { CannotCheck, CredentialError } from './verify/errors.js';
import { publicKeyFromJwk, verifySignature } from './verify/jose.js';

const ES256 = { name: 'ECDSA', namedCurve: 'P-256' };
const ES256_SIGN = { name: 'ECDSA', hash: 'SHA-256' };
const MAX_TOKEN = 64 * 1024;

/** Strict JSON (json_strict.js) from UTF-8 bytes, which must be an object: a plain object without a prototype. */
export function parseJsonObject(bytes) {
  let value;
  try {
    value = parseObject(bytes);
  } catch {
    throw new FormatError('not a JSON object');
  }
  return toPlain(value);
}

export const own = (object, name) => Object.prototype.hasOwnProperty.call(object, name);

export function parseJws(token) {
  if (typeof token !== 'string' || token.length > MAX_TOKEN) throw new FormatError('not a compact JWS');
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !p)) throw new FormatError('not a compact JWS');
  return {
    header: parseJsonObject(b64urlDecode(parts[0])),
    payload: parseJsonObject(b64urlDecode(parts[1])),
    signature: b64urlDecode(parts[2]),
    signingInput: ascii(`${parts[0]}.${parts[1]}`),
  };
}

const encodeJson = (value) => b64urlEncode(utf8(JSON.stringify(value)));

/** A compact JWS over `payload` (an object, serialized compactly in its key order). */
export async function signEs256(privateKey, header, payload) {
  const input = `${encodeJson({ alg: 'ES256', ...header })}.${encodeJson(payload)}`;
  const signature = new Uint8Array(await crypto.subtle.sign(ES256_SIGN, privateKey, ascii(input)));
  return `${input}.${b64urlEncode(signature)}`;
}

export async function generateHolderKey() {
  // Non-extractable: script can use the private key while the wallet runs, never read it (security.md #122).
  const pair = await crypto.subtle.generateKey(ES256, false, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  return { privateKey: pair.privateKey, publicJwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } };
}

/**
 * Verify a parsed JWS with one of `keys` (a JWKS `keys` array): the key is chosen by the header's
 * `kid`, imported and checked as the scanning page does (verify/jose.js: no private member, its alg
 * must fit, the header alg must be the key's). Returns true, false, or null when this browser
 * cannot check that algorithm.
 */
export async function verifyWithKeys(jws, keys) {
  const { alg, kid } = jws.header;
  if (typeof alg !== 'string' || typeof kid !== 'string' || !Array.isArray(keys)) return false;
  const jwk = keys.find((k) => k && typeof k === 'object' && k.kid === kid);
  if (!jwk) return false;
  try {
    const key = await publicKeyFromJwk(parseObject(JSON.stringify(jwk)), true);
    await verifySignature({ header: new Map([['alg', alg]]), signature: jws.signature, signingInput: jws.signingInput }, key);
    return true;
  } catch (error) {
    if (error instanceof CannotCheck) return null;
    if (error instanceof CredentialError || error instanceof FormatError) return false;
    throw error;
  }
}

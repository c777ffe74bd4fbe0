// Compact JWS (RFC 7515) for the wallet: ES256 signing with the holder's non-extractable WebCrypto
// key, and strict verification of issuer signatures with keys the wallet fetched itself (never a key
// named by the token). WebCrypto's ECDSA signature is raw r||s, which is exactly JWS ES256.

import { FormatError, ascii, b64urlDecode, b64urlEncode, utf8, utf8Decode } from './bytes.js';

const ES256 = { name: 'ECDSA', namedCurve: 'P-256' };
const ES256_SIGN = { name: 'ECDSA', hash: 'SHA-256' };
const MAX_TOKEN = 64 * 1024;

/** JSON from UTF-8 bytes, which must be an object; objects come back as they are parsed (untrusted). */
export function parseJsonObject(bytes) {
  let value;
  try {
    value = JSON.parse(utf8Decode(bytes));
  } catch {
    throw new FormatError('not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FormatError('not a JSON object');
  return value;
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

function publicJwkAlgorithm(jwk) {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.x === 'string' && typeof jwk.y === 'string') {
    return { alg: 'ES256', importAlg: ES256, verifyAlg: ES256_SIGN, clean: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } };
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string') {
    return { alg: 'EdDSA', importAlg: { name: 'Ed25519' }, verifyAlg: { name: 'Ed25519' }, clean: { kty: 'OKP', crv: 'Ed25519', x: jwk.x } };
  }
  return null;
}

/**
 * Verify a parsed JWS with one of `keys` (a JWKS `keys` array): the key is chosen by the header's
 * `kid`, its algorithm must equal the header's `alg` (never `none`, never HMAC), and a private key
 * member disqualifies it. Returns true, false, or null when this browser cannot check that algorithm.
 */
export async function verifyWithKeys(jws, keys) {
  const { alg, kid } = jws.header;
  if (typeof alg !== 'string' || typeof kid !== 'string' || !Array.isArray(keys)) return false;
  const jwk = keys.find((k) => k && typeof k === 'object' && k.kid === kid);
  if (!jwk || own(jwk, 'd')) return false;
  const kind = publicJwkAlgorithm(jwk);
  if (!kind || kind.alg !== alg || (jwk.alg !== undefined && jwk.alg !== alg)) return false;
  let key;
  try {
    key = await crypto.subtle.importKey('jwk', kind.clean, kind.importAlg, false, ['verify']);
  } catch (error) {
    return error && error.name === 'NotSupportedError' ? null : false;
  }
  return crypto.subtle.verify(kind.verifyAlg, key, jws.signature, jws.signingInput);
}

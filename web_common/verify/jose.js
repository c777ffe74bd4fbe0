// Compact JWS and JWK as credcore.jws and credcore.keys check them, with WebCrypto doing the maths.
// Keys come only from the caller (the trust list, the credential's cnf), never from a token header;
// the algorithm allow-list is exact and the header alg must be the key's one algorithm.

import { ascii, b64urlDecode, b64urlEncode, sha256, utf8 } from '../bytes.js';
import { parseObject } from '../json_strict.js';
import { CannotCheck, codePointLength, malformed, signatureInvalid } from './errors.js';

export const ALGORITHMS = ['ES256', 'EdDSA'];
const MAX_TOKEN_LENGTH = 64 * 1024;
const SIGNATURE_SIZE = 64;
const IMPORT = { ES256: { name: 'ECDSA', namedCurve: 'P-256' }, EdDSA: { name: 'Ed25519' } };
const VERIFY = { ES256: { name: 'ECDSA', hash: 'SHA-256' }, EdDSA: { name: 'Ed25519' } };

/** credcore.jws.parse: split and decode strictly; no signature check yet. */
export function parseJws(text) {
  if (typeof text !== 'string' || !text) malformed('malformed', 'empty token');
  if (text.length > MAX_TOKEN_LENGTH && codePointLength(text) > MAX_TOKEN_LENGTH) {
    malformed('payload_too_large', 'token too long');
  }
  const parts = text.split('.');
  if (parts.length !== 3) malformed('malformed', 'a compact JWS has exactly three parts');
  if (!parts.every(Boolean)) malformed('malformed', 'empty JWS part');
  const header = parseObject(b64urlDecode(parts[0]), 'JOSE header is not a JSON object');
  return {
    text,
    header,
    payload: b64urlDecode(parts[1]),
    signature: b64urlDecode(parts[2]),
    signingInput: ascii(`${parts[0]}.${parts[1]}`),
  };
}

/** credcore.jws.parse_header_only. */
export function parseHeaderOnly(text) {
  if (typeof text !== 'string' || text.split('.').length !== 3 || codePointLength(text) > MAX_TOKEN_LENGTH) {
    malformed('malformed', 'not a compact JWS');
  }
  return { text, header: parseObject(b64urlDecode(text.split('.', 1)[0]), 'JOSE header is not a JSON object') };
}

/** The payload as a strict JSON object (a Map). */
export const claimsOf = (jws) => parseObject(jws.payload, 'JWT payload is not a JSON object');

/** credcore.keys.valid_kid: 1 to 1024 printable ASCII characters (RFC 7517 lets a kid be any string). */
export const validKid = (kid) => typeof kid === 'string' && kid.length > 0 && kid.length <= 1024 && /^[ -~]+$/.test(kid);

/** credcore.jws.check_header: alg allow-list, no crit, typ, a valid kid if there is one. */
export function checkHeader(jws, typs) {
  const { header } = jws;
  const alg = header.get('alg');
  if (typeof alg !== 'string' || !ALGORITHMS.includes(alg)) signatureInvalid('alg_not_allowed', 'algorithm not allowed');
  if (header.has('crit')) malformed('crit_unsupported', 'critical header extensions are not supported');
  if (!typs.includes(header.get('typ'))) malformed('type_invalid', `token type must be ${typs[0]}`);
  if (header.has('kid') && !validKid(header.get('kid'))) {
    malformed('kid_invalid', 'kid must be 1 to 1024 printable ASCII characters');
  }
  return alg;
}

async function thumbprint(members) {
  const canonical = members.kty === 'EC'
    ? `{"crv":"P-256","kty":"EC","x":"${members.x}","y":"${members.y}"}`
    : `{"crv":"Ed25519","kty":"OKP","x":"${members.x}"}`;
  return b64urlEncode(await sha256(utf8(canonical)));
}

function coordinate(jwk, name) {
  const value = jwk.get(name);
  if (typeof value !== 'string') malformed('jwk_invalid', `JWK member ${name} missing`);
  if (b64urlDecode(value).length !== 32) malformed('jwk_invalid', `JWK member ${name} has the wrong length`);
  return value;
}

/** A CryptoKey, or null when this browser lacks the algorithm (Ed25519 in older browsers). */
async function importPublic(alg, members) {
  try {
    return await crypto.subtle.importKey('jwk', members, IMPORT[alg], false, ['verify']);
  } catch (error) {
    if (error && error.name === 'NotSupportedError') return null;
    return malformed('jwk_invalid', 'JWK is not a valid public key');
  }
}

/**
 * credcore.keys.public_key_from_jwk for a JWK given as a Map: {alg, kid, key (a CryptoKey, or null
 * when this browser cannot check that algorithm: verifying with it is then CannotCheck, never a verdict)}.
 * Private members, other curves, an alg that does not fit and a kid that is not the thumbprint are refused;
 * `keepKid` (an accredited institution's keys) keeps the JWK's own kid instead.
 */
export async function publicKeyFromJwk(jwk, keepKid = false) {
  if (!(jwk instanceof Map)) malformed('jwk_invalid', 'JWK must be an object');
  if (jwk.has('d')) malformed('jwk_private', 'JWK carries a private key');
  let alg;
  let members;
  if (jwk.get('kty') === 'EC' && jwk.get('crv') === 'P-256') {
    alg = 'ES256';
    members = { kty: 'EC', crv: 'P-256', x: coordinate(jwk, 'x'), y: coordinate(jwk, 'y') };
  } else if (jwk.get('kty') === 'OKP' && jwk.get('crv') === 'Ed25519') {
    alg = 'EdDSA';
    members = { kty: 'OKP', crv: 'Ed25519', x: coordinate(jwk, 'x') };
  } else {
    malformed('jwk_invalid', 'unsupported JWK key type or curve');
  }
  const key = await importPublic(alg, members);
  if (jwk.has('alg') && jwk.get('alg') !== alg) malformed('key_unsupported', 'JWK alg does not match its key type');
  if (keepKid && jwk.has('kid')) {
    if (!validKid(jwk.get('kid'))) malformed('kid_invalid', 'JWK kid must be 1 to 1024 printable ASCII characters');
    return { alg, kid: jwk.get('kid'), key };
  }
  const kid = await thumbprint(members);
  if (jwk.has('kid') && jwk.get('kid') !== kid) malformed('jwk_invalid', 'JWK kid is not its RFC 7638 thumbprint');
  return { alg, kid, key };
}

/** credcore.jws.verify_signature: the header alg must be the key's; 64-byte signatures only. */
export async function verifySignature(jws, publicKey) {
  if (jws.header.get('alg') !== publicKey.alg) signatureInvalid('alg_not_allowed', 'algorithm does not match the key');
  if (jws.signature.length !== SIGNATURE_SIZE) signatureInvalid('signature_invalid', 'signature has the wrong length');
  if (publicKey.key === null) throw new CannotCheck(`${publicKey.alg} signatures cannot be checked in this browser`);
  let ok;
  try {
    ok = await crypto.subtle.verify(VERIFY[publicKey.alg], publicKey.key, jws.signature, jws.signingInput);
  } catch {
    ok = false;
  }
  if (!ok) signatureInvalid('signature_invalid', 'signature does not verify');
}

/** credcore.jws.verify: parse, check the header, resolve the key, verify. */
export async function verifyJws(text, typs, resolveKey) {
  const jws = parseJws(text);
  checkHeader(jws, typs);
  await verifySignature(jws, await resolveKey(jws));
  return jws;
}

// OpenID for Verifiable Presentations 1.0 (standards.md §5), the cross-device flow a bank or an
// employer starts with an `openid4vp://` QR: read the request (its object by reference or by value,
// or its parameters in the QR for an unsigned redirect_uri: client), check who asks,
// match the DCQL query against the profile's credentials, and after the holder's consent send the
// presentations, each with a KB-JWT bound to the client_id and the request's nonce (security.md #43,
// #44, #127). Who asks:
// - `x509_hash:` (HAIP): the request is signed; the leaf certificate in its x5c must hash to the
//   client id and its key must verify the signature; the wallet shows the organisation the
//   certificate names. The answer is encrypted (direct_post.jwt, ECDH-ES) when the request asks.
// - `redirect_uri:`: unsigned; the verifier is whoever answers at its https response_uri, so the
//   wallet shows that host and nothing more flattering.

import { b64urlDecode, b64urlEncode, utf8 } from '../common/bytes.js';
import { parseJsonObject } from '../common/jose.js';
import { NetError, request, requestJson, safeUrl } from './net.js';
import { disclosedClaims, payloadOf } from '../common/sdjwt.js';

const SCHEME = 'openid4vp:';
const CLIENT_PREFIX = 'redirect_uri:';
const HASH_PREFIX = 'x509_hash:';
const REQUEST_TYP = 'oauth-authz-req+jwt';

export class RequestError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

const MAX_BY_VALUE = 16 * 1024;
const PLAIN = ['client_id', 'response_type', 'response_mode', 'response_uri', 'nonce', 'state', 'dcql_query',
  'client_metadata'];

/**
 * An `openid4vp://` link → {clientId, requestUri} (the request object by reference), {clientId,
 * request} (the request object by value, RFC 9101 `request`), or {clientId, parameters} (the
 * authorization request's parameters themselves, OpenID4VP 1.0 §5); null if it is not one. Each
 * parameter at most once, and never both `request` and `request_uri`.
 */
export function parseRequestLink(text) {
  let url;
  try {
    url = new URL(String(text || '').trim());
  } catch {
    return null;
  }
  if (url.protocol !== SCHEME) return null;
  if (url.href.length > MAX_BY_VALUE) throw new RequestError('bad_request');
  const names = [...url.searchParams.keys()];
  if (new Set(names).size !== names.length) throw new RequestError('bad_request');
  const get = (name) => url.searchParams.get(name);
  const clientId = get('client_id');
  if (!clientId) throw new RequestError('bad_request');
  if (get('request_uri') !== null && get('request') !== null) throw new RequestError('bad_request');
  if (get('request_uri') !== null) {
    const requestUri = safeUrl(get('request_uri'));
    if (!requestUri) throw new RequestError('unsafe_url');
    return { clientId, requestUri: requestUri.href };
  }
  if (get('request') !== null) return { clientId, request: get('request') };
  const parameters = {};
  for (const name of PLAIN) if (get(name) !== null) parameters[name] = get(name);
  return { clientId, parameters };
}

/** The authorization request's parameters from the link itself (JSON-valued ones parsed strictly). */
function plainRequest(parameters) {
  const object = { ...parameters };
  for (const name of ['dcql_query', 'client_metadata']) {
    if (object[name] === undefined) continue;
    try {
      object[name] = parseJsonObject(utf8(object[name]));
    } catch {
      throw new RequestError('bad_request');
    }
  }
  return object;
}

function jwtParts(text) {
  const parts = String(text).trim().split('.');
  if (parts.length !== 3) throw new RequestError('bad_request');
  try {
    return { parts, header: parseJsonObject(b64urlDecode(parts[0])), payload: parseJsonObject(b64urlDecode(parts[1])) };
  } catch {
    throw new RequestError('bad_request');
  }
}

/** A request signed under the x509_hash prefix: the certificate is the one the client id pins and
 * its key signed the request. Returns the organisation (else common name) the certificate names. */
async function checkX509Hash({ parts, header }, clientId) {
  if (header.alg !== 'ES256' || header.typ !== REQUEST_TYP || !Array.isArray(header.x5c) || !header.x5c.length) {
    throw new RequestError('bad_request');
  }
  const { base64Decode, parseCertificate } = await import('../common/x509.js'); // only for signed requests: not in the first visit
  let der;
  let cert;
  try {
    der = base64Decode(header.x5c[0]);
    cert = parseCertificate(der);
  } catch {
    throw new RequestError('bad_request');
  }
  const digest = b64urlEncode(new Uint8Array(await crypto.subtle.digest('SHA-256', der)));
  if (clientId !== HASH_PREFIX + digest) throw new RequestError('request_forged');
  let verified = false;
  try {
    const key = await crypto.subtle.importKey('spki', cert.spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    verified = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, b64urlDecode(parts[2]),
      utf8(`${parts[0]}.${parts[1]}`));
  } catch {
    verified = false;
  }
  if (!verified) throw new RequestError('request_forged');
  return cert.organization || cert.commonName || null;
}

/** The verifier's own name for itself, in the holder's language (client_metadata.client_name#es/#en). */
function displayNames(metadata) {
  const text = (value) => (typeof value === 'string' && value.trim() ? value.trim().slice(0, 100) : null);
  return { es: text(metadata['client_name#es']) || text(metadata.client_name), en: text(metadata['client_name#en']) || text(metadata.client_name) };
}

/** Fetch and check the request object; returns what the consent screen and the answer need. */
export async function fetchRequest(link) {
  // The request object by reference, by value (`request`), or no request object at all: the
  // parameters in the link, which only an unsigned client (redirect_uri:) may use (§5.9.3: its
  // requests cannot be signed; a client that can sign must, or anyone could speak for it).
  let jwt = null;
  let object;
  if (link.requestUri) {
    const { status, text } = await request(link.requestUri, { headers: { Accept: 'application/oauth-authz-req+jwt' } });
    if (status !== 200) throw new RequestError('request_gone');
    jwt = jwtParts(text);
  } else if (typeof link.request === 'string') {
    jwt = jwtParts(link.request);
  }
  if (jwt) object = jwt.payload;
  else if (link.parameters && link.clientId.startsWith(CLIENT_PREFIX)) object = plainRequest(link.parameters);
  else if (link.parameters && link.clientId.startsWith(HASH_PREFIX)) throw new RequestError('bad_request');
  else if (link.parameters) throw new RequestError('client_unsupported');
  else throw new RequestError('bad_request');
  const responseUri = safeUrl(object.response_uri);
  if (!object.client_id || object.client_id !== link.clientId) throw new RequestError('bad_request');
  let certifiedName = null;
  if (link.clientId.startsWith(HASH_PREFIX)) {
    certifiedName = await checkX509Hash(jwt, link.clientId);
  } else if (link.clientId.startsWith(CLIENT_PREFIX)) {
    if (jwt && (jwt.parts[2] !== '' || jwt.header.alg !== 'none' || jwt.header.typ !== REQUEST_TYP)) throw new RequestError('bad_request');
    if (!responseUri || object.client_id !== CLIENT_PREFIX + object.response_uri) throw new RequestError('bad_request');
  } else {
    throw new RequestError('client_unsupported');
  }
  // By reference, the answer goes back where the request came from; by value, the client id names
  // the response URI (redirect_uri:) or the certificate vouches for the request (x509_hash:).
  if (!responseUri || (link.requestUri && responseUri.origin !== new URL(link.requestUri).origin)) {
    throw new RequestError('bad_request');
  }
  const mode = object.response_mode;
  if (object.response_type !== 'vp_token' || !['direct_post', 'direct_post.jwt'].includes(mode)) throw new RequestError('bad_request');
  if (typeof object.nonce !== 'string' || !object.nonce || typeof object.state !== 'string') throw new RequestError('bad_request');
  if (Number.isInteger(object.exp) && object.exp < Date.now() / 1000) throw new RequestError('request_gone');
  if (!isObject(object.dcql_query) || !Array.isArray(object.dcql_query.credentials)) throw new RequestError('bad_request');
  const metadata = isObject(object.client_metadata) ? object.client_metadata : {};
  let encryption = null;
  if (mode === 'direct_post.jwt') {
    const keys = isObject(metadata.jwks) && Array.isArray(metadata.jwks.keys) ? metadata.jwks.keys : [];
    const jwk = keys.find((k) => isObject(k) && k.kty === 'EC' && k.crv === 'P-256' && (k.alg || 'ECDH-ES') === 'ECDH-ES'
      && (k.use || 'enc') === 'enc');
    const offered = Array.isArray(metadata.encrypted_response_enc_values_supported)
      ? metadata.encrypted_response_enc_values_supported : ['A128GCM'];
    const enc = ['A128GCM', 'A256GCM'].find((e) => offered.includes(e));
    if (!jwk || !enc) throw new RequestError('bad_request');
    encryption = { jwk, enc };
  }
  return {
    clientId: object.client_id, responseUri: responseUri.href, host: responseUri.host, certifiedName,
    names: displayNames(metadata), nonce: object.nonce, state: object.state, query: object.dcql_query, encryption,
  };
}

/** RFC 7518 §4.6: ECDH-ES (direct key agreement, Concat KDF with SHA-256) and AES-GCM, as a compact JWE. */
export async function encryptResponse(parameters, { jwk, enc }) {
  const bits = enc === 'A256GCM' ? 256 : 128;
  const recipient = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, { name: 'ECDH', namedCurve: 'P-256' },
    false, []);
  const ephemeral = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: recipient }, ephemeral.privateKey, 256));
  const epk = await crypto.subtle.exportKey('jwk', ephemeral.publicKey);
  const header = { alg: 'ECDH-ES', enc, epk: { kty: 'EC', crv: 'P-256', x: epk.x, y: epk.y }, ...(jwk.kid ? { kid: jwk.kid } : {}) };
  const protectedHeader = b64urlEncode(utf8(JSON.stringify(header)));
  const u32 = (n) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const algId = utf8(enc);
  const info = [u32(1), shared, u32(algId.length), algId, u32(0), u32(0), u32(bits)];
  const kdfInput = new Uint8Array(info.reduce((n, part) => n + part.length, 0));
  info.reduce((at, part) => { kdfInput.set(part, at); return at + part.length; }, 0);
  const cek = (new Uint8Array(await crypto.subtle.digest('SHA-256', kdfInput))).slice(0, bits / 8);
  const key = await crypto.subtle.importKey('raw', cek, 'AES-GCM', false, ['encrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(protectedHeader), tagLength: 128 },
    key, utf8(JSON.stringify(parameters))));
  return [protectedHeader, '', b64urlEncode(iv), b64urlEncode(sealed.slice(0, -16)), b64urlEncode(sealed.slice(-16))].join('.');
}

// ---------------------------------------------------------------------------- DCQL (OpenID4VP §6)

function claimFits(claim, claims) {
  if (!isObject(claim) || !Array.isArray(claim.path) || claim.path.length !== 1 || typeof claim.path[0] !== 'string') return false;
  const name = claim.path[0];
  if (!claims.has(name)) return false;
  return !Array.isArray(claim.values) || claim.values.includes(claims.get(name));
}

/** The claim names this credential would disclose for query `cq`, or null when it cannot answer it. */
function answerWith(cq, credential) {
  let payload;
  let claims;
  try {
    payload = payloadOf(credential.sdJwt);
    claims = new Map(disclosedClaims(credential.sdJwt).map((c) => [c.name, c.value]));
  } catch {
    return null;
  }
  const vcts = isObject(cq.meta) && Array.isArray(cq.meta.vct_values) ? cq.meta.vct_values : null;
  if (cq.format !== 'dc+sd-jwt' || !vcts || !vcts.includes(payload.vct)) return null;
  const wanted = Array.isArray(cq.claims) ? cq.claims : [];
  if (!Array.isArray(cq.claim_sets)) return wanted.every((c) => claimFits(c, claims)) ? wanted.map((c) => c.path[0]) : null;
  const byId = new Map(wanted.filter((c) => isObject(c) && typeof c.id === 'string').map((c) => [c.id, c]));
  for (const option of cq.claim_sets) {
    const chosen = Array.isArray(option) ? option.map((id) => byId.get(id)) : [undefined];
    if (chosen.every((c) => c && claimFits(c, claims))) return chosen.map((c) => c.path[0]);
  }
  return null;
}

/**
 * Match the query against the profile's credentials (expired, revoked and suspended ones excluded):
 * [{queryId, names, candidates: [credential]}] for the credential queries to answer, or null when the
 * request cannot be satisfied. Optional credential sets are left out (show the least).
 */
export function matchQuery(query, credentials, usable) {
  const matches = new Map();
  for (const cq of query.credentials) {
    if (!isObject(cq) || typeof cq.id !== 'string') return null;
    const candidates = [];
    let names = null;
    for (const credential of credentials.filter(usable)) {
      const answer = answerWith(cq, credential);
      if (answer) {
        candidates.push(credential);
        names ||= answer;
      }
    }
    if (candidates.length) matches.set(cq.id, { queryId: cq.id, names, candidates });
  }
  let needed = query.credentials.map((cq) => cq.id);
  if (Array.isArray(query.credential_sets)) {
    needed = [];
    for (const set of query.credential_sets) {
      if (!isObject(set) || !Array.isArray(set.options)) return null;
      const option = set.options.find((ids) => Array.isArray(ids) && ids.every((id) => matches.has(id)));
      if (option) {
        if (set.required !== false) needed.push(...option);
      } else if (set.required !== false) {
        return null;
      }
    }
  }
  if (!needed.every((id) => matches.has(id))) return null;
  return [...new Set(needed)].map((id) => matches.get(id));
}

/** direct_post the answer (vp_token) or a refusal (error=access_denied); encrypted (direct_post.jwt)
 * to the request's key when it asked for that. */
export async function answer(prepared, vpToken) {
  const parameters = vpToken ? { vp_token: vpToken, state: prepared.state }
    : { error: 'access_denied', error_description: 'the holder declined', state: prepared.state };
  const form = new URLSearchParams(prepared.encryption
    ? { response: await encryptResponse(parameters, prepared.encryption) }
    : { ...parameters, ...(vpToken ? { vp_token: JSON.stringify(vpToken) } : {}) });
  try {
    await requestJson(prepared.responseUri, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(),
    });
  } catch (error) {
    throw error instanceof NetError && error.code !== 'http' ? error : new RequestError('answer_refused');
  }
}


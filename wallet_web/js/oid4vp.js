// OpenID for Verifiable Presentations 1.0 (standards.md §5), the cross-device flow a bank or an
// employer starts with an `openid4vp://` QR: fetch the request object by reference, check who asks
// (client_id prefix `redirect_uri:`: the verifier is whoever answers at its https response_uri, so
// the wallet shows that host and nothing more flattering), match the DCQL query against the profile's
// credentials, and after the holder's consent `direct_post` the presentations, each with a KB-JWT
// bound to the client_id and the request's nonce (security.md #43, #44, #127).

import { b64urlDecode } from '../common/bytes.js';
import { parseJsonObject } from '../common/jose.js';
import { NetError, request, requestJson, safeUrl } from './net.js';
import { disclosedClaims, payloadOf } from '../common/sdjwt.js';

const SCHEME = 'openid4vp:';
const CLIENT_PREFIX = 'redirect_uri:';
const REQUEST_TYP = 'oauth-authz-req+jwt';

export class RequestError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/** `openid4vp://?client_id=…&request_uri=…` → {clientId, requestUri}, or null if it is not one. */
export function parseRequestLink(text) {
  let url;
  try {
    url = new URL(String(text || '').trim());
  } catch {
    return null;
  }
  if (url.protocol !== SCHEME) return null;
  const clientIds = url.searchParams.getAll('client_id');
  const requestUris = url.searchParams.getAll('request_uri');
  if (clientIds.length !== 1 || requestUris.length !== 1) throw new RequestError('request_by_value');
  const requestUri = safeUrl(requestUris[0]);
  if (!requestUri) throw new RequestError('unsafe_url');
  return { clientId: clientIds[0], requestUri: requestUri.href };
}

function unsecuredJwt(text) {
  const parts = String(text).trim().split('.');
  if (parts.length !== 3 || parts[2] !== '') throw new RequestError('request_signed'); // only unsigned redirect_uri requests
  let header;
  let payload;
  try {
    header = parseJsonObject(b64urlDecode(parts[0]));
    payload = parseJsonObject(b64urlDecode(parts[1]));
  } catch {
    throw new RequestError('bad_request');
  }
  if (header.alg !== 'none' || header.typ !== REQUEST_TYP) throw new RequestError('bad_request');
  return payload;
}

/** Fetch and check the request object; returns what the consent screen and the answer need. */
export async function fetchRequest(link) {
  const { status, text } = await request(link.requestUri, { headers: { Accept: 'application/oauth-authz-req+jwt' } });
  if (status !== 200) throw new RequestError('request_gone');
  const object = unsecuredJwt(text);
  const responseUri = safeUrl(object.response_uri);
  if (!object.client_id || object.client_id !== link.clientId) throw new RequestError('bad_request');
  if (!link.clientId.startsWith(CLIENT_PREFIX)) throw new RequestError('client_unsupported');
  if (!responseUri || object.client_id !== CLIENT_PREFIX + object.response_uri
      || responseUri.origin !== new URL(link.requestUri).origin) throw new RequestError('bad_request');
  if (object.response_type !== 'vp_token' || object.response_mode !== 'direct_post') throw new RequestError('bad_request');
  if (typeof object.nonce !== 'string' || !object.nonce || typeof object.state !== 'string') throw new RequestError('bad_request');
  if (Number.isInteger(object.exp) && object.exp < Date.now() / 1000) throw new RequestError('request_gone');
  if (!isObject(object.dcql_query) || !Array.isArray(object.dcql_query.credentials)) throw new RequestError('bad_request');
  return {
    clientId: object.client_id, responseUri: responseUri.href, host: responseUri.host,
    nonce: object.nonce, state: object.state, query: object.dcql_query,
  };
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

/** direct_post the answer (vp_token) or a refusal (error=access_denied). */
export async function answer(prepared, vpToken) {
  const form = new URLSearchParams(vpToken ? { vp_token: JSON.stringify(vpToken), state: prepared.state }
    : { error: 'access_denied', error_description: 'the holder declined', state: prepared.state });
  try {
    await requestJson(prepared.responseUri, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(),
    });
  } catch (error) {
    throw error instanceof NetError && error.code !== 'http' ? error : new RequestError('answer_refused');
  }
}


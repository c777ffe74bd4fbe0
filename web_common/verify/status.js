// Token Status List (statuslist+jwt) as credcore.status_list verifies it: signed by a key the trust
// list gives the credential's issuer, for exactly this list (sub), still vouching (exp, or a day from
// iat without one), 1/2/4/8 bits LSB-first, inflation capped. Any defect is status_unavailable, never
// valid; the status itself is valid, revoked or suspended.

import { b64urlDecode } from '../bytes.js';
import { inflateAll } from '../inflate.js';
import { CredentialError, asCredentialError, revoked, statusUnavailable, suspended } from './errors.js';
import { claimsOf, parseHeaderOnly, verifyJws } from './jose.js';
import { keyFor } from './trust.js';

export const STATUS_LIST_TYP = 'statuslist+jwt';
export const MAX_INFLATED = 4 * 1024 * 1024;
const MAX_AGE_WITHOUT_EXP = 86_400;
const ALLOWED_BITS = [1, 2, 4, 8];
const URI_CHARACTERS = /^[A-Za-z0-9._~:/?@!$&'()*+,;=%-]+$/;

const isInt = (v) => typeof v === 'number' && Number.isInteger(v);

/** credcore.status_list.reference: [uri, idx] or null. */
export function reference(payload) {
  if (!payload.has('status')) return null;
  const status = payload.get('status');
  const entry = status instanceof Map ? status.get('status_list') : undefined;
  if (!(entry instanceof Map)) statusUnavailable('status_invalid', 'status claim is malformed');
  const idx = entry.get('idx');
  const uri = entry.get('uri');
  if (!isInt(idx) || idx < 0 || typeof uri !== 'string' || !uri) statusUnavailable('status_invalid', 'status reference is malformed');
  return [uri, idx];
}

function unquote(text) {
  const bytes = [];
  let out = '';
  const flush = () => {
    if (bytes.length) out += new TextDecoder('utf-8').decode(Uint8Array.from(bytes.splice(0)));
  };
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      flush();
      out += text[i];
    }
  }
  flush();
  return out;
}

/** credcore.status_list.hosted_by: a plain URI below the issuer's identifier, no dot segments. */
export function hostedBy(uri, issuer) {
  if (!uri.startsWith(`${issuer}/`) || !URI_CHARACTERS.test(uri)) return false;
  // urlsplit: the path runs from after "scheme://netloc" to the query.
  const afterScheme = uri.replace(/^[A-Za-z][A-Za-z0-9+.-]*:/, '');
  let path = afterScheme.startsWith('//') ? afterScheme.slice(2).replace(/^[^/?]*/, '') : afterScheme;
  path = path.split('?', 1)[0];
  return !unquote(path).split('/').some((segment) => segment === '.' || segment === '..');
}

function number(claims, name, required) {
  const value = claims.get(name);
  if ((value === undefined || value === null) && !required) return null;
  if (!isInt(value) || value < 0 || value >= 2 ** 53) throw new CredentialError('malformed', 'status_invalid', `${name} invalid`);
  return value;
}

const stillVouches = (iat, exp, now) => (exp !== null ? now < exp : iat >= now - MAX_AGE_WITHOUT_EXP);

async function verifyToken(token, uri, key, now, maxInflated) {
  const jws = await verifyJws(token, [STATUS_LIST_TYP], () => key);
  const claims = claimsOf(jws);
  if (claims.get('sub') !== uri) throw new CredentialError('malformed', 'status_invalid', 'token for another list');
  const iat = number(claims, 'iat', true);
  const exp = number(claims, 'exp', false);
  number(claims, 'ttl', false);
  if (!stillVouches(iat, exp, now)) throw new CredentialError('malformed', 'status_expired', 'status list token expired');
  const body = claims.get('status_list');
  const bits = body instanceof Map ? body.get('bits') : undefined;
  if (!(body instanceof Map) || !isInt(bits) || !ALLOWED_BITS.includes(bits)) {
    throw new CredentialError('malformed', 'status_invalid', 'status_list.bits must be 1, 2, 4 or 8');
  }
  if (typeof body.get('lst') !== 'string') throw new CredentialError('malformed', 'status_invalid', 'lst missing');
  const data = inflateAll(b64urlDecode(body.get('lst')), maxInflated, 'status_invalid');
  if (!data.length) throw new CredentialError('malformed', 'status_invalid', 'empty status list');
  return { iat, exp, bits, data, size: (data.length * 8) / bits };
}

/**
 * The status of entry `idx` in the list at `uri` from `token` (credcore.verify._status after the
 * reference checks): returns for valid, throws revoked / suspended / status_unavailable. The list's
 * key is the one the trust list gives `iss` for the token's header, or `resolveKey(header)`'s (the
 * wallet with no trust list configured: the issuer's published keys).
 */
export async function checkStatus(token, { uri, idx, iss, trust, now, maxInflated = MAX_INFLATED, resolveKey = null }) {
  let list;
  try {
    const header = parseHeaderOnly(token);
    const key = resolveKey ? await resolveKey(header.header) : await keyFor(trust, iss, header.header, now);
    try {
      list = await verifyToken(token, uri, key, now, maxInflated);
    } catch (error) {
      const known = asCredentialError(error);
      if (!(known instanceof CredentialError)) throw known;
      const code = ['status_expired', 'payload_too_large'].includes(known.code) ? known.code : 'status_invalid';
      statusUnavailable(code, `status list rejected: ${known.message}`);
    }
  } catch (error) {
    const known = asCredentialError(error);
    if (known instanceof CredentialError && known.verdict !== 'status_unavailable') {
      statusUnavailable('status_invalid', `status list rejected: ${known.message}`);
    }
    throw known;
  }
  if (idx >= list.size) statusUnavailable('status_invalid', 'status index outside the list');
  const bit = idx * list.bits;
  const value = (list.data[bit >> 3] >> (bit & 7)) & ((1 << list.bits) - 1);
  if (value === 1) revoked();
  if (value === 2) suspended();
  if (value !== 0) statusUnavailable('status_invalid', `unknown status value ${value}`);
  return { iat: list.iat, exp: list.exp };
}

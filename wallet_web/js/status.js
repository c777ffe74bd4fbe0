// The credential's own status (IETF Token Status List, standards.md §3): fetch the list named in the
// credential, check the issuer's signature, `typ`, `sub` and `exp`, inflate `lst` (capped) and read
// the 2-bit entry. Entry i sits at bits [i*bits, (i+1)*bits), least significant bits first.

import { b64urlDecode, readCapped } from '../common/bytes.js';
import { parseJws, verifyWithKeys } from '../common/jose.js';
import { request, safeUrl } from './net.js';
import { issuerKeys } from './oid4vci.js';

const MAX_INFLATED = 4 * 1024 * 1024;
const STATES = ['valid', 'revoked', 'suspended'];

async function inflateCapped(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  const inflated = await readCapped(stream, MAX_INFLATED);
  if (inflated === null) throw new Error('status list too large');
  return inflated;
}

/** 'valid' | 'revoked' | 'suspended' from the issuer's list now, or null if that cannot be known. */
export async function fetchStatus(payload) {
  const reference = payload && payload.status && payload.status.status_list;
  if (!reference || !Number.isInteger(reference.idx) || reference.idx < 0 || !safeUrl(reference.uri)) return null;
  try {
    const [{ status, text }, keys] = await Promise.all([request(reference.uri), issuerKeys(payload.iss)]);
    if (status !== 200) return null;
    const jws = parseJws(text.trim());
    if (jws.header.typ !== 'statuslist+jwt' || (await verifyWithKeys(jws, keys)) !== true) return null;
    const claims = jws.payload;
    const now = Date.now() / 1000;
    if (claims.sub !== reference.uri || (claims.exp !== undefined && !(claims.exp > now))) return null;
    const list = claims.status_list;
    if (!list || ![1, 2, 4, 8].includes(list.bits) || typeof list.lst !== 'string') return null;
    const bytes = await inflateCapped(b64urlDecode(list.lst));
    const bit = reference.idx * list.bits;
    if (bit >= bytes.length * 8) return null;
    const value = (bytes[bit >> 3] >> (bit & 7)) & ((1 << list.bits) - 1);
    return STATES[value] || null;
  } catch {
    return null;
  }
}

// The signed trust list (PRODUCT.md "Trust"): which institutions are accredited, with which keys,
// for which credential types. The deployment pins the registry's public key in /config.json; the
// wallet checks the list's signature with it and then accepts a credential only from an institution
// accredited for that type, with one of the keys the list names for it (never a key the issuer
// merely publishes about itself). The list is read and checked by the scanning page's code
// (common/verify/trust.js, credcore.trust's rules): one reading of the trust list for both front ends.

import { parseObject } from '../common/json_strict.js';
import { CannotCheck, CredentialError } from '../common/verify/errors.js';
import { claimsOf, parseJws, publicKeyFromJwk, verifySignature } from '../common/verify/jose.js';
import { keyFor, verifyTrustList } from '../common/verify/trust.js';
import { splitCompact } from '../common/sdjwt.js';
import { request } from './net.js';

let configPromise = null;

export function loadConfig() {
  configPromise ||= fetch('/config.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  return configPromise;
}

/** The verified trust list ({trust, iat}, common/verify/trust.js); null when none is configured or it cannot be checked now. */
export async function fetchTrustList() {
  const config = await loadConfig();
  if (!config || typeof config.trust_list_url !== 'string' || !config.registry_jwk) return null;
  try {
    const registryKey = await publicKeyFromJwk(parseObject(JSON.stringify(config.registry_jwk)), true);
    const { status, text } = await request(config.trust_list_url);
    if (status !== 200) return null;
    return await verifyTrustList(text.trim(), registryKey);
  } catch {
    return null;
  }
}

export const trustConfigured = async () => Boolean((await loadConfig()).registry_jwk);

/** The list's institution `iss` accredited for `vct` and in force at `now` (seconds): {name}, or null. */
export function accreditation(list, iss, vct, now) {
  const entry = typeof iss === 'string' ? list.trust.issuers.get(iss) : undefined;
  if (!entry || typeof vct !== 'string' || !entry.vcts.has(vct)) return null;
  if (now < entry.validFrom || (entry.validUntil !== null && now > entry.validUntil)) return null;
  return { name: entry.name.slice(0, 200) };
}

/**
 * A credential (compact SD-JWT) against a verified trust list: {trust: 'accredited', signature,
 * name} or {trust: 'not_accredited'}. The signature is true, false (a key the list does not give the
 * institution, or a signature that does not verify) or null (this browser cannot check it).
 */
export async function checkCredential(list, sdJwt, now) {
  const jws = parseJws(splitCompact(sdJwt).issuerJwt);
  const claims = claimsOf(jws);
  const entry = accreditation(list, claims.get('iss'), claims.get('vct'), now);
  if (!entry) return { trust: 'not_accredited' };
  let signature;
  try {
    await verifySignature(jws, await keyFor(list.trust, claims.get('iss'), jws.header, now));
    signature = true;
  } catch (error) {
    if (error instanceof CannotCheck) signature = null;
    else if (error instanceof CredentialError) signature = false;
    else throw error;
  }
  return { trust: 'accredited', signature, name: entry.name };
}

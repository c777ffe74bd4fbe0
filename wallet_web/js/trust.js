// The signed trust list (PRODUCT.md "Trust"): which institutions are accredited, with which keys,
// for which credential types. The deployment pins the registry's public key in /config.json; the
// wallet checks the list's signature with it and then accepts a credential only from an institution
// accredited for that type, with one of the keys the list names for it (never a key the issuer
// merely publishes about itself).

import { parseJws, verifyWithKeys } from '../common/jose.js';
import { request } from './net.js';

const TRUST_LIST_TYP = 'puente-trust-list+jwt';
let configPromise = null;

export function loadConfig() {
  configPromise ||= fetch('/config.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  return configPromise;
}

/** The verified trust list's payload; null when none is configured or it cannot be checked now. */
export async function fetchTrustList() {
  const config = await loadConfig();
  if (!config || typeof config.trust_list_url !== 'string' || !config.registry_jwk) return null;
  try {
    const { status, text } = await request(config.trust_list_url);
    if (status !== 200) return null;
    const jws = parseJws(text.trim());
    if (jws.header.typ !== TRUST_LIST_TYP || (await verifyWithKeys(jws, [config.registry_jwk])) !== true) return null;
    return Array.isArray(jws.payload.issuers) ? jws.payload : null;
  } catch {
    return null;
  }
}

export const trustConfigured = async () => Boolean((await loadConfig()).registry_jwk);

/** The list's entry for issuer `iss` accredited for `vct` at `now` (seconds), or null. */
export function accreditation(list, iss, vct, now) {
  const at = now * 1000;
  for (const entry of list.issuers) {
    if (!entry || entry.id !== iss || !Array.isArray(entry.vcts) || !entry.vcts.includes(vct)) continue;
    const from = Date.parse(entry.valid_from);
    const until = entry.valid_until === null || entry.valid_until === undefined ? Infinity : Date.parse(entry.valid_until);
    if (!(from <= at) || !(at <= until) || !Array.isArray(entry.keys)) continue;
    return { name: typeof entry.name === 'string' ? entry.name.slice(0, 200) : '', keys: entry.keys };
  }
  return null;
}

/**
 * A credential (compact SD-JWT) against a verified trust list: {trust: 'accredited', signature,
 * name} or {trust: 'not_accredited'}.
 */
export async function checkCredential(list, sdJwt, now) {
  const jws = parseJws(sdJwt.split('~')[0]);
  const entry = accreditation(list, jws.payload.iss, jws.payload.vct, now);
  if (!entry) return { trust: 'not_accredited' };
  return { trust: 'accredited', signature: (await verifyWithKeys(jws, entry.keys)) === true, name: entry.name };
}

// The registry-signed trust list as credcore.trust reads it: checked against the registry key the
// page was configured with (pinned; kid must match too), then institutions → keys → types, each key
// found only by the exact pair (iss, kid).

import { parseObject } from '../json_strict.js';
import { codePointLength, malformed, notAccredited, untrusted } from './errors.js';
import { claimsOf, publicKeyFromJwk, verifyJws } from './jose.js';

export const TRUST_LIST_TYP = 'puente-trust-list+jwt';
const TIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;

function invalid(where) {
  malformed('trust_list_invalid', `trust list invalid at ${where}`);
}

/** Seconds since the epoch of an RFC 3339 UTC time without fractions (credcore.trust.parse_time). */
export function parseTime(text, where = 'time') {
  const m = typeof text === 'string' ? TIME.exec(text) : null;
  if (!m) invalid(where);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59
      || s > 59 || y < 1) invalid(where);
  return ms / 1000;
}

const isText = (value, max) => typeof value === 'string' && value.length > 0 && codePointLength(value) <= max;

async function issuerEntry(entry, where) {
  if (!(entry instanceof Map)) invalid(where);
  const id = entry.get('id');
  const name = entry.get('name');
  const keys = entry.get('keys');
  const vcts = entry.get('vcts');
  if (!isText(id, 300) || !/^https?:\/\//.test(id) || !isText(name, 200)) invalid(where);
  const cas = entry.has('x509_cas') ? entry.get('x509_cas') : [];
  if (!Array.isArray(cas) || cas.length > 10 || !cas.every((c) => typeof c === 'string' && c.length > 0)) invalid(where);
  // X.509 is loaded only where an institution is accredited through a CA (the wallet's first visit stays small).
  const x509Cas = cas.length ? cas.map((await import('../x509.js')).loadCa) : [];
  if (!Array.isArray(keys) || (!keys.length && !cas.length) || keys.length > 20) invalid(where);
  if (!Array.isArray(vcts) || !vcts.length) invalid(where);
  if (!vcts.every((v) => typeof v === 'string') || new Set(vcts).size !== vcts.length) invalid(where);
  const policy = entry.has('status') ? entry.get('status') : new Map();
  if (!(policy instanceof Map) || ![...policy].every(([v, rule]) => vcts.includes(v) && ['required', 'optional'].includes(rule))) {
    invalid(where);
  }
  const byKid = new Map();
  const compromised = new Set();
  for (const jwk of keys) {
    if (!(jwk instanceof Map)) invalid(where);
    const members = new Map([...jwk].filter(([k]) => k !== 'compromised'));
    const key = await publicKeyFromJwk(members, true);
    if (byKid.has(key.kid)) invalid(where);
    byKid.set(key.kid, key);
    if (jwk.get('compromised') === true) compromised.add(key.kid);
  }
  const until = entry.get('valid_until');
  return {
    id, name, keys: byKid, compromised, vcts: new Set(vcts), x509Cas,
    statusOptional: new Set([...policy].filter(([, rule]) => rule === 'optional').map(([v]) => v)),
    validFrom: parseTime(entry.get('valid_from'), where),
    validUntil: until === null || until === undefined || until === '' ? null : parseTime(until, where),
  };
}

/** A trust list from its JSON document (a Map, or text). */
export async function trustListFromDocument(document) {
  const doc = document instanceof Map ? document : parseObject(document);
  const entries = doc.get('issuers');
  if (!Array.isArray(entries) || entries.length > 1000) invalid('issuers');
  const issuers = new Map();
  for (const [i, entry] of entries.entries()) {
    const issuer = await issuerEntry(entry, `issuers/${i}`);
    if (issuers.has(issuer.id)) malformed('trust_list_invalid', 'issuer listed twice');
    issuers.set(issuer.id, issuer);
  }
  return { issuedAt: parseTime(doc.get('issued_at'), 'issued_at'), nextUpdate: parseTime(doc.get('next_update'), 'next_update'), issuers };
}

/** credcore.trust.verify_trust_list: {trust, iat, document} or a CredentialError. */
export async function verifyTrustList(token, registryKey) {
  const jws = await verifyJws(token, [TRUST_LIST_TYP], (parsed) => {
    if (parsed.header.get('kid') !== registryKey.kid) untrusted('key_untrusted', 'trust list signed by another key');
    return registryKey;
  });
  const claims = claimsOf(jws);
  const iat = claims.get('iat');
  if (typeof iat !== 'number' || !Number.isInteger(iat)) malformed('trust_list_invalid', 'trust list iat missing');
  claims.delete('iat');
  return { trust: await trustListFromDocument(claims), iat };
}

export function issuerOf(trust, iss) {
  if (typeof iss !== 'string' || !trust.issuers.has(iss)) untrusted('issuer_untrusted', 'issuer is not on the trust list');
  return trust.issuers.get(iss);
}

/** credcore.trust.TrustList.check_current. */
export function checkCurrent(trust, now, grace) {
  if (grace !== null && grace !== undefined && now > trust.nextUpdate + grace) {
    untrusted('trust_list_stale', 'the trust list is out of date');
  }
}

function inForce(trust, iss, now) {
  const issuer = issuerOf(trust, iss);
  if (now < issuer.validFrom || (issuer.validUntil !== null && now > issuer.validUntil)) {
    untrusted('issuer_not_in_force', 'issuer accreditation is not in force');
  }
  return issuer;
}

/** credcore.trust.TrustList.issuer_key: by (iss, kid); no kid only with exactly one usable key. */
export function issuerKey(trust, iss, kid, now) {
  const issuer = inForce(trust, iss, now);
  if (kid === undefined) {
    const usable = [...issuer.keys].filter(([k]) => !issuer.compromised.has(k)).map(([, key]) => key);
    if (usable.length !== 1) untrusted('kid_required', 'a token without kid needs an issuer with exactly one usable key');
    return usable[0];
  }
  if (typeof kid !== 'string' || !issuer.keys.has(kid)) untrusted('key_untrusted', 'signing key is not a key of this issuer');
  if (issuer.compromised.has(kid)) untrusted('key_compromised', 'signing key is marked compromised');
  return issuer.keys.get(kid);
}

/**
 * credcore.trust.TrustList.key_for: a token's key from its protected header (a Map): from its x5c
 * chain when the issuer is accredited through CA certificates and the token carries one (x509.js:
 * validated to those CAs, or CannotCheck outside the profile it understands), otherwise by (iss, kid).
 */
export async function keyFor(trust, iss, header, now) {
  const issuer = inForce(trust, iss, now);
  if (issuer.x509Cas.length && header.has('x5c')) {
    const { keyFromX5c } = await import('../x509.js');
    return keyFromX5c(header.get('x5c'), issuer.x509Cas, issuer.id, now);
  }
  if (header.has('x5c') && !header.has('kid')) untrusted('key_untrusted', 'the issuer is not accredited through X.509 certificates');
  return issuerKey(trust, iss, header.get('kid'), now);
}

/** credcore.trust.TrustList.status_required. */
export const statusRequired = (trust, iss, vct) => !issuerOf(trust, iss).statusOptional.has(vct);

/** credcore.trust.TrustList.check_accreditation. */
export function checkAccreditation(trust, iss, vct) {
  if (typeof vct !== 'string' || !issuerOf(trust, iss).vcts.has(vct)) {
    notAccredited('not_accredited_for_type', 'issuer is not accredited for this credential type');
  }
}

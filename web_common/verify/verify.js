// The verification recipe of credcore.verify in the browser (the scanning page offline; any page):
// format → issuer trust → signature → accreditation → validity → disclosures → claims → holder
// binding → status, stopping at the first failure, with the same checks, verdicts and codes as the
// service's report. Inputs are what the page cached while online (the verified trust list, the type
// bundle, status list tokens) and a nonce store on the device.

import { toPlain } from '../json_strict.js';
import {
  CannotCheck, CredentialError, asCredentialError, disclosureInvalid, expired, keyBindingInvalid, malformed,
  notYetValid, statusUnavailable,
} from './errors.js';
import { checkHeader, claimsOf, parseJws, publicKeyFromJwk, verifySignature } from './jose.js';
import { hashB64, parseInput, processDisclosures, sdAlgOf } from './sdjwt.js';
import { checkStatus, hostedBy, reference } from './status.js';
import { checkAccreditation, checkCurrent, issuerOf, keyFor, statusRequired } from './trust.js';
import { unknownType } from './claims.js';

export const SD_JWT_VC_TYP = 'dc+sd-jwt';
const LEGACY_TYP = 'vc+sd-jwt';
export const OFFLINE_AUDIENCE = 'urn:puente:offline';
const KB_TYP = 'kb+jwt';
const MAX_NUMERIC_DATE = 253_402_300_799;
const MAX_NONCE_LENGTH = 128;
const CRITICAL_CLAIMS = new Set(['iss', 'vct', 'vct#integrity', 'iat', 'exp', 'nbf', 'cnf', 'status']);
const REGISTERED_CLAIMS = new Set(['iss', 'vct', 'vct#integrity', 'iat', 'exp', 'nbf', 'cnf', 'status', 'sub', '_sd_alg']);

/** credcore.verify.VerificationPolicy with the service's defaults. */
export const DEFAULT_POLICY = Object.freeze({
  keyBinding: { audience: OFFLINE_AUDIENCE, nonce: null, maxAge: 300, leeway: 60 },
  requireHolderBinding: false,
  requireStatus: true,
  leeway: 60,
  acceptLegacyTyp: false,
  maxStatusInflated: 4 * 1024 * 1024,
  trustListGrace: null,
});

const isInt = (v) => typeof v === 'number' && Number.isInteger(v);

function numericDate(claims, name, required) {
  const value = claims.get(name);
  if (value === undefined || value === null) {
    if (required) malformed(name === 'exp' ? 'exp_missing' : 'malformed', `required claim ${name} is missing`);
    return null;
  }
  if (!isInt(value) || value < 0 || value > MAX_NUMERIC_DATE) malformed('malformed', `claim ${name} is not a NumericDate`);
  return value;
}

function checkValidity(claims, now, leeway) {
  const exp = numericDate(claims, 'exp', true);
  const iat = numericDate(claims, 'iat', true);
  const nbf = numericDate(claims, 'nbf', false);
  if (now > exp + leeway) expired('expired', 'the credential has expired');
  if (nbf !== null && nbf > now + leeway) notYetValid('not_yet_valid', 'the credential is not valid yet');
  if (iat > now + leeway) notYetValid('iat_invalid', 'the credential was issued in the future');
  return { iat, exp };
}

async function holderKeyFromCnf(cnf) {
  if (!(cnf instanceof Map) || cnf.size !== 1 || !cnf.has('jwk')) keyBindingInvalid('cnf_invalid', 'cnf must hold one jwk');
  try {
    return await publicKeyFromJwk(cnf.get('jwk'));
  } catch (error) {
    if (asCredentialError(error) instanceof CredentialError) keyBindingInvalid('cnf_invalid', 'cnf.jwk is not usable');
    throw error;
  }
}

async function kbClaims(token, holder) {
  try {
    const parsed = parseJws(token);
    checkHeader(parsed, [KB_TYP]);
    await verifySignature(parsed, holder);
    return claimsOf(parsed);
  } catch (error) {
    if (asCredentialError(error) instanceof CredentialError) keyBindingInvalid('kb_invalid', 'key-binding JWT rejected');
    throw error;
  }
}

/** credcore.key_binding.verify_kb_jwt. */
async function verifyKbJwt(token, presented, holder, { policy, now, nonces, sdAlg }) {
  const claims = await kbClaims(token, holder);
  const iat = claims.get('iat');
  if (!isInt(iat)) keyBindingInvalid('kb_invalid', 'KB-JWT iat missing or not an integer');
  if (iat > now + policy.leeway) keyBindingInvalid('iat_invalid', 'KB-JWT issued in the future');
  if (iat < now - policy.maxAge - policy.leeway) keyBindingInvalid('kb_expired', 'KB-JWT is too old');
  if (typeof claims.get('aud') !== 'string' || claims.get('aud') !== policy.audience) keyBindingInvalid('kb_audience', 'another audience');
  const sdHash = claims.get('sd_hash');
  if (typeof sdHash !== 'string' || sdHash !== (await hashB64(presented, sdAlg))) keyBindingInvalid('kb_sd_hash', 'sd_hash mismatch');
  const nonce = claims.get('nonce');
  if (typeof nonce !== 'string' || !nonce || [...nonce].length > MAX_NONCE_LENGTH) keyBindingInvalid('kb_invalid', 'bad nonce');
  if (policy.nonce !== null && nonce !== policy.nonce) keyBindingInvalid('replayed', 'not this transaction\'s nonce');
  if (nonces) {
    const expires = iat + policy.maxAge + 2 * policy.leeway;
    if (!(await nonces.consume(`${policy.audience}|${nonce}`, expires, now))) keyBindingInvalid('replayed', 'already used');
  }
}

async function holderBinding(sd, payload, policy, now, nonces) {
  if (!payload.has('cnf')) {
    if (sd.kbJwt !== null) keyBindingInvalid('kb_unexpected', 'a credential without cnf cannot carry a KB-JWT');
    if (policy.requireHolderBinding) keyBindingInvalid('kb_missing', 'holder binding required');
    return 'absent';
  }
  const holder = await holderKeyFromCnf(payload.get('cnf'));
  if (sd.kbJwt === null) keyBindingInvalid('kb_missing', 'the key-binding JWT is missing');
  await verifyKbJwt(sd.kbJwt, sd.withoutKb, holder, { policy: policy.keyBinding, now, nonces, sdAlg: await sdAlgOf(payload) });
  return 'verified';
}

async function status(payload, iss, { trust, policy, now, statusTokens }) {
  const ref = reference(payload);
  if (ref === null) statusUnavailable('status_missing', 'the credential has no status reference');
  const [uri, idx] = ref;
  if (!hostedBy(uri, iss)) statusUnavailable('status_invalid', 'status list is not hosted by the issuer');
  const token = statusTokens ? await statusTokens(uri) : null;
  if (typeof token !== 'string') statusUnavailable('status_unavailable', 'no status list available offline');
  await checkStatus(token, { uri, idx, iss, trust, now, maxInflated: policy.maxStatusInflated });
  return { uri, idx };
}

class Run {
  constructor() {
    this.checks = [];
    this.partial = {};
  }

  async step(name, action) {
    let result;
    try {
      result = await action();
    } catch (error) {
      const known = asCredentialError(error);
      if (known instanceof CredentialError) this.checks.push({ name, ok: false, code: known.code });
      throw known;
    }
    this.checks.push({ name, ok: true, code: null });
    return result;
  }
}

/**
 * Verify `text` with `{trust, types (Map vct → compiled type), now, policy, statusTokens (uri →
 * token or null), nonces ({consume}) }`. Returns {valid, verdict, checks, error, credential,
 * partial}; throws CannotCheck when this browser cannot decide (an algorithm or schema it lacks).
 */
export async function verifyPresentation(text, { trust, types, now, policy = DEFAULT_POLICY, statusTokens, nonces }) {
  const run = new Run();
  try {
    const credential = await recipe(run, text, { trust, types, now, policy, statusTokens, nonces });
    return { valid: true, verdict: 'valid', checks: run.checks, error: null, credential, partial: run.partial };
  } catch (error) {
    if (!(error instanceof CredentialError)) throw error;
    return { valid: false, verdict: error.verdict, checks: run.checks, error: { code: error.code, detail: error.message },
      credential: null, partial: run.partial };
  }
}

async function recipe(run, text, { trust, types, now, policy, statusTokens, nonces }) {
  const typs = policy.acceptLegacyTyp ? [SD_JWT_VC_TYP, LEGACY_TYP] : [SD_JWT_VC_TYP];
  const { sd, token, payload } = await run.step('format', async () => {
    const parsed = await parseInput(text);
    const jws = parseJws(parsed.issuerJwt);
    checkHeader(jws, typs);
    return { sd: parsed, token: jws, payload: claimsOf(jws) };
  });
  const key = await run.step('issuer_trust', () => {
    checkCurrent(trust, now, policy.trustListGrace);
    return keyFor(trust, payload.get('iss'), token.header, now);
  });
  const issuer = issuerOf(trust, payload.get('iss'));
  run.partial.issuer = { id: issuer.id, name: issuer.name };
  await run.step('signature', () => verifySignature(token, key));
  await run.step('accreditation', () => checkAccreditation(trust, issuer.id, payload.get('vct')));
  const vct = String(payload.get('vct'));
  const { iat, exp } = await run.step('validity', () => checkValidity(payload, now, policy.leeway));
  const claims = await run.step('disclosures', async () => {
    const processed = await processDisclosures(payload, sd.disclosures);
    for (const path of processed.paths.values()) {
      if (CRITICAL_CLAIMS.has(path[0])) disclosureInvalid('critical_claim_disclosable', 'a validity-critical claim was disclosable');
    }
    return processed.claims;
  });
  const ctype = types.get(vct) || null;
  run.partial.type_id = ctype ? ctype.id : null;
  const shown = new Map([...claims].filter(([name]) => !REGISTERED_CLAIMS.has(name)));
  await run.step('claims', () => (ctype === null ? unknownType() : ctype.check(shown, iat)));
  const binding = await run.step('holder_binding', () => holderBinding(sd, payload, policy, now, nonces));
  let ref = null;
  if (!payload.has('status') && !(policy.requireStatus && statusRequired(trust, issuer.id, vct))) {
    run.checks.push({ name: 'status', ok: true, code: 'not_applicable' });  // optional for this issuer and type
  } else {
    ref = await run.step('status', () => status(payload, issuer.id, { trust, policy, now, statusTokens }));
  }
  return { issuerId: issuer.id, issuerName: issuer.name, vct, type: ctype, claims: shown, holderBinding: binding, iat, exp, status: ref };
}

/** The service's report (credcore.verify.VerificationReport.as_json) from a result, in `lang`. */
export function reportJson(result, lang, { messages = {}, checkNames = {} } = {}) {
  const cred = result.credential;
  const ctype = cred ? cred.type : null;
  const valid = result.valid;
  const label = (name) => (checkNames[name] ? checkNames[name][lang === 'en' ? 1 : 0] : name);
  const message = (code) => (messages[code] ? messages[code][lang === 'en' ? 1 : 0] : messages.malformed?.[lang === 'en' ? 1 : 0] || code);
  return {
    valid,
    verdict: result.verdict,
    credential_type: cred ? ctype.id : result.partial.type_id ?? null,
    credential_name: ctype ? ctype.name(lang) : null,
    issuer: cred ? { id: cred.issuerId, name: cred.issuerName } : result.partial.issuer ?? null,
    claims: cred && valid ? toPlain(cred.claims) : {},
    labels: cred && valid ? Object.fromEntries([...cred.claims.keys()].map((k) => [k, ctype.label(k, lang)])) : {},
    holder_binding: cred && valid ? cred.holderBinding : 'absent',
    expires_at: cred && valid ? cred.exp : null,
    checks: result.checks.map((c) => ({ name: c.name, label: label(c.name), ok: c.ok, code: c.code })),
    error: result.error ? { code: result.error.code, message: message(result.error.code), detail: result.error.detail } : null,
  };
}

export { CannotCheck };

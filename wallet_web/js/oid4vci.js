// OpenID4VCI 1.0, pre-authorized code flow with a tx_code (standards.md §4), as a wallet runs it:
// read the offer (by reference or by value), show where it comes from before contacting anyone
// (security.md #54), read the issuer's metadata, exchange code + tx_code for a token, prove the new
// holder key with an `openid4vci-proof+jwt`, and check the credential before it is stored (#40, #129).
//
// Every value in an offer or in metadata is untrusted: endpoints must stay on the issuer's origin,
// texts are cut to a sane length and kept as data.

import { NetError, requestJson, safeUrl, sameOrigin } from './net.js';
import { generateHolderKey, own, parseJws, signEs256, verifyWithKeys } from '../common/jose.js';
import { checkIssued } from '../common/sdjwt.js';
import { checkCredential, fetchTrustList, trustConfigured } from './trust.js';

export const PRE_AUTH_GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const OFFER_SCHEME = 'openid-credential-offer:';
const LOCALES = ['es', 'en'];

export class OfferError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

const text = (value, max = 200) => (typeof value === 'string' ? value.slice(0, max) : '');
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/** What the holder pasted or scanned → {offerUri} (by reference) or {offer} (by value). */
export function parseOfferInput(input) {
  const raw = String(input || '').trim();
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new OfferError('not_an_offer');
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const inner = url.searchParams.get('offer'); // a link to this wallet: …/?offer=openid-credential-offer://…
    if (inner && !inner.startsWith('http')) return parseOfferInput(inner);
    throw new OfferError('not_an_offer');
  }
  if (url.protocol !== OFFER_SCHEME) throw new OfferError('not_an_offer');
  const byReference = url.searchParams.getAll('credential_offer_uri');
  const byValue = url.searchParams.getAll('credential_offer');
  if (byReference.length + byValue.length !== 1) throw new OfferError('not_an_offer');
  if (byReference.length) {
    const offerUri = safeUrl(byReference[0]);
    if (!offerUri) throw new OfferError('unsafe_url');
    return { offerUri: offerUri.href, host: offerUri.host };
  }
  let offer;
  try {
    offer = JSON.parse(byValue[0]);
  } catch {
    throw new OfferError('not_an_offer');
  }
  const issuer = isObject(offer) ? safeUrl(offer.credential_issuer) : null;
  if (!issuer) throw new OfferError('unsafe_url');
  return { offer, host: issuer.host };
}

function checkOffer(offer, offerUri) {
  if (!isObject(offer)) throw new OfferError('bad_offer');
  const issuer = safeUrl(offer.credential_issuer);
  if (!issuer || issuer.search || issuer.hash) throw new OfferError('bad_offer');
  if (offerUri && issuer.origin !== new URL(offerUri).origin) throw new OfferError('other_origin');
  const ids = offer.credential_configuration_ids;
  if (!Array.isArray(ids) || !ids.length || typeof ids[0] !== 'string') throw new OfferError('bad_offer');
  const grant = isObject(offer.grants) && own(offer.grants, PRE_AUTH_GRANT) ? offer.grants[PRE_AUTH_GRANT] : null;
  if (!isObject(grant) || typeof grant['pre-authorized_code'] !== 'string') throw new OfferError('unsupported_grant');
  const tx = isObject(grant.tx_code) ? grant.tx_code : null;
  return {
    issuer: offer.credential_issuer,
    configurationId: ids[0],
    code: grant['pre-authorized_code'],
    txCode: tx && {
      length: Number.isInteger(tx.length) && tx.length > 0 && tx.length <= 12 ? tx.length : null,
      numeric: tx.input_mode !== 'text',
    },
  };
}

/** The well-known URL for an issuer identifier: https://host/.well-known/{name}/path (RFC 8615). */
function wellKnown(issuer, name) {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}/.well-known/${name}${path}`;
}

function localized(entries, field) {
  const out = { es: '', en: '' };
  if (!Array.isArray(entries)) return out;
  for (const entry of entries) {
    if (isObject(entry) && LOCALES.includes(entry.locale) && !out[entry.locale]) out[entry.locale] = text(entry[field]);
  }
  out.es ||= out.en;
  out.en ||= out.es;
  return out;
}

/** How many copies the wallet asks for: WANTED_COPIES, or fewer if the issuer's batch is smaller. */
export const WANTED_COPIES = 5;
function batchSize(metadata) {
  const batch = isObject(metadata.batch_credential_issuance) ? metadata.batch_credential_issuance.batch_size : 1;
  return Number.isInteger(batch) && batch > 1 ? Math.min(batch, WANTED_COPIES) : 1;
}

/** Fetch the offer (if by reference) and the issuer's metadata: everything the consent screen shows. */
export async function prepareOffer(parsed) {
  const offer = parsed.offerUri ? await requestJson(parsed.offerUri) : parsed.offer;
  const checked = checkOffer(offer, parsed.offerUri);
  const metadata = await requestJson(wellKnown(checked.issuer, 'openid-credential-issuer'));
  if (metadata.credential_issuer !== checked.issuer) throw new OfferError('bad_metadata');
  const configurations = isObject(metadata.credential_configurations_supported) ? metadata.credential_configurations_supported : {};
  const configuration = own(configurations, checked.configurationId) ? configurations[checked.configurationId] : null;
  if (!isObject(configuration) || configuration.format !== 'dc+sd-jwt' || typeof configuration.vct !== 'string') {
    throw new OfferError('unsupported_format');
  }
  for (const endpoint of [metadata.credential_endpoint, metadata.nonce_endpoint]) {
    if (!sameOrigin(endpoint, checked.issuer)) throw new OfferError('bad_metadata');
  }
  const server = await requestJson(wellKnown(checked.issuer, 'oauth-authorization-server'));
  if (server.issuer !== checked.issuer || !sameOrigin(server.token_endpoint, checked.issuer)) throw new OfferError('bad_metadata');
  const display = isObject(configuration.credential_metadata) ? configuration.credential_metadata : {};
  const extra = isObject(metadata['x-puente']) && isObject(metadata['x-puente'].contact) ? metadata['x-puente'].contact : {};
  const claims = Array.isArray(display.claims) ? display.claims : [];
  return {
    ...checked,
    host: new URL(checked.issuer).host,
    vct: configuration.vct,
    endpoints: { token: server.token_endpoint, nonce: metadata.nonce_endpoint, credential: metadata.credential_endpoint },
    batchSize: batchSize(metadata),
    issuerName: localized(metadata.display, 'name'),
    contact: { phone: text(extra.phone, 40), email: text(extra.email, 200), web: text(extra.web, 300) }, // where holders turn
    typeName: localized(display.display, 'name'),
    // [[claim name, {es, en}]], in the issuer's order; names are data, never object keys.
    labels: claims.filter((c) => isObject(c) && Array.isArray(c.path) && c.path.length === 1 && typeof c.path[0] === 'string')
      .map((c) => [text(c.path[0], 100), localized(c.display, 'name')]),
  };
}

/** Type metadata (/vct/…) for the headline claim and card colours; only from the issuer's own origin. */
async function typeMetadata(prepared) {
  if (!sameOrigin(prepared.vct, prepared.issuer)) return {};
  try {
    const document = await requestJson(prepared.vct);
    const extra = isObject(document['x-puente']) ? document['x-puente'] : {};
    const displays = Array.isArray(document.display) ? document.display : [];
    const rendering = displays.map((d) => (isObject(d) && isObject(d.rendering) && isObject(d.rendering.simple) ? d.rendering.simple : null)).find(Boolean);
    const colour = (value) => (typeof value === 'string' && /^#[0-9a-fA-F]{6}$/.test(value) ? value : null);
    return {
      headline: text(extra.headline, 100) || null,
      colours: rendering ? { background: colour(rendering.background_color), text: colour(rendering.text_color) } : null,
    };
  } catch {
    return {}; // cosmetic: the card falls back to the wallet's colours
  }
}

/** The issuer's keys from /.well-known/jwt-vc-issuer (SD-JWT VC issuer metadata). */
export async function issuerKeys(issuer) {
  const document = await requestJson(wellKnown(issuer, 'jwt-vc-issuer'));
  if (document.issuer !== issuer || !isObject(document.jwks) || !Array.isArray(document.jwks.keys)) {
    throw new NetError('bad_response', 'bad issuer metadata');
  }
  return document.jwks.keys;
}

/** Verify the issuer's signature on a stored credential: true, false, or null (could not check now). */
export async function verifyIssuerSignature(sdJwt, issuer) {
  let keys;
  try {
    keys = await issuerKeys(issuer);
  } catch {
    return null;
  }
  return verifyWithKeys(parseJws(sdJwt.split('~')[0]), keys);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Redeem a prepared offer with the holder's tx_code: token, c_nonce, one new non-extractable key per
 * copy (a batch when the issuer offers one, so each verifier sees a different copy), one proof per
 * key with the same c_nonce, the copies; then check every one. Returns {copies: [{sdJwt, key}],
 * sdJwt, key (the first copy), payload, signature, type}.
 */
export async function redeem(prepared, txCode) {
  const form = new URLSearchParams({ grant_type: PRE_AUTH_GRANT, 'pre-authorized_code': prepared.code });
  if (prepared.txCode) form.set('tx_code', txCode);
  const token = await requestJson(prepared.endpoints.token, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(),
  });
  if (typeof token.access_token !== 'string') throw new OfferError('bad_token');
  const nonce = await requestJson(prepared.endpoints.nonce, { method: 'POST' });
  if (typeof nonce.c_nonce !== 'string') throw new OfferError('bad_nonce');
  const keys = [];
  const proofs = [];
  for (let i = 0; i < (prepared.batchSize || 1); i++) {
    const key = await generateHolderKey();
    keys.push(key);
    proofs.push(await signEs256(key.privateKey, { typ: 'openid4vci-proof+jwt', jwk: key.publicJwk },
      { aud: prepared.issuer, iat: nowSeconds(), nonce: nonce.c_nonce }));
  }
  const response = await requestJson(prepared.endpoints.credential, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token.access_token}` },
    body: JSON.stringify({ credential_configuration_id: prepared.configurationId, proofs: { jwt: proofs } }),
  });
  const items = Array.isArray(response.credentials) ? response.credentials : [];
  if (!items.length || items.length > keys.length) throw new OfferError('bad_credential');
  const copies = [];
  let checked;
  for (const [i, item] of items.entries()) {
    if (!isObject(item) || typeof item.credential !== 'string') throw new OfferError('bad_credential');
    // each copy must be bound to the key of its proof, in order (OpenID4VCI: one credential per proof)
    const result = await checkIssued(item.credential, { issuer: prepared.issuer, vct: prepared.vct, holderJwk: keys[i].publicJwk,
      now: nowSeconds() });
    checked ||= result;
    copies.push({ sdJwt: item.credential, key: keys[i] });
  }
  const { sdJwt } = copies[0];
  const key = keys[0];
  // With a trust list configured, the issuer must be accredited for the type and have signed with a
  // key the list names. The offer is used up now: a credential that cannot be checked yet (connection
  // lost) is kept and checked later; one that fails a check is refused.
  const list = await fetchTrustList();
  let trust = (await trustConfigured()) ? { trust: 'pending' } : { trust: 'not_configured' };
  let signature;
  if (list) {
    trust = await checkCredential(list, sdJwt, nowSeconds());
    if (trust.trust !== 'accredited') throw new OfferError('issuer_not_trusted');
    signature = trust.signature;
  } else {
    signature = await verifyIssuerSignature(sdJwt, prepared.issuer);
  }
  if (signature === false) throw new OfferError('signature_invalid');
  if (list) {
    for (const copy of copies.slice(1)) {
      if ((await checkCredential(list, copy.sdJwt, nowSeconds())).trust !== 'accredited') throw new OfferError('issuer_not_trusted');
    }
  }
  return { copies, sdJwt, key, payload: checked.payload, signature, trust, type: await typeMetadata(prepared) };
}


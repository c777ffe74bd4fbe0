// The open profile's credentials as the screens show them: claims, labels, state, issuer name.

import { t } from './i18n.js';
import { disclosedClaims } from '../common/sdjwt.js';
import { el, formatDate } from './ui.js';
import { lang, nowSeconds, state } from './state.js';

export const HOLDER_NAME = ['given_name', 'family_name'];

export const credentials = () => state.session.vault.credentials;
export const findCredential = (id) => credentials().find((c) => c.id === id) || null;

export function claimMap(credential) {
  const claims = new Map();
  try {
    for (const { name, value } of disclosedClaims(credential.sdJwt)) claims.set(name, value);
  } catch {
    // a damaged entry shows without claims
  }
  return claims;
}

export const labelMap = (credential) => new Map(Array.isArray(credential.labels) ? credential.labels : []);

export function claimLabel(labels, name) {
  const label = labels.get(name);
  return (label && label[lang()]) || name;
}

export function stateOf(credential) {
  if (credential.exp && credential.exp <= nowSeconds()) return 'expired';
  if (credential.status && credential.status.value) return credential.status.value;
  return 'unknown';
}

/** What the card's badge says. A card a verifier refuses says why (revoked, suspended, expired); a card
 * restored from a backup on a phone without its key cannot be shown from here, so it never says "valid". */
export function badgeOf(credential) {
  return credential.keyMissing && !refused(credential) ? 'restored' : stateOf(credential);
}

export function stateLine(credential) {
  const current = badgeOf(credential);
  const parts = [el('span', { class: `badge badge-${current}` }, t(`state.${current}`))];
  if (credential.exp) parts.push(el('span', { class: 'expiry' }, t('card.expires', { date: formatDate(credential.exp, lang()) })));
  return el('p', { class: 'state' }, ...parts);
}

/** Whether a verifier will refuse this card whatever the holder does: revoked, suspended or expired. */
export const refused = (credential) => ['revoked', 'suspended', 'expired'].includes(stateOf(credential));

/** "Contact SENA: +57…, ayuda@…" — where the holder turns about a card that no longer works. */
export function contactLine(credential) {
  const contact = credential.issuer.contact || {};
  const how = [contact.phone, contact.email, contact.web].filter((v) => typeof v === 'string' && v).join(' · ');
  return t(how ? 'card.contactHow' : 'card.contact', { name: issuerName(credential), how });
}

/** A card restored from a backup on a phone without its key: why it cannot be shown, and whom to ask
 * for a re-issuance (the institution's name and contact). */
export function restoredLine(credential) {
  const contact = credential.issuer.contact || {};
  const how = [contact.phone, contact.email, contact.web].filter((v) => typeof v === 'string' && v).join(' · ');
  return t(how ? 'card.keyMissingHow' : 'card.keyMissing', { name: issuerName(credential), how });
}

/** The issuer's name: as the trust list names it when it was checked there, else its own metadata. */
export function issuerName(credential) {
  return credential.issuer.accredited || credential.issuer.name[lang()] || credential.issuer.host;
}


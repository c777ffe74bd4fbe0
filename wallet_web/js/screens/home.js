// The home screen: the open profile's cards.

import { t } from '../i18n.js';
import { $, contrast, displayValue, el } from '../ui.js';
import { HOLDER_NAME, claimMap, contactLine, credentials, issuerName, refused, restoredLine, stateLine, stateOf } from '../cards.js';
import { lang, show } from '../state.js';

function applyColours(node, credential) {
  const colours = credential.type && credential.type.colours;
  // Issuer colours are used only when they keep text readable (WCAG AA).
  if (colours && colours.background && colours.text && contrast(colours.background, colours.text) >= 4.5) {
    node.style.backgroundColor = colours.background;
    node.style.color = colours.text;
  }
}

function card(credential) {
  const claims = claimMap(credential);
  const titleId = `card-${credential.id}`;
  const holder = HOLDER_NAME.map((n) => claims.get(n)).filter((v) => typeof v === 'string').join(' ');
  const headline = credential.type.headline && claims.has(credential.type.headline)
    ? displayValue(claims.get(credential.type.headline), lang()) : null;
  const dead = refused(credential);
  const article = el('article', { class: dead ? `card card-dead card-${stateOf(credential)}` : 'card',
    'aria-labelledby': titleId, 'data-credential': credential.id },
    dead ? el('p', { class: 'card-banner' }, t(`card.banner.${stateOf(credential)}`)) : null,
    el('h2', { id: titleId, class: 'card-type' }, credential.type.name[lang()] || credential.type.configurationId),
    holder ? el('p', { class: 'card-holder' }, holder) : null,
    headline ? el('p', { class: 'card-headline' }, headline) : null,
    el('p', { class: 'card-issuer' }, t('card.issuer', { name: issuerName(credential), host: credential.issuer.host })),
    stateLine(credential),
    credential.signature === null ? el('p', { class: 'card-note' }, t('card.unverified')) : null,
    credential.signature === false ? el('p', { class: 'card-note' }, t('card.badSignature')) : null,
    credential.trust === 'not_accredited' ? el('p', { class: 'card-note' }, t('card.notAccredited')) : null,
    credential.trust === 'accredited' && !dead ? el('p', { class: 'card-trust' }, t('card.accredited')) : null,
    dead ? el('p', { class: 'card-contact' }, contactLine(credential)) : null,
    credential.trust === 'pending' ? el('p', { class: 'card-note' }, t('card.trustPending')) : null,
    credential.keyMissing && !dead ? el('p', { class: 'card-note card-restored' }, restoredLine(credential)) : null,
    el('button', { type: 'button', class: 'card-open', 'data-open': credential.id, 'aria-describedby': titleId }, t('card.open')));
  if (!dead) applyColours(article, credential); // a card that no longer works never wears the issuer's colours
  return el('li', {}, article);
}

export function renderHome() {
  const list = credentials();
  $('cards').replaceChildren(...list.map(card));
  $('home-empty').hidden = list.length > 0;
  show('home');
}

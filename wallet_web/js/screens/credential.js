// One credential: its claims, choosing what to disclose (presets), deleting it.

import { t } from '../i18n.js';
import * as store from '../store.js';
import { allKeyIds, copiesLine } from '../copies.js';
import { $, displayValue, el, setText } from '../ui.js';
import { HOLDER_NAME, claimLabel, claimMap, contactLine, credentials, findCredential, issuerName, labelMap, refused,
  restoredLine, stateLine, stateOf } from '../cards.js';
import { lang, notify, show, state } from '../state.js';
import { renderHome } from './home.js';

/** What the holder showed last time from this card, else its headline claim. */
function defaultSelection(credential) {
  if (Array.isArray(credential.lastShown)) return new Set(credential.lastShown);
  return new Set(credential.type.headline ? [credential.type.headline] : []);
}

export function renderCredential(credential, selected) {
  const claims = claimMap(credential);
  const labels = labelMap(credential);
  setText('cred-title', credential.type.name[lang()] || credential.type.configurationId);
  setText('cred-issuer', t('card.issuer', { name: issuerName(credential), host: credential.issuer.host }));
  $('cred-state').replaceChildren(stateLine(credential));
  const current = stateOf(credential);
  const warning = credential.keyMissing && !refused(credential) ? restoredLine(credential)
    : credential.trust === 'not_accredited' ? t('card.notAccredited')
      : current !== 'valid' && current !== 'unknown' ? t(`cred.warning.${current}`) : '';
  setText('cred-warning', warning);
  $('cred-warning').hidden = !warning;
  setText('cred-contact', refused(credential) ? contactLine(credential) : '');
  renderCopies(credential);
  $('screen-credential').classList.toggle('refused', refused(credential));
  $('cred-show-confirm').hidden = true;
  const order = [...labels.keys()].filter((n) => claims.has(n)).concat([...claims.keys()].filter((n) => !labels.has(n)));
  $('claim-list').replaceChildren(...order.map((name, i) => {
    const id = `claim-${i}`;
    return el('li', {},
      el('input', { type: 'checkbox', id, 'data-claim': name, checked: selected.has(name) }),
      el('label', { for: id },
        el('span', { class: 'claim-label' }, claimLabel(labels, name)),
        el('span', { class: 'claim-value' }, displayValue(claims.get(name), lang()))));
  }));
  $('show-qr').disabled = Boolean(credential.keyMissing) || credential.signature === false;
  $('cred-delete-confirm').hidden = true;
}

/** How many unused copies are left, or how to get more when they ran out. */
export function renderCopies(credential) {
  const line = copiesLine(credential);
  setText('cred-copies', line);
  $('cred-copies').hidden = !line;
}

export function openCredential(id) {
  const credential = findCredential(id);
  if (!credential) return;
  state.credentialId = id;
  renderCredential(credential, defaultSelection(credential));
  show('credential');
}

/** Show the QR; for a card a verifier will refuse, only after the holder confirms (it will fail). */
export function askBeforeShowing(event) {
  const credential = findCredential(state.credentialId);
  if (!credential || !refused(credential) || !$('cred-show-confirm').hidden) return false;
  event.preventDefault();
  setText('cred-show-question', t(`cred.showAnyway.${stateOf(credential)}`));
  $('cred-show-confirm').hidden = false;
  $('cred-show-no').focus();
  return true;
}

export function selectedClaims() {
  return [...$('claim-list').querySelectorAll('input[type=checkbox]')].filter((b) => b.checked).map((b) => b.dataset.claim);
}

export function preset(kind) {
  const credential = findCredential(state.credentialId);
  // Employer: who and the headline (e.g. the competency). Bank (know-your-customer): everything.
  const wanted = kind === 'bank' ? new Set(claimMap(credential).keys())
    : new Set(kind === 'none' ? [] : [...HOLDER_NAME, ...(credential.type.headline ? [credential.type.headline] : [])]);
  for (const box of $('claim-list').querySelectorAll('input[type=checkbox]')) box.checked = wanted.has(box.dataset.claim);
}

export async function deleteCredential() {
  const session = state.session;
  const credential = findCredential(state.credentialId);
  if (!credential) return;
  session.vault.credentials = credentials().filter((c) => c.id !== credential.id);
  await store.saveVault(session);
  for (const keyId of allKeyIds(credential)) await store.deleteKey(session.profile.id, keyId);
  notify(t('cred.deleted'));
  renderHome();
}

// Answering a verifier online (OpenID4VP): what it asks for, which credential, consent or refusal.

import { t } from '../i18n.js';
import { answer, fetchRequest, matchQuery } from '../oid4vp.js';
import { present } from '../../common/sdjwt.js';
import * as store from '../store.js';
import { useCopy } from '../copies.js';
import { $, displayValue, el, formatDateTime, setText } from '../ui.js';
import { claimLabel, claimMap, credentials, issuerName, labelMap, stateOf } from '../cards.js';
import { errorText, lang, notify, nowSeconds, show, state } from '../state.js';
import { renderHome } from './home.js';

const usable = (credential) => !credential.keyMissing && credential.signature !== false
  && !['revoked', 'suspended', 'expired'].includes(stateOf(credential));

export async function startRequest(link) {
  const session = state.session;
  state.request = null;
  ['request-host', 'request-said', 'request-items', 'request-error'].forEach((id) => $(id).replaceChildren());
  $('request-missing').hidden = true;
  $('request-share').hidden = true;
  setText('request-progress', t('request.loading'));
  show('request');
  let prepared;
  try {
    prepared = await fetchRequest(link);
  } catch (error) {
    setText('request-progress', '');
    setText('request-error', errorText(error));
    return;
  }
  if (state.session !== session) return;
  const matches = matchQuery(prepared.query, credentials(), usable);
  // Several matching credentials (one profile can hold two of a type): the holder picks (security.md #126).
  state.request = { prepared, matches, chosen: new Map((matches || []).map((m) => [m.queryId, m.candidates[0]])) };
  setText('request-progress', '');
  renderRequest();
}

export function renderRequest() {
  const request = state.request;
  if (!request) return;
  const { prepared } = request;
  // A certified name (x509_hash: checked against the certificate the QR pins) replaces the host.
  setText('request-who', t(prepared.certifiedName ? 'request.whoCertified' : 'request.who'));
  setText('request-host', prepared.certifiedName || prepared.host);
  const said = prepared.names && prepared.names[lang()];
  setText('request-said', said ? t('request.saysName', { name: said, host: prepared.host }) : '');
  $('request-said').hidden = !said;
  $('request-missing').hidden = Boolean(request.matches);
  $('request-share').hidden = !request.matches;
  $('request-items').replaceChildren(...(request.matches || []).map((match, i) => {
    const credential = request.chosen.get(match.queryId);
    const claims = claimMap(credential);
    const labels = labelMap(credential);
    const picker = match.candidates.length > 1 ? [
      el('label', { for: `request-pick-${i}` }, t('request.which')),
      el('select', { id: `request-pick-${i}`, 'data-query': match.queryId }, ...match.candidates.map((c) => el('option',
        { value: c.id, selected: c === credential },
        `${c.type.name[lang()]} · ${formatDateTime(c.receivedAt, lang())}`))),
    ] : [];
    return el('section', { class: 'request-item' },
      el('h2', {}, credential.type.name[lang()] || credential.type.configurationId),
      el('p', { class: 'sub' }, t('card.issuer', { name: issuerName(credential), host: credential.issuer.host })),
      ...picker,
      el('dl', { class: 'facts' }, ...match.names.flatMap((name) => [
        el('dt', {}, claimLabel(labels, name)), el('dd', {}, displayValue(claims.get(name), lang()))])));
  }));
  for (const select of $('request-items').querySelectorAll('select')) {
    select.addEventListener('change', () => {
      const match = request.matches.find((m) => m.queryId === select.dataset.query);
      request.chosen.set(match.queryId, match.candidates.find((c) => c.id === select.value));
      renderRequest();
    });
  }
}

export async function shareRequest() {
  const request = state.request;
  const session = state.session;
  if (!request || !request.matches) return;
  $('request-share').disabled = true;
  setText('request-error', '');
  setText('request-progress', t('request.sending'));
  try {
    const vpToken = {};
    for (const match of request.matches) {
      const credential = request.chosen.get(match.queryId);
      const key = await store.getKey(session.profile.id, credential.keyId);
      if (!key) throw Object.assign(new Error('key'), { code: 'key_missing' });
      vpToken[match.queryId] = [await present(credential.sdJwt, new Set(match.names), key, nowSeconds(),
        { aud: request.prepared.clientId, nonce: request.prepared.nonce })];
    }
    await answer(request.prepared, vpToken);
  } catch (error) {
    setText('request-progress', '');
    setText('request-error', errorText(error));
    return;
  } finally {
    $('request-share').disabled = false;
  }
  if (state.session !== session) return;
  for (const credential of new Set(request.chosen.values())) await useCopy(session, credential);
  for (const match of request.matches) {
    const credential = request.chosen.get(match.queryId);
    const labels = labelMap(credential);
    session.vault.history.unshift({ at: Date.now(), how: 'online', to: request.prepared.certifiedName || request.prepared.host, type: credential.type.name,
      issuer: credential.issuer.name, claims: match.names.map((n) => ({ name: n, label: labels.get(n) || { es: n, en: n } })) });
  }
  await store.saveVault(session);
  state.request = null;
  notify(t('request.sent', { host: request.prepared.certifiedName || request.prepared.host }));
  renderHome();
}

export async function refuseRequest() {
  const request = state.request;
  state.request = null;
  if (request) answer(request.prepared, null).catch(() => {}); // tell the verifier, best effort
  notify(t('request.refused'));
  renderHome();
}

// What was shown to whom, newest first.

import { t } from '../i18n.js';
import { $, el, formatDateTime } from '../ui.js';
import { lang, show, state } from '../state.js';

export function renderHistory() {
  const entries = state.session.vault.history;
  $('history-empty').hidden = entries.length > 0;
  $('history-list').replaceChildren(...entries.map((entry) => {
    const claims = (entry.claims || []).map((c) => (c.label && c.label[lang()]) || c.name);
    return el('li', {},
      el('p', { class: 'when' }, formatDateTime(entry.at, lang())),
      el('p', { class: 'what' }, t('history.entry', { type: (entry.type && entry.type[lang()]) || '' })),
      el('p', { class: 'claims-shown' }, claims.length ? claims.join(', ') : t('history.nothing')),
      el('p', { class: 'to-whom' }, entry.how === 'online' ? t('history.online', { host: entry.to || '' }) : t('history.offline')));
  }));
  show('history');
}

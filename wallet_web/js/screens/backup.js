// Backup: exporting the vault encrypted with a passphrase, importing one (untrusted input).

import { exportBackup, readBackup, MIN_PASSPHRASE } from '../backup.js';
import { t } from '../i18n.js';
import { splitCompact } from '../../common/sdjwt.js';
import * as store from '../store.js';
import { $, el, setText } from '../ui.js';
import { b64urlEncode, randomBytes } from '../../common/bytes.js';
import { credentials } from '../cards.js';
import { state } from '../state.js';
import { refreshCredentials } from '../refresh.js';

export async function exportVault(event) {
  event.preventDefault();
  const pass = $('export-pass').value;
  if (pass.length < MIN_PASSPHRASE) return setText('backup-message', t('backup.errorShort', { n: MIN_PASSPHRASE }));
  if (pass !== $('export-pass2').value) return setText('backup-message', t('backup.errorMatch'));
  setText('backup-message', t('backup.working'));
  const blob = await exportBackup(state.session.vault, state.session.profile.name, pass);
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: `puente-copia-${new Date().toISOString().slice(0, 10)}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  $('export-form').reset();
  setText('backup-message', t('backup.exported'));
}

const str = (value, max = 300) => (typeof value === 'string' ? value.slice(0, max) : '');
const localizedPair = (value) => ({ es: str(value && value.es), en: str(value && value.en) });
const contactOf = (value) => ({ phone: str(value && value.phone, 40), email: str(value && value.email, 200), web: str(value && value.web) });

/** A credential from a backup file, rebuilt field by field (the file is untrusted input), or null. */
function normalizeCredential(raw) {
  if (!raw || typeof raw !== 'object' || typeof raw.sdJwt !== 'string') return null;
  try {
    splitCompact(raw.sdJwt);
  } catch {
    return null;
  }
  const type = raw.type || {};
  const colour = (c) => (typeof c === 'string' && /^#[0-9a-fA-F]{6}$/.test(c) ? c : null);
  return {
    id: b64urlEncode(randomBytes(12)), sdJwt: raw.sdJwt, keyId: str(raw.keyId, 64), receivedAt: Number(raw.receivedAt) || Date.now(),
    issuer: { id: str(raw.issuer && raw.issuer.id), host: str(raw.issuer && raw.issuer.host), name: localizedPair(raw.issuer && raw.issuer.name),
      accredited: null, contact: contactOf(raw.issuer && raw.issuer.contact) },
    type: { configurationId: str(type.configurationId, 100), vct: str(type.vct), name: localizedPair(type.name), headline: str(type.headline, 100) || null,
      colours: type.colours ? { background: colour(type.colours.background), text: colour(type.colours.text) } : null },
    labels: Array.isArray(raw.labels) ? raw.labels.filter((l) => Array.isArray(l) && typeof l[0] === 'string').map((l) => [str(l[0], 100), localizedPair(l[1])]) : [],
    exp: Number.isInteger(raw.exp) ? raw.exp : 0,
    signature: raw.signature === true ? true : null,
    trust: 'pending',
    status: { value: null, checkedAt: 0 },
  };
}

export async function importVault(event) {
  event.preventDefault();
  const session = state.session;
  const file = $('import-file').files[0];
  if (!file || file.size > 4 * 1024 * 1024) return setText('backup-message', t('backup.errorFile'));
  setText('backup-message', t('backup.working'));
  let content;
  try {
    content = await readBackup(await file.text(), $('import-pass').value);
  } catch (error) {
    return setText('backup-message', t(error.message === 'bad_passphrase' ? 'backup.errorPassphrase' : 'backup.errorFile'));
  }
  if (state.session !== session) return;
  const have = new Set(credentials().map((c) => c.sdJwt));
  let added = 0;
  for (const raw of content.credentials) {
    const credential = normalizeCredential(raw);
    if (!credential || have.has(credential.sdJwt)) continue;
    credential.keyMissing = !(credential.keyId && await store.getKey(session.profile.id, credential.keyId));
    session.vault.credentials.push(credential);
    have.add(credential.sdJwt);
    added++;
  }
  await store.saveVault(session);
  $('import-form').reset();
  setText('backup-message', t('backup.imported', { n: added }));
  refreshCredentials(session);
}

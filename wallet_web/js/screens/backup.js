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

const MAX_COPIES = 20;

function wellFormed(sdJwt) {
  try {
    splitCompact(sdJwt);
    return true;
  } catch {
    return false;
  }
}

/** The copies of a backed-up credential, current first then its unused batch copies: [{sdJwt, keyId}]. */
function copiesOf(raw) {
  const spares = Array.isArray(raw.spares) ? raw.spares.slice(0, MAX_COPIES - 1) : [];
  return [{ sdJwt: raw.sdJwt, keyId: raw.keyId }, ...spares]
    .filter((c) => c && typeof c === 'object' && typeof c.sdJwt === 'string' && wellFormed(c.sdJwt))
    .map((c) => ({ sdJwt: c.sdJwt, keyId: str(c.keyId, 64) }));
}

/**
 * A credential from a backup file, rebuilt field by field (the file is untrusted input), or null.
 * Its unused batch copies come back too: those whose holder key this profile still has (restoring
 * where the keys live), in their order; with no key left here the card keeps one copy to show,
 * marked as not presentable from this phone. `hasKey(keyId)` says whether the key is here.
 */
export async function restoreCredential(raw, hasKey) {
  if (!raw || typeof raw !== 'object' || typeof raw.sdJwt !== 'string' || !wellFormed(raw.sdJwt)) return null;
  const all = copiesOf(raw);
  const usable = [];
  for (const copy of all) if (copy.keyId && await hasKey(copy.keyId)) usable.push(copy);
  const [current, ...spares] = usable.length ? usable : all.slice(0, 1);
  const copies = Number.isInteger(raw.copies) && raw.copies > 1 ? Math.min(raw.copies, MAX_COPIES) : 1;
  if (!usable.length) return { ...normalizeCredential(raw), sdJwt: current.sdJwt, keyId: current.keyId, keyMissing: true };
  return { ...normalizeCredential(raw), sdJwt: current.sdJwt, keyId: current.keyId, spares,
    copies: Math.max(copies, usable.length), copiesOut: raw.copiesOut === true && !spares.length, keyMissing: false };
}

/** The fields of a backed-up credential other than its copies, rebuilt one by one. */
function normalizeCredential(raw) {
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
  // A credential is the same one if any of its copies is (a copy shown since the backup moved on).
  const copiesHere = (c) => [c.sdJwt, ...(Array.isArray(c.spares) ? c.spares.map((s) => s.sdJwt) : [])];
  const have = new Set(credentials().flatMap(copiesHere));
  const hasKey = async (keyId) => Boolean(await store.getKey(session.profile.id, keyId));
  let added = 0;
  for (const raw of content.credentials) {
    if (!raw || typeof raw !== 'object' || copiesOf(raw).some((c) => have.has(c.sdJwt))) continue;
    const credential = await restoreCredential(raw, hasKey);
    if (!credential) continue;
    session.vault.credentials.push(credential);
    for (const text of copiesHere(credential)) have.add(text);
    added++;
  }
  await store.saveVault(session);
  $('import-form').reset();
  setText('backup-message', t('backup.imported', { n: added }));
  refreshCredentials(session);
}

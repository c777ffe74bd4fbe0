// Unlinkable presentations: a credential received as a batch keeps its unused copies (each bound to
// its own holder key, with its own salts and issuer signature). Every showing — a live QR, an online
// answer — uses the current copy and then moves to the next, so two verifiers never see the same
// copy. When the last one is reached it is kept (the credential still works) and the holder is told
// to ask the institution for a new offer to get fresh copies.

import { t } from './i18n.js';
import * as store from './store.js';

/** Copies not yet shown, the current one included. */
export const unusedCopies = (credential) => 1 + (Array.isArray(credential.spares) ? credential.spares.length : 0);

/** After a showing: the next unused copy becomes current and the used one's key is deleted. */
export async function useCopy(session, credential) {
  if (!Array.isArray(credential.spares) || !credential.spares.length) {
    credential.copiesOut = (credential.copies || 1) > 1 || credential.copiesOut === true;
    return;
  }
  const used = credential.keyId;
  const next = credential.spares.shift();
  credential.sdJwt = next.sdJwt;
  credential.keyId = next.keyId;
  await store.deleteKey(session.profile.id, used);
}

/** The card's line about copies, or '' for a credential received as a single copy. */
export function copiesLine(credential) {
  if (!credential.copies || credential.copies < 2) return '';
  if (credential.copiesOut) return t('copies.out');
  const left = unusedCopies(credential);
  return left === 1 ? t('copies.last') : t('copies.left', { n: left, total: credential.copies });
}

/** Every holder key of a credential (current and spares), for deletion. */
export const allKeyIds = (credential) => [credential.keyId, ...(credential.spares || []).map((s) => s.keyId)].filter(Boolean);

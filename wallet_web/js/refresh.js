// Keeping stored credentials current while online: trust list, signatures, status lists.

import { verifyIssuerSignature } from './oid4vci.js';
import { fetchStatus } from './status.js';
import * as store from './store.js';
import { checkCredential, fetchTrustList } from './trust.js';
import { findCredential } from './cards.js';
import { nowSeconds, state } from './state.js';
import { renderCredential, selectedClaims } from './screens/credential.js';
import { renderHome } from './screens/home.js';

/** When online: each credential against the current trust list (an accreditation can end), the
 * issuer's signature of credentials received while the network failed, and each credential's status
 * from its list. Saved only if this session is still the open one. */
export async function refreshCredentials(session) {
  if (!navigator.onLine) return;
  let changed = false;
  const list = await fetchTrustList();
  for (const credential of session.vault.credentials) {
    try {
      if (list) {
        const checked = await checkCredential(list, credential.sdJwt, nowSeconds());
        const signature = checked.trust === 'accredited' ? checked.signature : credential.signature;
        changed ||= checked.trust !== credential.trust || signature !== credential.signature;
        credential.trust = checked.trust;
        credential.signature = signature;
        if (checked.name) credential.issuer.accredited = checked.name;
      } else if (credential.signature === null) {
        const verified = await verifyIssuerSignature(credential.sdJwt, credential.issuer.id);
        if (verified !== null) {
          credential.signature = verified;
          changed = true;
        }
      }
      const status = await fetchStatus(credential.sdJwt, list);
      if (status) {
        changed ||= credential.status.value !== status;
        credential.status = { value: status, checkedAt: Date.now() };
      }
    } catch {
      // stays as it was; tried again next time
    }
  }
  if (!changed || state.session !== session) return;
  await store.saveVault(session);
  if (state.screen === 'home') renderHome();
  else if (state.screen === 'credential' && findCredential(state.credentialId)) {
    renderCredential(findCredential(state.credentialId), new Set(selectedClaims()));
  }
}

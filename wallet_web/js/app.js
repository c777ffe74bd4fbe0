// Puente web wallet: profiles on a shared phone, receiving credentials (OpenID4VCI), cards, choosing
// what to disclose and the live offline QR (PT1), history, backup and deletion (PRODUCT.md "Web wallet").
// This module starts the wallet and wires the page to the screens (screens/*.js), which share one
// state (state.js).

import { otherLanguage, savedLanguage, setLanguage, t } from './i18n.js';
import * as store from './store.js';
import { $, setText } from './ui.js';
import { findCredential } from './cards.js';
import { refreshCredentials } from './refresh.js';
import { notify, show, state } from './state.js';
import { exportVault, importVault } from './screens/backup.js';
import { askBeforeShowing, deleteCredential, openCredential, preset, renderCredential, selectedClaims } from './screens/credential.js';
import { renderHistory } from './screens/history.js';
import { renderHome } from './screens/home.js';
import { createProfile, deleteProfile, lock, showProfiles, showUnlock, unlock, watchLockout } from './screens/profiles.js';
import { closeQr, renderQrText, showQr } from './screens/qr.js';
import { acceptOffer, contactIssuer, handleScanned, openReceive, renderOfferDetails, scanFile, scanWithCamera,
  stopCamera } from './screens/receive.js';
import { refuseRequest, renderRequest, shareRequest } from './screens/request.js';

const IDLE_MS = 3 * 60_000; // lock after three minutes without a touch
const HIDDEN_LOCK_MS = 60_000; // or after a minute in the background

async function switchLanguage() {
  const selected = state.screen === 'credential' ? new Set(selectedClaims()) : null;
  await setLanguage(otherLanguage());
  $('lang-toggle').textContent = t('app.otherLanguage');
  $('lang-toggle').setAttribute('lang', otherLanguage());
  if (state.screen === 'unlock') watchLockout((await store.getProfile(state.profileId) || {}).lockedUntil || 0);
  if (!state.session) return;
  if (state.screen === 'home') renderHome();
  else if (state.screen === 'credential') renderCredential(findCredential(state.credentialId), selected);
  else if (state.screen === 'history') renderHistory();
  else if (state.screen === 'qr') renderQrText();
  else if (state.screen === 'offer') renderOfferDetails();
  else if (state.screen === 'request') renderRequest();
}

function watchIdle() {
  const touch = () => { state.lastActivity = Date.now(); };
  for (const type of ['pointerdown', 'keydown', 'touchstart', 'input']) document.addEventListener(type, touch, { capture: true, passive: true });
  setInterval(() => {
    // A QR on screen is being shown to someone: it stays until closed or the page is hidden.
    if (state.session && state.screen !== 'qr' && Date.now() - state.lastActivity > IDLE_MS) lock('idle');
  }, 5000);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden && state.session && state.screen === 'qr') lock('idle');
    else if (document.hidden) state.hiddenAt = Date.now();
    else if (state.session && state.hiddenAt && Date.now() - state.hiddenAt > HIDDEN_LOCK_MS) lock('idle');
  });
  window.addEventListener('online', () => { if (state.session) refreshCredentials(state.session); });
  window.addEventListener('offline', () => notify(t('app.offline')));
}

function on(id, type, handler) {
  $(id).addEventListener(type, (event) => {
    Promise.resolve(handler(event)).catch((error) => {
      console.warn('wallet action failed', error && error.name);
      notify(t('error.generic'));
    });
  });
}

function wire() {
  on('lang-toggle', 'click', switchLanguage);
  on('lock-button', 'click', () => lock('button'));
  on('new-profile', 'click', () => { $('create-form').reset(); setText('create-error', ''); show('create'); });
  on('profile-list', 'click', (event) => {
    const button = event.target.closest('button[data-profile]');
    if (button) return showUnlock(button.dataset.profile);
  });
  on('create-form', 'submit', createProfile);
  on('create-cancel', 'click', showProfiles);
  on('unlock-form', 'submit', unlock);
  on('unlock-other', 'click', () => { clearInterval(state.lockoutTimer); state.profileId = null; return showProfiles(); });
  on('cards', 'click', (event) => {
    const button = event.target.closest('button[data-open]');
    if (button) openCredential(button.dataset.open);
  });
  on('receive-open', 'click', () => openReceive('receive'));
  on('share-open', 'click', () => openReceive('share'));
  on('request-share', 'click', shareRequest);
  on('request-refuse', 'click', refuseRequest);
  on('history-open', 'click', renderHistory);
  on('backup-open', 'click', () => { setText('backup-message', ''); show('backup'); });
  on('switch-profile', 'click', () => lock('switch'));
  on('profile-delete-open', 'click', () => { setText('delete-error', ''); show('delete-profile'); });
  on('scan-camera', 'click', scanWithCamera);
  on('scan-stop', 'click', stopCamera);
  on('scan-file', 'change', scanFile);
  on('paste-form', 'submit', (event) => { event.preventDefault(); handleScanned($('offer-input').value); });
  on('receive-cancel', 'click', () => { stopCamera(); renderHome(); });
  on('offer-contact', 'click', contactIssuer);
  on('offer-cancel', 'click', () => { state.offer = null; renderHome(); });
  on('offer-reject', 'click', () => { state.offer = null; renderHome(); });
  on('txcode-form', 'submit', acceptOffer);
  on('disclose-form', 'submit', (event) => (askBeforeShowing(event) ? null : showQr(event)));
  on('cred-show-yes', 'click', showQr);
  on('cred-show-no', 'click', () => { $('cred-show-confirm').hidden = true; $('show-qr').focus(); });
  on('preset-employer', 'click', () => preset('employer'));
  on('preset-bank', 'click', () => preset('bank'));
  on('preset-none', 'click', () => preset('none'));
  on('cred-back', 'click', renderHome);
  on('cred-delete', 'click', () => { $('cred-delete-confirm').hidden = false; $('cred-delete-yes').focus(); });
  on('cred-delete-no', 'click', () => { $('cred-delete-confirm').hidden = true; });
  on('cred-delete-yes', 'click', deleteCredential);
  on('qr-close', 'click', closeQr);
  on('export-form', 'submit', exportVault);
  on('import-form', 'submit', importVault);
  on('delete-profile-form', 'submit', deleteProfile);
  for (const button of document.querySelectorAll('button.back')) button.addEventListener('click', () => renderHome());
  document.addEventListener('keydown', (event) => { if (event.key === 'Escape' && state.screen === 'qr') closeQr(); });
}

function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  let url = '/sw.js';
  if (self.trustedTypes && self.trustedTypes.createPolicy) {
    // The page's CSP requires Trusted Types: this policy lets exactly one script URL through.
    const policy = self.trustedTypes.createPolicy('puente-wallet', {
      createScriptURL: (value) => {
        if (value !== '/sw.js') throw new TypeError('script URL not allowed');
        return value;
      },
    });
    url = policy.createScriptURL('/sw.js');
  }
  navigator.serviceWorker.register(url, { scope: '/', updateViaCache: 'none' }).catch(() => {});
}

async function boot() {
  await setLanguage(savedLanguage());
  $('lang-toggle').textContent = t('app.otherLanguage');
  $('lang-toggle').setAttribute('lang', otherLanguage());
  const params = new URLSearchParams(location.search);
  if (params.has('offer')) {
    // Opened from an offer link: keep the offer in memory only and out of the address bar and history.
    state.pendingOffer = params.get('offer');
    history.replaceState(null, '', location.pathname);
  }
  wire();
  watchIdle();
  registerServiceWorker();
  const profiles = await store.listProfiles();
  if (profiles.length === 1 && !state.pendingOffer) await showUnlock(profiles[0].id);
  else await showProfiles();
  document.body.dataset.ready = 'true';
}

boot();

// The wallet's one state object and what every screen shares: switching screens, the notice line,
// error text. Each screen module (screens/*.js) reads and writes this state; app.js wires them.

import { currentLanguage, t } from './i18n.js';
import { $, setText } from './ui.js';

export const state = {
  session: null, // {profile, key, vault} while unlocked
  profileId: null, // the profile on the unlock screen
  screen: null,
  pendingOffer: null, // an offer link that opened the wallet, kept until unlocked
  offer: null, // {parsed, prepared} while receiving
  request: null, // {prepared, matches} while answering a verifier online
  credentialId: null,
  qr: null, // {timer, deadline, ...} while the QR shows
  camera: null,
  lockoutTimer: null,
  lastActivity: Date.now(),
  hiddenAt: null,
  wakeLock: null,
};

// Elements whose content comes from the open profile: emptied when the wallet locks.
export const DYNAMIC = ['cards', 'claim-list', 'history-list', 'profile-list', 'cred-title', 'cred-issuer', 'cred-state',
  'cred-warning', 'cred-contact', 'offer-host', 'offer-from-name', 'offer-from-trust', 'offer-issuer-name', 'offer-type-name', 'offer-issuer-host', 'offer-progress',
  'offer-error', 'qr-what', 'qr-countdown', 'qr-error', 'backup-message', 'receive-error', 'delete-error',
  'unlock-name', 'unlock-message', 'create-error', 'who', 'notice', 'request-host', 'request-items',
  'request-progress', 'request-error'];

export const nowSeconds = () => Math.floor(Date.now() / 1000);
export const lang = () => currentLanguage();

export function show(name) {
  for (const screen of document.querySelectorAll('.screen')) screen.hidden = screen.id !== `screen-${name}`;
  $('loading').hidden = true;
  state.screen = name;
  $('lock-button').hidden = !state.session;
  $('who').hidden = !state.session;
  setText('who', state.session ? state.session.profile.name : '');
  document.body.classList.toggle('qr-open', name === 'qr');
  const heading = $(`screen-${name}`).querySelector('h1');
  if (heading) heading.focus({ preventScroll: false });
}

let noticeTimer = null;

export function notify(text) {
  setText('notice', text);
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => setText('notice', ''), 8000);
}

export function errorText(error) {
  const code = error && typeof error.code === 'string' ? error.code : 'generic';
  const text = t(`error.${code}`);
  return text === `error.${code}` ? t('error.generic') : text;
}

// Profiles on a shared phone: choosing one, creating one with a PIN, unlocking (with growing delays
// after wrong PINs), locking, and deleting a profile with everything in it.

import { t } from '../i18n.js';
import * as store from '../store.js';
import { $, el, setText } from '../ui.js';
import { DYNAMIC, notify, show, state } from '../state.js';
import { renderHome } from './home.js';
import { clearQr, stopQr } from './qr.js';
import { startOffer, stopCamera } from './receive.js';
import { refreshCredentials } from '../refresh.js';

export async function showProfiles() {
  const profiles = await store.listProfiles();
  const list = $('profile-list');
  list.replaceChildren(...profiles.map((p) => el('li', {}, el('button', { type: 'button', class: 'choice', 'data-profile': p.id }, p.name))));
  if (!profiles.length) list.append(el('li', { class: 'empty' }, t('profiles.none')));
  // An offer link opened the wallet: first, for whom (a shared phone has several people's profiles).
  const title = $('profiles-title');
  title.dataset.i18n = state.pendingOffer ? 'profiles.forWhom' : 'profiles.title';
  title.textContent = t(title.dataset.i18n);
  $('profiles-offer').hidden = !state.pendingOffer;
  show('profiles');
}

function weakPin(pin) {
  const digits = [...pin].map(Number);
  const steps = new Set(digits.slice(1).map((d, i) => (d - digits[i] + 10) % 10));
  return steps.size === 1 && [0, 1, 9].includes([...steps][0]); // 000000, 123456, 987654…
}

export async function createProfile(event) {
  event.preventDefault();
  const name = $('create-name').value.trim();
  const pin = $('create-pin').value;
  let problem = null;
  if (!name) problem = 'create.errorName';
  else if (!new RegExp(`^\\d{${store.MIN_PIN},12}$`).test(pin)) problem = 'create.errorPin';
  else if (weakPin(pin)) problem = 'create.errorWeak';
  else if (pin !== $('create-pin2').value) problem = 'create.errorMatch';
  if (problem) {
    setText('create-error', t(problem));
    return;
  }
  setText('create-error', t('create.working'));
  const session = await store.createProfile(name, pin);
  $('create-form').reset();
  setText('create-error', '');
  startSession(session);
}

export async function showUnlock(profileId, message = '') {
  const profile = await store.getProfile(profileId);
  if (!profile) return showProfiles();
  state.profileId = profileId;
  setText('unlock-name', profile.name);
  setText('unlock-message', message);
  $('unlock-form').reset();
  $('unlock-offer').hidden = !state.pendingOffer;
  show('unlock');
  $('unlock-pin').focus();
  watchLockout(profile.lockedUntil);
}

export function watchLockout(lockedUntil) {
  clearInterval(state.lockoutTimer);
  const button = $('unlock-submit');
  const tick = () => {
    const left = Math.ceil((lockedUntil - Date.now()) / 1000);
    if (left > 0) {
      button.disabled = true;
      button.textContent = t('unlock.wait', { s: left });
      setText('unlock-message', t('unlock.lockedOut', { s: left }));
    } else {
      clearInterval(state.lockoutTimer);
      button.disabled = false;
      button.textContent = t('unlock.submit');
      if (lockedUntil) setText('unlock-message', t('unlock.tryAgain'));
    }
  };
  if (lockedUntil > Date.now()) {
    tick();
    state.lockoutTimer = setInterval(tick, 1000);
  } else {
    button.disabled = false;
    button.textContent = t('unlock.submit');
  }
}

export async function unlock(event) {
  event.preventDefault();
  const button = $('unlock-submit');
  if (button.disabled) return;
  const pin = $('unlock-pin').value;
  button.disabled = true;
  setText('unlock-message', t('unlock.checking'));
  const result = await store.unlock(state.profileId, pin);
  $('unlock-pin').value = '';
  button.disabled = false;
  if (result.ok) {
    setText('unlock-message', '');
    startSession(result.session);
    return;
  }
  if (result.missing) return showProfiles();
  if (result.lockedUntil > Date.now()) {
    watchLockout(result.lockedUntil);
  } else {
    setText('unlock-message', t('unlock.wrong', { n: Math.max(0, 5 - result.failures) }));
  }
  $('unlock-pin').focus();
}

function startSession(session) {
  state.session = session;
  state.profileId = session.profile.id;
  state.lastActivity = Date.now();
  renderHome();
  if (state.pendingOffer) {
    const offer = state.pendingOffer;
    state.pendingOffer = null;
    startOffer(offer);
  }
  refreshCredentials(session);
}

/** Lock: forget the key and the decrypted vault, empty every screen that showed them. */
export function lock(reason) {
  stopQr();
  stopCamera();
  state.session = null;
  state.offer = null;
  state.request = null;
  state.credentialId = null;
  for (const id of DYNAMIC) $(id).replaceChildren();
  for (const form of document.forms) form.reset();
  clearQr();
  $('cred-delete-confirm').hidden = true;
  if (reason === 'switch' || !state.profileId) showProfiles();
  else showUnlock(state.profileId, reason === 'idle' ? t('unlock.idle') : '');
}

export async function deleteProfile(event) {
  event.preventDefault();
  const id = state.session.profile.id;
  const check = await store.unlock(id, $('delete-pin').value);
  if (!check.ok) {
    $('delete-pin').value = '';
    setText('delete-error', check.lockedUntil > Date.now() ? t('unlock.lockedOut', { s: Math.ceil((check.lockedUntil - Date.now()) / 1000) }) : t('deleteProfile.wrongPin'));
    return;
  }
  await store.deleteProfile(id);
  state.profileId = null;
  lock('switch');
  notify(t('deleteProfile.done'));
}

// The live offline QR (PT1): a fresh key-binding JWT every 30 seconds, shown at its best for a cheap
// phone camera at arm's length: as wide as the screen (quiet zone included), whole device pixels per
// module with no smoothing (qr_render.js), the screen kept awake (Screen Wake Lock, taken again when
// the page comes back), and advice to turn the brightness up.

import { t } from '../i18n.js';
import { encode } from '../../common/pt1.js';
import { drawQr } from '../qr_render.js';
import { present } from '../../common/sdjwt.js';
import * as store from '../store.js';
import { useCopy } from '../copies.js';
import { $, setText } from '../ui.js';
import { claimLabel, findCredential, labelMap, restoredLine } from '../cards.js';
import { nowSeconds, show, state } from '../state.js';
import { renderCopies, selectedClaims } from './credential.js';
import { renderHome } from './home.js';

const QR_REFRESH_SECONDS = 30; // a fresh KB-JWT this often; verifiers accept one for 5 minutes

export async function showQr(event) {
  event.preventDefault();
  $('cred-show-confirm').hidden = true;
  const session = state.session;
  const credential = findCredential(state.credentialId);
  const names = selectedClaims();
  const key = credential && await store.getKey(session.profile.id, credential.keyId);
  const sdJwt = credential && credential.sdJwt; // this showing's copy; the next showing gets another
  if (!key) {
    if (!credential) return;
    setText('cred-warning', restoredLine(credential));
    $('cred-warning').hidden = false;
    return;
  }
  const labels = labelMap(credential);
  session.vault.history.unshift({
    at: Date.now(), how: 'qr', type: credential.type.name,
    issuer: credential.issuer.name, claims: names.map((n) => ({ name: n, label: labels.get(n) || { es: n, en: n } })),
  });
  session.vault.history.length = Math.min(session.vault.history.length, 500);
  credential.lastShown = names; // the next time this card opens, the same choice is ticked
  await useCopy(session, credential);
  await store.saveVault(session);
  stopQr();
  clearQr();
  state.qr = { credential, sdJwt, names: new Set(names), key, deadline: 0, timer: null, generation: 0 };
  setText('qr-error', '');
  renderQrText();
  show('qr');
  keepAwake();
  await refreshQr();
  state.qr && (state.qr.timer = setInterval(tickQr, 1000));
}

export function renderQrText() {
  if (!state.qr) return;
  const labels = labelMap(state.qr.credential);
  const shown = [...state.qr.names].map((n) => claimLabel(labels, n));
  setText('qr-what', shown.length ? t('qr.showing', { claims: shown.join(', ') }) : t('qr.showingNothing'));
}

async function refreshQr() {
  const qr = state.qr;
  if (!qr) return;
  const canvas = $('qr-canvas');
  try {
    const presentation = await present(qr.sdJwt, qr.names, qr.key, nowSeconds());
    const text = await encode(presentation);
    if (state.qr !== qr) return;
    qr.text = text;
    drawSized(canvas, text);
    canvas.dataset.generation = String(++qr.generation);
    qr.deadline = Date.now() + QR_REFRESH_SECONDS * 1000;
    tickQr();
  } catch (error) {
    setText('qr-error', t(error && error.message === 'too_large' ? 'qr.tooLarge' : 'error.generic'));
  }
}

/** Full width (the canvas carries its own quiet zone), but short enough that the whole code shows. */
function drawSized(canvas, text) {
  const width = Math.min(window.innerWidth, window.innerHeight - 150);
  canvas.dataset.version = drawQr(canvas, text, Math.max(width, 200));
}

window.addEventListener('resize', () => {
  if (state.qr && state.qr.text) drawSized($('qr-canvas'), state.qr.text);
});

function tickQr() {
  const qr = state.qr;
  if (!qr || !qr.deadline) return;
  const left = Math.ceil((qr.deadline - Date.now()) / 1000);
  if (left <= 0) {
    qr.deadline = 0;
    refreshQr();
    return;
  }
  setText('qr-countdown', t('qr.countdown', { s: left }));
}

export function stopQr() {
  if (state.qr) clearInterval(state.qr.timer);
  state.qr = null;
  if (state.wakeLock) state.wakeLock.release().catch(() => {});
  state.wakeLock = null;
}

/** Keeps the screen on while the QR shows; where the browser cannot, asks the holder to touch it. */
async function keepAwake() {
  const screen = $('screen-qr');
  let lock = null;
  try {
    if ('wakeLock' in navigator) lock = await navigator.wakeLock.request('screen');
  } catch {
    // not allowed here (or not now): the screen may dim
  }
  if (!state.qr) {
    if (lock) lock.release().catch(() => {});
    return;
  }
  state.wakeLock = lock;
  screen.dataset.wakeLock = lock ? 'on' : 'off';
  $('qr-awake').hidden = Boolean(lock);
}

// The browser drops the wake lock whenever the page is hidden: take it again when it comes back.
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && state.qr && (!state.wakeLock || state.wakeLock.released)) keepAwake();
});

export function clearQr() {
  const canvas = $('qr-canvas');
  canvas.width = 0;
  canvas.height = 0;
  delete canvas.dataset.generation;
  delete canvas.dataset.version;
}

export function closeQr() {
  stopQr();
  clearQr();
  const credential = findCredential(state.credentialId);
  if (credential) renderCopies(credential);
  if (credential) show('credential');
  else renderHome();
}

// Puente web wallet: profiles on a shared phone, receiving credentials (OpenID4VCI), cards, choosing
// what to disclose and the live offline QR (PT1), history, backup and deletion (PRODUCT.md "Web wallet").

import { exportBackup, readBackup, MIN_PASSPHRASE } from './backup.js';
import { currentLanguage, otherLanguage, savedLanguage, setLanguage, t } from './i18n.js';
import { parseOfferInput, prepareOffer, redeem, verifyIssuerSignature } from './oid4vci.js';
import { answer, fetchRequest, matchQuery, parseRequestLink } from './oid4vp.js';
import { encode } from '../common/pt1.js';
import { drawQr } from './qr_render.js';
import { scanCamera, scanImageFile } from './scan.js';
import { disclosedClaims, payloadOf, present, splitCompact } from '../common/sdjwt.js';
import { fetchStatus } from './status.js';
import { checkCredential, fetchTrustList } from './trust.js';
import * as store from './store.js';
import { $, contrast, displayValue, el, formatDate, formatDateTime, setText } from './ui.js';
import { b64urlEncode, randomBytes } from '../common/bytes.js';

const IDLE_MS = 3 * 60_000; // lock after three minutes without a touch
const HIDDEN_LOCK_MS = 60_000; // or after a minute in the background
const QR_REFRESH_SECONDS = 30; // a fresh KB-JWT this often; verifiers accept one for 5 minutes
const HOLDER_NAME = ['given_name', 'family_name'];
const DYNAMIC = ['cards', 'claim-list', 'history-list', 'profile-list', 'cred-title', 'cred-issuer', 'cred-state',
  'cred-warning', 'offer-host', 'offer-issuer-name', 'offer-type-name', 'offer-issuer-host', 'offer-progress',
  'offer-error', 'qr-what', 'qr-countdown', 'qr-error', 'backup-message', 'receive-error', 'delete-error',
  'unlock-name', 'unlock-message', 'create-error', 'who', 'notice', 'request-host', 'request-items',
  'request-progress', 'request-error'];

const state = {
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

const nowSeconds = () => Math.floor(Date.now() / 1000);
const lang = () => currentLanguage();

// ---------------------------------------------------------------------------- screens

function show(name) {
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

function notify(text) {
  setText('notice', text);
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => setText('notice', ''), 8000);
}

function errorText(error) {
  const code = error && typeof error.code === 'string' ? error.code : 'generic';
  const text = t(`error.${code}`);
  return text === `error.${code}` ? t('error.generic') : text;
}

// ---------------------------------------------------------------------------- profiles, PIN, lock

async function showProfiles() {
  const profiles = await store.listProfiles();
  const list = $('profile-list');
  list.replaceChildren(...profiles.map((p) => el('li', {}, el('button', { type: 'button', class: 'choice', 'data-profile': p.id }, p.name))));
  if (!profiles.length) list.append(el('li', { class: 'empty' }, t('profiles.none')));
  show('profiles');
}

function weakPin(pin) {
  const digits = [...pin].map(Number);
  const steps = new Set(digits.slice(1).map((d, i) => (d - digits[i] + 10) % 10));
  return steps.size === 1 && [0, 1, 9].includes([...steps][0]); // 000000, 123456, 987654…
}

async function createProfile(event) {
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

async function showUnlock(profileId, message = '') {
  const profile = await store.getProfile(profileId);
  if (!profile) return showProfiles();
  state.profileId = profileId;
  setText('unlock-name', profile.name);
  setText('unlock-message', message);
  $('unlock-form').reset();
  show('unlock');
  $('unlock-pin').focus();
  watchLockout(profile.lockedUntil);
}

function watchLockout(lockedUntil) {
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

async function unlock(event) {
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
function lock(reason) {
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

// ---------------------------------------------------------------------------- cards

const credentials = () => state.session.vault.credentials;
const findCredential = (id) => credentials().find((c) => c.id === id) || null;

function claimMap(credential) {
  const claims = new Map();
  try {
    for (const { name, value } of disclosedClaims(credential.sdJwt)) claims.set(name, value);
  } catch {
    // a damaged entry shows without claims
  }
  return claims;
}

const labelMap = (credential) => new Map(Array.isArray(credential.labels) ? credential.labels : []);

function claimLabel(labels, name) {
  const label = labels.get(name);
  return (label && label[lang()]) || name;
}

function stateOf(credential) {
  if (credential.exp && credential.exp <= nowSeconds()) return 'expired';
  if (credential.status && credential.status.value) return credential.status.value;
  return 'unknown';
}

function stateLine(credential) {
  const current = stateOf(credential);
  const parts = [el('span', { class: `badge badge-${current}` }, t(`state.${current}`))];
  if (credential.exp) parts.push(el('span', { class: 'expiry' }, t('card.expires', { date: formatDate(credential.exp, lang()) })));
  return el('p', { class: 'state' }, ...parts);
}

function applyColours(node, credential) {
  const colours = credential.type && credential.type.colours;
  // Issuer colours are used only when they keep text readable (WCAG AA).
  if (colours && colours.background && colours.text && contrast(colours.background, colours.text) >= 4.5) {
    node.style.backgroundColor = colours.background;
    node.style.color = colours.text;
  }
}

/** The issuer's name: as the trust list names it when it was checked there, else its own metadata. */
function issuerName(credential) {
  return credential.issuer.accredited || credential.issuer.name[lang()] || credential.issuer.host;
}

function card(credential) {
  const claims = claimMap(credential);
  const titleId = `card-${credential.id}`;
  const holder = HOLDER_NAME.map((n) => claims.get(n)).filter((v) => typeof v === 'string').join(' ');
  const headline = credential.type.headline && claims.has(credential.type.headline)
    ? displayValue(claims.get(credential.type.headline), lang()) : null;
  const article = el('article', { class: 'card', 'aria-labelledby': titleId, 'data-credential': credential.id },
    el('h2', { id: titleId, class: 'card-type' }, credential.type.name[lang()] || credential.type.configurationId),
    holder ? el('p', { class: 'card-holder' }, holder) : null,
    headline ? el('p', { class: 'card-headline' }, headline) : null,
    el('p', { class: 'card-issuer' }, t('card.issuer', { name: issuerName(credential), host: credential.issuer.host })),
    stateLine(credential),
    credential.signature === null ? el('p', { class: 'card-note' }, t('card.unverified')) : null,
    credential.signature === false ? el('p', { class: 'card-note' }, t('card.badSignature')) : null,
    credential.trust === 'not_accredited' ? el('p', { class: 'card-note' }, t('card.notAccredited')) : null,
    credential.trust === 'accredited' ? el('p', { class: 'card-trust' }, t('card.accredited')) : null,
    credential.trust === 'pending' ? el('p', { class: 'card-note' }, t('card.trustPending')) : null,
    credential.keyMissing ? el('p', { class: 'card-note' }, t('card.keyMissing')) : null,
    el('button', { type: 'button', class: 'card-open', 'data-open': credential.id, 'aria-describedby': titleId }, t('card.open')));
  applyColours(article, credential);
  return el('li', {}, article);
}

function renderHome() {
  const list = credentials();
  $('cards').replaceChildren(...list.map(card));
  $('home-empty').hidden = list.length > 0;
  show('home');
}

// ---------------------------------------------------------------------------- one credential: disclose

function defaultSelection(credential) {
  return new Set(credential.type.headline ? [credential.type.headline] : []);
}

function renderCredential(credential, selected) {
  const claims = claimMap(credential);
  const labels = labelMap(credential);
  setText('cred-title', credential.type.name[lang()] || credential.type.configurationId);
  setText('cred-issuer', t('card.issuer', { name: issuerName(credential), host: credential.issuer.host }));
  $('cred-state').replaceChildren(stateLine(credential));
  const current = stateOf(credential);
  const warning = credential.keyMissing ? t('card.keyMissing')
    : credential.trust === 'not_accredited' ? t('card.notAccredited')
      : current !== 'valid' && current !== 'unknown' ? t(`cred.warning.${current}`) : '';
  setText('cred-warning', warning);
  $('cred-warning').hidden = !warning;
  const order = [...labels.keys()].filter((n) => claims.has(n)).concat([...claims.keys()].filter((n) => !labels.has(n)));
  $('claim-list').replaceChildren(...order.map((name, i) => {
    const id = `claim-${i}`;
    return el('li', {},
      el('input', { type: 'checkbox', id, 'data-claim': name, checked: selected.has(name) }),
      el('label', { for: id },
        el('span', { class: 'claim-label' }, claimLabel(labels, name)),
        el('span', { class: 'claim-value' }, displayValue(claims.get(name), lang()))));
  }));
  $('show-qr').disabled = Boolean(credential.keyMissing) || credential.signature === false;
  $('cred-delete-confirm').hidden = true;
}

function openCredential(id) {
  const credential = findCredential(id);
  if (!credential) return;
  state.credentialId = id;
  renderCredential(credential, defaultSelection(credential));
  show('credential');
}

function selectedClaims() {
  return [...$('claim-list').querySelectorAll('input[type=checkbox]')].filter((b) => b.checked).map((b) => b.dataset.claim);
}

function preset(kind) {
  const credential = findCredential(state.credentialId);
  // Employer: who and the headline (e.g. the competency). Bank (know-your-customer): everything.
  const wanted = kind === 'bank' ? new Set(claimMap(credential).keys())
    : new Set(kind === 'none' ? [] : [...HOLDER_NAME, ...defaultSelection(credential)]);
  for (const box of $('claim-list').querySelectorAll('input[type=checkbox]')) box.checked = wanted.has(box.dataset.claim);
}

async function deleteCredential() {
  const session = state.session;
  const credential = findCredential(state.credentialId);
  if (!credential) return;
  session.vault.credentials = credentials().filter((c) => c.id !== credential.id);
  await store.saveVault(session);
  await store.deleteKey(session.profile.id, credential.keyId);
  notify(t('cred.deleted'));
  renderHome();
}

// ---------------------------------------------------------------------------- the live QR

async function showQr(event) {
  event.preventDefault();
  const session = state.session;
  const credential = findCredential(state.credentialId);
  const names = selectedClaims();
  const key = credential && await store.getKey(session.profile.id, credential.keyId);
  if (!key) {
    setText('cred-warning', t('card.keyMissing'));
    $('cred-warning').hidden = false;
    return;
  }
  const labels = labelMap(credential);
  session.vault.history.unshift({
    at: Date.now(), how: 'qr', type: credential.type.name,
    issuer: credential.issuer.name, claims: names.map((n) => ({ name: n, label: labels.get(n) || { es: n, en: n } })),
  });
  session.vault.history.length = Math.min(session.vault.history.length, 500);
  await store.saveVault(session);
  stopQr();
  clearQr();
  state.qr = { credential, names: new Set(names), key, deadline: 0, timer: null, generation: 0 };
  setText('qr-error', '');
  renderQrText();
  show('qr');
  keepAwake();
  await refreshQr();
  state.qr && (state.qr.timer = setInterval(tickQr, 1000));
}

function renderQrText() {
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
    const presentation = await present(qr.credential.sdJwt, qr.names, qr.key, nowSeconds());
    const text = await encode(presentation);
    if (state.qr !== qr) return;
    const width = Math.min(window.innerWidth - 24, window.innerHeight - 190, 640);
    canvas.dataset.version = drawQr(canvas, text, Math.max(width, 200));
    canvas.dataset.generation = String(++qr.generation);
    qr.deadline = Date.now() + QR_REFRESH_SECONDS * 1000;
    tickQr();
  } catch (error) {
    setText('qr-error', t(error && error.message === 'too_large' ? 'qr.tooLarge' : 'error.generic'));
  }
}

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

function stopQr() {
  if (state.qr) clearInterval(state.qr.timer);
  state.qr = null;
  if (state.wakeLock) state.wakeLock.release().catch(() => {});
  state.wakeLock = null;
}

async function keepAwake() {
  try {
    if ('wakeLock' in navigator) state.wakeLock = await navigator.wakeLock.request('screen');
  } catch {
    // not allowed here: the screen may dim
  }
}

function clearQr() {
  const canvas = $('qr-canvas');
  canvas.width = 0;
  canvas.height = 0;
  delete canvas.dataset.generation;
  delete canvas.dataset.version;
}

function closeQr() {
  stopQr();
  clearQr();
  const credential = findCredential(state.credentialId);
  if (credential) show('credential');
  else renderHome();
}

// ---------------------------------------------------------------------------- receiving

function openReceive(mode = 'receive') {
  $('paste-form').reset();
  setText('receive-error', '');
  const share = mode === 'share';
  for (const [id, key] of [['receive-title', 'title'], ['receive-help', 'help'], ['offer-input-label', 'paste']]) {
    $(id).dataset.i18n = `receive.${share ? `share${key[0].toUpperCase()}${key.slice(1)}` : key}`;
    $(id).textContent = t($(id).dataset.i18n);
  }
  $('offer-input').placeholder = share ? 'openid4vp://…' : 'openid-credential-offer://…';
  show('receive');
}

/** Text from a scan, a paste or a link: a credential offer or a verifier's presentation request. */
function handleScanned(raw) {
  let link;
  try {
    link = parseRequestLink(raw);
  } catch (error) {
    setText('receive-error', errorText(error));
    return;
  }
  if (link) startRequest(link);
  else startOffer(raw);
}

function startOffer(raw) {
  let parsed;
  try {
    parsed = parseOfferInput(raw);
  } catch (error) {
    if (state.screen !== 'receive') openReceive();
    setText('receive-error', errorText(error));
    return;
  }
  state.offer = { parsed, prepared: null };
  setText('offer-host', parsed.host);
  setText('offer-progress', '');
  setText('offer-error', '');
  $('offer-step-host').hidden = false;
  $('offer-step-accept').hidden = true;
  show('offer');
}

async function contactIssuer() {
  const offer = state.offer;
  if (!offer) return;
  $('offer-contact').disabled = true;
  setText('offer-error', '');
  setText('offer-progress', t('offer.connecting'));
  try {
    offer.prepared = await prepareOffer(offer.parsed);
  } catch (error) {
    setText('offer-progress', '');
    setText('offer-error', errorText(error));
    return;
  } finally {
    $('offer-contact').disabled = false;
  }
  if (state.offer !== offer) return;
  setText('offer-progress', '');
  renderOfferDetails();
  $('offer-step-host').hidden = true;
  $('offer-step-accept').hidden = false;
  const input = $('tx-code');
  input.value = '';
  input.maxLength = (offer.prepared.txCode && offer.prepared.txCode.length) || 12;
  input.inputMode = !offer.prepared.txCode || offer.prepared.txCode.numeric ? 'numeric' : 'text';
  input.required = Boolean(offer.prepared.txCode);
  input.focus();
}

function renderOfferDetails() {
  const prepared = state.offer && state.offer.prepared;
  if (!prepared) return;
  setText('offer-issuer-name', prepared.issuerName[lang()] || prepared.host);
  setText('offer-type-name', prepared.typeName[lang()] || prepared.configurationId);
  setText('offer-issuer-host', prepared.host);
}

async function acceptOffer(event) {
  event.preventDefault();
  const offer = state.offer;
  const session = state.session;
  if (!offer || !offer.prepared || !session) return;
  const code = $('tx-code').value.trim();
  const spec = offer.prepared.txCode;
  if (spec && ((spec.length && code.length !== spec.length) || (spec.numeric && !/^\d+$/.test(code)) || !code)) {
    setText('offer-error', t('offer.badCode', { n: spec.length || '' }));
    return;
  }
  $('offer-accept').disabled = true;
  setText('offer-error', '');
  setText('offer-progress', t('offer.receiving'));
  let received;
  try {
    received = await redeem(offer.prepared, code);
  } catch (error) {
    setText('offer-progress', '');
    setText('offer-error', errorText(error));
    return;
  } finally {
    $('offer-accept').disabled = false;
  }
  if (state.session !== session) return; // locked meanwhile
  const keyId = await store.storeKey(session.profile.id, received.key);
  const prepared = offer.prepared;
  session.vault.credentials.push({
    id: b64urlEncode(randomBytes(12)), sdJwt: received.sdJwt, keyId, receivedAt: Date.now(),
    issuer: { id: prepared.issuer, host: prepared.host, name: prepared.issuerName, accredited: received.trust.name || null },
    trust: received.trust.trust,
    type: { configurationId: prepared.configurationId, vct: prepared.vct, name: prepared.typeName,
      headline: received.type.headline || null, colours: received.type.colours || null },
    labels: prepared.labels, exp: received.payload.exp, signature: received.signature,
    status: { value: null, checkedAt: 0 },
  });
  await store.saveVault(session);
  state.offer = null;
  notify(t('offer.saved'));
  renderHome();
  refreshCredentials(session);
}

async function scanWithCamera() {
  stopCamera();
  setText('receive-error', '');
  $('scan-box').hidden = false;
  const camera = scanCamera($('scan-video'));
  state.camera = camera;
  try {
    const text = await camera.result;
    if (text && state.camera === camera) {
      stopCamera();
      handleScanned(text);
    }
  } catch {
    if (state.camera === camera) {
      stopCamera();
      setText('receive-error', t('receive.noCamera'));
    }
  }
}

function stopCamera() {
  if (state.camera) state.camera.stop();
  state.camera = null;
  $('scan-box').hidden = true;
}

async function scanFile() {
  const file = $('scan-file').files[0];
  $('scan-file').value = '';
  if (!file) return;
  setText('receive-error', '');
  try {
    const text = await scanImageFile(file);
    if (text) handleScanned(text);
    else setText('receive-error', t('receive.noCode'));
  } catch {
    setText('receive-error', t('receive.noCode'));
  }
}

// ---------------------------------------------------------------------------- answering a verifier online

const usable = (credential) => !credential.keyMissing && credential.signature !== false
  && !['revoked', 'suspended', 'expired'].includes(stateOf(credential));

async function startRequest(link) {
  const session = state.session;
  state.request = null;
  ['request-host', 'request-items', 'request-error'].forEach((id) => $(id).replaceChildren());
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

function renderRequest() {
  const request = state.request;
  if (!request) return;
  setText('request-host', request.prepared.host);
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

async function shareRequest() {
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
  for (const match of request.matches) {
    const credential = request.chosen.get(match.queryId);
    const labels = labelMap(credential);
    session.vault.history.unshift({ at: Date.now(), how: 'online', to: request.prepared.host, type: credential.type.name,
      issuer: credential.issuer.name, claims: match.names.map((n) => ({ name: n, label: labels.get(n) || { es: n, en: n } })) });
  }
  await store.saveVault(session);
  state.request = null;
  notify(t('request.sent', { host: request.prepared.host }));
  renderHome();
}

async function refuseRequest() {
  const request = state.request;
  state.request = null;
  if (request) answer(request.prepared, null).catch(() => {}); // tell the verifier, best effort
  notify(t('request.refused'));
  renderHome();
}

// ---------------------------------------------------------------------------- status and signatures

/** When online: each credential against the current trust list (an accreditation can end), the
 * issuer's signature of credentials received while the network failed, and each credential's status
 * from its list. Saved only if this session is still the open one. */
async function refreshCredentials(session) {
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
      const status = await fetchStatus(payloadOf(credential.sdJwt));
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

// ---------------------------------------------------------------------------- history

function renderHistory() {
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

// ---------------------------------------------------------------------------- backup

async function exportVault(event) {
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
      accredited: null },
    type: { configurationId: str(type.configurationId, 100), vct: str(type.vct), name: localizedPair(type.name), headline: str(type.headline, 100) || null,
      colours: type.colours ? { background: colour(type.colours.background), text: colour(type.colours.text) } : null },
    labels: Array.isArray(raw.labels) ? raw.labels.filter((l) => Array.isArray(l) && typeof l[0] === 'string').map((l) => [str(l[0], 100), localizedPair(l[1])]) : [],
    exp: Number.isInteger(raw.exp) ? raw.exp : 0,
    signature: raw.signature === true ? true : null,
    trust: 'pending',
    status: { value: null, checkedAt: 0 },
  };
}

async function importVault(event) {
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

// ---------------------------------------------------------------------------- deleting the profile

async function deleteProfile(event) {
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

// ---------------------------------------------------------------------------- language, idle, wiring

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
    if (state.session && Date.now() - state.lastActivity > IDLE_MS) lock('idle');
  }, 5000);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) state.hiddenAt = Date.now();
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
  on('disclose-form', 'submit', showQr);
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
  if (profiles.length === 1) await showUnlock(profiles[0].id);
  else await showProfiles();
  document.body.dataset.ready = 'true';
}

boot();

// Receiving: scanning or pasting an offer (or a verifier's request), the offer screen, the
// transaction code, and storing the credential (OpenID4VCI).

import { t } from '../i18n.js';
import { parseOfferInput, prepareOffer, redeem } from '../oid4vci.js';
import { parseRequestLink } from '../oid4vp.js';
import { scanCamera, scanImageFile } from '/common/scan/scanner.js';
import * as store from '../store.js';
import { accreditation, fetchTrustList } from '../trust.js';
import { $, setText } from '../ui.js';
import { b64urlEncode, randomBytes } from '../../common/bytes.js';
import { errorText, lang, notify, nowSeconds, show, state } from '../state.js';
import { refreshCredentials } from '../refresh.js';
import { renderHome } from './home.js';
import { startRequest } from './request.js';

export function openReceive(mode = 'receive') {
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
export function handleScanned(raw) {
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

export function startOffer(raw) {
  let parsed;
  try {
    parsed = parseOfferInput(raw);
  } catch (error) {
    if (state.screen !== 'receive') openReceive();
    setText('receive-error', errorText(error));
    return;
  }
  const offer = { parsed, prepared: null, accredited: null, preparing: null };
  state.offer = offer;
  setText('offer-host', parsed.host);
  setText('offer-from-name', '');
  setText('offer-from-trust', '');
  setText('offer-error', '');
  $('offer-step-host').hidden = false;
  $('offer-step-accept').hidden = true;
  show('offer');
  prepare(offer).catch(() => {}); // who offers, named before the holder goes on; errors show on "continue"
}

/** The offer and the issuer's metadata (read only: nothing is redeemed), and whether the trust list
 * accredits this issuer for this type; shown on the first offer screen: the institution's name with
 * its server beneath. */
function prepare(offer) {
  offer.preparing ||= (async () => {
    setText('offer-progress', t('offer.connecting'));
    try {
      offer.prepared = await prepareOffer(offer.parsed);
      const list = await fetchTrustList();
      const entry = list && accreditation(list, offer.prepared.issuer, offer.prepared.vct, nowSeconds());
      offer.accredited = entry ? entry.name || null : null;
      offer.listed = list ? Boolean(entry) : null; // null: no trust list configured or reachable
    } catch (error) {
      offer.preparing = null; // "continue" tries again
      throw error;
    } finally {
      if (state.offer === offer) setText('offer-progress', '');
    }
    if (state.offer === offer) renderOfferWho();
  })();
  return offer.preparing;
}

function renderOfferWho() {
  const offer = state.offer;
  if (!offer || !offer.prepared) return;
  setText('offer-from-name', offer.accredited || offer.prepared.issuerName[lang()] || offer.prepared.host);
  setText('offer-from-trust', offer.listed === null ? '' : t(offer.listed ? 'offer.accredited' : 'offer.selfNamed'));
}

export async function contactIssuer() {
  const offer = state.offer;
  if (!offer) return;
  $('offer-contact').disabled = true;
  setText('offer-error', '');
  try {
    await prepare(offer);
  } catch (error) {
    setText('offer-error', errorText(error));
    return;
  } finally {
    $('offer-contact').disabled = false;
  }
  if (state.offer !== offer) return;
  renderOfferDetails();
  $('offer-step-host').hidden = true;
  $('offer-step-accept').hidden = false;
  const input = $('tx-code');
  input.value = '';
  input.maxLength = 24; // room for the spaces and dashes of the code as printed ("058 648")
  input.inputMode = !offer.prepared.txCode || offer.prepared.txCode.numeric ? 'numeric' : 'text';
  input.required = Boolean(offer.prepared.txCode);
  input.focus();
}

export function renderOfferDetails() {
  const prepared = state.offer && state.offer.prepared;
  if (!prepared) return;
  renderOfferWho();
  setText('offer-issuer-name', state.offer.accredited || prepared.issuerName[lang()] || prepared.host);
  setText('offer-type-name', prepared.typeName[lang()] || prepared.configurationId);
  setText('offer-issuer-host', prepared.host);
}

/** The offer code as the holder typed it, without the spaces and dashes it is printed with. */
const offerCode = (typed) => typed.replace(/[\s\-\u2010-\u2015.]/g, '');

export async function acceptOffer(event) {
  event.preventDefault();
  const offer = state.offer;
  const session = state.session;
  if (!offer || !offer.prepared || !session) return;
  const code = offerCode($('tx-code').value);
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
  // every copy of a batch with its own holder key: one is shown at a time, the rest wait unused
  const stored = [];
  for (const copy of received.copies) stored.push({ sdJwt: copy.sdJwt, keyId: await store.storeKey(session.profile.id, copy.key) });
  const [{ keyId }, ...spares] = stored;
  const prepared = offer.prepared;
  session.vault.credentials.push({
    id: b64urlEncode(randomBytes(12)), sdJwt: received.sdJwt, keyId, spares, copies: stored.length, receivedAt: Date.now(),
    issuer: { id: prepared.issuer, host: prepared.host, name: prepared.issuerName, accredited: received.trust.name || null,
      contact: prepared.contact },
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

export async function scanWithCamera() {
  stopCamera();
  setText('receive-error', '');
  $('scan-box').hidden = false;
  const camera = scanCamera($('scan-video'), {
    onStatus: ({ state: seen }) => state.camera === camera && showCloser(seen === 'closer'),
    onControls: (controls) => state.camera === camera && showControls(controls),
  });
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

/** "Closer" on the camera view and in words while a code is seen but cannot be read (the shared scanner's guide). */
function showCloser(closer) {
  $('scan-box').classList.toggle('closer', closer);
  const status = $('scan-status');
  if (closer) {
    status.dataset.i18n = 'camera.closer';
    status.textContent = t('camera.closer');
  } else if (status.dataset.i18n) {
    delete status.dataset.i18n;
    status.textContent = '';
  }
}

/** Torch and zoom, only where the camera offers them (the same controls as the scanning page). */
function showControls(controls) {
  const torch = $('scan-torch');
  torch.hidden = !controls.torch;
  torch.setAttribute('aria-pressed', 'false');
  torch.onclick = () => {
    const on = torch.getAttribute('aria-pressed') !== 'true';
    controls.setTorch(on).then(() => torch.setAttribute('aria-pressed', String(on)), () => {});
  };
  const zoom = $('scan-zoom');
  $('scan-zoom-box').hidden = !controls.zoom;
  if (controls.zoom) {
    Object.assign(zoom, { min: controls.zoom.min, max: controls.zoom.max, step: controls.zoom.step });
    zoom.value = controls.zoom.value;
    zoom.oninput = () => controls.setZoom(zoom.value).catch(() => {});
  }
}

export function stopCamera() {
  if (state.camera) state.camera.stop();
  state.camera = null;
  showCloser(false);
  $('scan-torch').hidden = true;
  $('scan-zoom-box').hidden = true;
  $('scan-box').hidden = true;
}

export async function scanFile() {
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

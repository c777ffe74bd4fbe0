// The verifier's scanning page: read a QR (camera, paste or image), send its text to the verify
// API, show a large green or red result. No framework, no build step.
//
// Everything that comes from a QR code or from the API (claims, names, messages) is untrusted text:
// it only ever reaches the page through textContent (security.md #119), and decoded content that
// looks like a link is sent to the API as data, never opened (security.md #101).

import { DEFAULT_LANGUAGE, isLanguage, t, verdictTitle } from "./i18n.js";
import { preloadDecoders, scanCamera, scanImage } from "/common/scan/scanner.js";
import {
  addPending, confirmPending, learn, loadSaved, nowSeconds, readiness, startBackgroundRefresh, verifyOffline,
} from "./offline.js";

const STORAGE_KEY = "puente.verifier.lang";
const VERIFY_URL = "/api/v1/verify";
const MAX_TEXT = 48 * 1024; // the API's limit for "qr"
const REQUEST_TIMEOUT_MS = 20000;
const SCANNED_PREVIEW = 300; // characters of unreadable content shown back to the user
const HOLDER_CLAIMS = ["given_name", "family_name", "document_number", "birthdate", "nationality"];

const $ = (id) => document.getElementById(id);

const state = {
  lang: storedLanguage(),
  online: null, // the online request on screen: {preset, expiresAt, fetched}
  shown: null, // {kind: "report", report, lang, text} | {kind: "problem", key, values, retry}
  request: 0,
  cameraStatus: null,
  inputError: null,
};

const camera = { scan: null, token: 0 };

// ----------------------------------------------------------------------------- language

function storedLanguage() {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return isLanguage(value) ? value : DEFAULT_LANGUAGE;
  } catch {
    return DEFAULT_LANGUAGE; // storage may be disabled; Spanish it is
  }
}

function setLanguage(lang) {
  if (!isLanguage(lang)) return;
  state.lang = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered, still switched
  }
  applyStrings();
  renderReadiness();
  if (state.shown) renderResult();
}

function applyStrings() {
  const lang = state.lang;
  document.documentElement.lang = lang;
  document.title = t(lang, "pageTitle");
  for (const element of document.querySelectorAll("[data-i18n]")) {
    element.textContent = t(lang, element.dataset.i18n);
  }
  for (const element of document.querySelectorAll("[data-i18n-aria]")) {
    element.setAttribute("aria-label", t(lang, element.dataset.i18nAria));
  }
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
  }
  if (state.cameraStatus) $("camera-status").textContent = t(lang, state.cameraStatus);
  if (state.online) renderOnline();
  if (state.inputError) $("input-error").textContent = t(lang, state.inputError);
}

// ----------------------------------------------------------------------------- camera

function cameraErrorKey(error) {
  const name = error && error.name;
  if (name === "NotAllowedError" || name === "SecurityError") return "cameraDenied";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "cameraMissing";
  return "cameraFailed";
}

function setCameraStatus(key) {
  state.cameraStatus = key;
  $("camera-status").textContent = t(state.lang, key);
}

async function startCamera() {
  clearInputError();
  if (!window.isSecureContext) return showInputError("cameraInsecure"); // security.md #102
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return showInputError("cameraUnsupported");
  stopCamera();
  const token = camera.token;
  $("camera").hidden = false;
  $("scan").hidden = true;
  $("scan-hint").hidden = true;
  setCameraStatus("cameraStarting");
  const scan = scanCamera($("video"), {
    onStatus: ({ state, decoder }) => {
      if (token !== camera.token) return;
      $("camera").dataset.decoder = decoder;
      $("camera").classList.toggle("closer", state === "closer");
      setCameraStatus({ closer: "camera.closer", read: "cameraRead" }[state] || "cameraLooking");
    },
    onControls: (controls) => token === camera.token && showControls(controls),
  });
  camera.scan = scan;
  let text;
  try {
    text = await scan.result;
  } catch (error) {
    if (token === camera.token) {
      stopCamera();
      showInputError(cameraErrorKey(error));
    }
    return;
  }
  if (token !== camera.token || !text) return;
  setCameraStatus("cameraRead");
  stopCamera();
  verify(text);
}

/** Torch and zoom, only where the camera offers them. */
function showControls(controls) {
  const torch = $("torch");
  torch.hidden = !controls.torch;
  torch.setAttribute("aria-pressed", "false");
  torch.onclick = () => {
    const on = torch.getAttribute("aria-pressed") !== "true";
    controls.setTorch(on).then(() => torch.setAttribute("aria-pressed", String(on)), () => {});
  };
  const zoom = $("zoom");
  $("zoom-box").hidden = !controls.zoom;
  if (controls.zoom) {
    Object.assign(zoom, { min: controls.zoom.min, max: controls.zoom.max, step: controls.zoom.step });
    zoom.value = controls.zoom.value;
    zoom.oninput = () => controls.setZoom(zoom.value).catch(() => {});
  }
}

function stopCamera() {
  camera.token += 1;
  if (camera.scan) camera.scan.stop();
  camera.scan = null;
  $("camera").hidden = true;
  $("camera").classList.remove("closer");
  $("torch").hidden = true;
  $("zoom-box").hidden = true;
  $("scan").hidden = false;
  $("scan-hint").hidden = false;
  state.cameraStatus = null;
}

// ----------------------------------------------------------------------------- input

function showInputError(key) {
  state.inputError = key;
  const box = $("input-error");
  box.textContent = t(state.lang, key);
  box.hidden = false;
}

function clearInputError() {
  state.inputError = null;
  $("input-error").hidden = true;
  $("input-error").textContent = "";
}

/** Pasted text without surrounding line breaks. Spaces at the end are kept: " " is a Base45 digit. */
function cleanPasted(text) {
  return text.replace(/^\s+/, "").replace(/[\r\n\t]+$/, "");
}

function onPaste(event) {
  event.preventDefault();
  clearInputError();
  const text = cleanPasted($("paste").value);
  if (!text) {
    showInputError("pasteEmpty");
    $("paste").focus();
    return;
  }
  stopCamera();
  verify(text);
}

async function onUpload() {
  const input = $("upload");
  const file = input.files && input.files[0];
  if (!file) return;
  clearInputError();
  stopCamera();
  setBusy("uploadReading");
  let text = null;
  try {
    const bitmap = await createImageBitmap(file);
    try {
      text = await scanImage(bitmap);
    } finally {
      bitmap.close();
    }
  } catch {
    setBusy(null);
    input.value = "";
    showInputError("uploadUnreadable");
    return;
  }
  input.value = "";
  if (!text) {
    setBusy(null);
    showInputError("uploadNoCode");
    return;
  }
  verify(text);
}

function setBusy(key) {
  const busy = $("busy");
  busy.hidden = key === null;
  if (key) busy.lastElementChild.textContent = t(state.lang, key);
}

// ----------------------------------------------------------------------------- online request (OpenID4VP)

const presetKey = (preset) => preset.replace(/-/g, "_");

function renderOnline() {
  const online = state.online;
  const lang = state.lang;
  text($("online-title"), t(lang, `onlineTitle_${presetKey(online.preset)}`));
  text($("online-asks"), t(lang, `onlineAsks_${presetKey(online.preset)}`));
  $("online-qr").alt = t(lang, "onlineQrAlt");
  if (!online.expiresAt) {
    text($("online-status"), t(lang, "onlineCreating"));
    return;
  }
  const left = Math.max(0, online.expiresAt - Math.floor(Date.now() / 1000));
  const time = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  text($("online-status"), t(lang, online.fetched ? "onlineOpened" : "onlineWaiting", { time }));
}

function closeOnline() {
  state.online = null;
  $("online").hidden = true;
  $("online-qr").removeAttribute("src");
  $("online-link").value = "";
}

/** A teller's button: create the request with the page token, show its QR, wait for the wallet. */
async function startOnline(preset) {
  clearInputError();
  stopCamera();
  const request = ++state.request;
  state.online = { preset, expiresAt: null, fetched: false };
  $("input").hidden = true;
  $("result").hidden = true;
  $("online").hidden = false;
  renderOnline();
  $("online-title").focus({ preventScroll: true });
  let online;
  let created;
  try {
    online = await import("./online.js");
    created = await online.createRequest(preset, Math.floor(Date.now() / 1000));
  } catch (error) {
    if (request !== state.request) return;
    closeOnline();
    $("input").hidden = false;
    showInputError(error && error.key ? error.key : "onlineFailed");
    return;
  }
  if (request !== state.request) return;
  state.online.expiresAt = created.expiresAt;
  $("online-qr").src = created.qrPng;
  $("online-link").value = created.qr;
  renderOnline();
  const result = await online.waitForAnswer(created, () => state.lang, {
    stopped: () => request !== state.request,
    onTick: ({ fetched }) => {
      if (request !== state.request || !state.online) return;
      state.online.fetched = fetched;
      renderOnline();
    },
  });
  if (result === null || request !== state.request) return;
  closeOnline();
  finish(request, { kind: "report", report: online.reportOf(result), lang: state.lang, online: true });
}

function cancelOnline() {
  closeOnline();
  newCheck();
}

// ----------------------------------------------------------------------------- verification

async function verify(text) {
  const request = ++state.request;
  const lang = state.lang;
  $("input").hidden = true;
  $("result").hidden = true;
  setBusy("verifying");
  if (text.length > MAX_TEXT) return finish(request, { kind: "problem", key: "tooLarge", retry: false });
  if (!navigator.onLine) return verifyHere(request, text, lang);
  let response;
  try {
    response = await fetch(VERIFY_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "Accept-Language": lang },
      body: JSON.stringify({ qr: text }),
      cache: "no-store",
      credentials: "omit",
      signal: typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(REQUEST_TIMEOUT_MS) : undefined,
    });
  } catch {
    return verifyHere(request, text, lang); // no connection after all: verify with what the page kept
  }
  if (response.status === 200) {
    try {
      const report = await response.json();
      if (report && typeof report === "object") {
        learn(text).then(renderReadiness); // keep this credential's status list for offline use
        return finish(request, { kind: "report", report, lang, text });
      }
    } catch {
      // fall through
    }
    return finish(request, { kind: "problem", key: "serverError", retry: true, text });
  }
  if (response.status === 413) return finish(request, { kind: "problem", key: "tooLarge", retry: false });
  if (response.status === 429) {
    const seconds = Number.parseInt(response.headers.get("Retry-After") || "", 10);
    return finish(request, { kind: "problem", key: "rateLimited", values: { seconds: seconds > 0 ? seconds : 60 },
      retry: true, text });
  }
  if (response.status === 422) return finish(request, { kind: "problem", key: "badRequest", retry: false });
  return finish(request, { kind: "problem", key: "serverError", retry: true, text });
}

/** Offline: the same verification in the page, with the ages of what it knows (offline.js). */
async function verifyHere(request, text, lang) {
  const at = nowSeconds();
  let outcome;
  try {
    outcome = await verifyOffline(text, lang, { now: at });
  } catch {
    return finish(request, { kind: "problem", key: "networkError", retry: true, text });
  }
  if (outcome.cannotCheck) return finish(request, { kind: "problem", key: "cannotCheckOffline", retry: true, text });
  addPending(text, at, outcome.report, lang);
  return finish(request, { kind: "report", report: outcome.report, lang, text, offline: outcome.info });
}

function finish(request, shown) {
  if (request !== state.request) return; // a newer check replaced this one
  state.shown = shown;
  setBusy(null);
  renderResult();
  announce();
  const title = $("result-title");
  title.focus({ preventScroll: true });
  $("result").scrollIntoView({ block: "start" });
}

/** Says the outcome through the live region, which stays in the page so that it is always heard. */
function announce() {
  const parts = ["result-kicker", "result-title", "result-reason", "holder-notice-text"]
    .map((id) => $(id))
    .filter((element) => !element.closest("[hidden]") && element.textContent)
    .map((element) => element.textContent);
  $("result-announce").textContent = parts.join(". ");
}

function newCheck() {
  state.request += 1;
  state.shown = null;
  $("result").hidden = true;
  $("result-announce").textContent = "";
  setBusy(null);
  $("paste").value = "";
  $("input").hidden = false;
  clearInputError();
  window.scrollTo(0, 0);
  $("scan").focus();
}

function retry() {
  const shown = state.shown;
  if (shown && shown.text) verify(shown.text);
}

// ----------------------------------------------------------------------------- rendering

/** A claim value as plain text: strings as they are, other JSON as compact JSON. */
function claimText(value) {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return t(state.lang, value ? "yes" : "no");
  if (Array.isArray(value) && value.every((item) => typeof item === "string" || typeof item === "number")) {
    return value.join(", ");
  }
  return JSON.stringify(value);
}

function text(element, value, lang) {
  element.textContent = value;
  if (lang) element.setAttribute("lang", lang);
  else element.removeAttribute("lang");
}

function addPair(list, label, value, lang) {
  const term = document.createElement("dt");
  const detail = document.createElement("dd");
  text(term, label, lang);
  text(detail, value);
  list.append(term, detail);
}

function formatDate(seconds) {
  const locale = state.lang === "en" ? "en-GB" : "es-CO";
  return new Date(seconds * 1000).toLocaleDateString(locale, { year: "numeric", month: "long", day: "numeric" });
}

function renderResult() {
  const shown = state.shown;
  const panel = $("result");
  panel.hidden = false;
  $("input").hidden = true;
  if (shown.kind === "problem") renderProblem(shown);
  else renderReport(shown.report, shown.lang, shown.text, shown.offline, shown.online);
}

function resetPanel(tone) {
  const panel = $("result");
  panel.classList.remove("ok", "bad", "neutral");
  panel.classList.add(tone);
  panel.dataset.tone = tone;
  for (const id of ["holder-notice", "holder-verified", "claims-block", "scanned-block", "checks-block", "retry",
    "offline-notice"]) {
    $(id).hidden = true;
  }
  $("facts").replaceChildren();
  $("claims").replaceChildren();
  $("checks").replaceChildren();
}

function renderProblem(shown) {
  resetPanel("neutral");
  const lang = state.lang;
  text($("result-kicker"), t(lang, "errorKicker"));
  text($("result-title"), t(lang, "errorTitle"));
  text($("result-reason"), t(lang, shown.key, shown.values || {}));
  $("retry").hidden = !shown.retry;
}

function renderReport(report, reportLang, scannedText, offline, online = false) {
  const valid = report.valid === true; // anything else is red
  const unconfirmed = Boolean(offline && offline.unconfirmed); // offline and too old to say: neither
  resetPanel(valid ? "ok" : unconfirmed ? "neutral" : "bad");
  const lang = state.lang;
  text($("result-kicker"), t(lang, valid ? "validKicker" : unconfirmed ? "unconfirmedKicker" : "invalidKicker"));
  text($("result-title"), valid ? t(lang, "validTitle") : unconfirmed ? t(lang, "unconfirmedTitle")
    : verdictTitle(lang, report.verdict));
  const apiMessage = report.error && typeof report.error.message === "string" ? report.error.message : "";
  if (unconfirmed) text($("result-reason"), unconfirmedReason(offline, report));
  else if (valid || !apiMessage) text($("result-reason"), valid ? t(lang, "validReason") : "");
  else text($("result-reason"), apiMessage, reportLang);
  if (offline) renderOffline(offline, valid);

  if (valid) renderHolder(report.holder_binding, online);
  renderFacts(report, reportLang, valid);
  if (valid) renderClaims(report, reportLang);
  if (!valid && report.verdict === "malformed" && scannedText) {
    const preview = scannedText.length > SCANNED_PREVIEW ? `${scannedText.slice(0, SCANNED_PREVIEW)}…` : scannedText;
    text($("scanned"), preview);
    $("scanned-block").hidden = false;
  }
  renderChecks(report.checks, reportLang, report.error);
}

/** "3 h", "20 min": how old something is, in the page's language. */
function formatAge(seconds) {
  const lang = state.lang;
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return t(lang, "ageSeconds", { n: s });
  if (s < 90 * 60) return t(lang, "ageMinutes", { n: Math.round(s / 60) });
  if (s < 36 * 3600) return t(lang, "ageHours", { n: Math.round(s / 3600) });
  return t(lang, "ageDays", { n: Math.round(s / 86400) });
}

function unconfirmedReason(offline, report) {
  const lang = state.lang;
  const limits = readiness().limits;
  if (offline.unconfirmed === "status") return t(lang, "unconfirmedStatus", { max: formatAge(limits.status) });
  if (report.error && report.error.code === "trust_list_unavailable") return t(lang, "unconfirmedNoTrust");
  return t(lang, "unconfirmedTrust", { trust: formatAge(offline.trustAge), max: formatAge(limits.trust) });
}

/** What an offline result rests on: the ages of the trust list and of the status, and its limits. */
function renderOffline(offline, valid) {
  const lang = state.lang;
  text($("offline-title"), t(lang, "offlineTitle"));
  const ages = offline.trustAge === null ? ""
    : offline.statusAge === null ? t(lang, "offlineAgesTrust", { trust: formatAge(offline.trustAge) })
      : t(lang, "offlineAges", { trust: formatAge(offline.trustAge), status: formatAge(offline.statusAge) });
  text($("offline-ages"), ages);
  text($("offline-replay"), valid ? t(lang, "offlineReplay") : "");
  const confirmation = offline.confirmation;
  text($("offline-confirm"), !confirmation ? t(lang, "offlinePending")
    : confirmation.changed ? t(lang, "offlineChanged", { title: confirmation.title }) : t(lang, "offlineConfirmed"));
  $("offline-notice").hidden = false;
}

function renderReadiness() {
  const ready = readiness();
  const line = $("offline-ready");
  line.textContent = ready.trustAge === null ? t(state.lang, "offlineNotReady")
    : t(state.lang, "offlineReady", { trust: formatAge(ready.trustAge) });
  line.hidden = false;
}

/** Back online: check the results shown offline again with the service's fresh lists; show any change. */
async function confirmShown() {
  const results = await confirmPending();
  const shown = state.shown;
  for (const { text: scanned, before, after } of results) {
    if (!shown || shown.kind !== "report" || !shown.offline || shown.text !== scanned) continue;
    const changed = after.verdict !== before;
    shown.offline = { ...shown.offline, confirmation: { changed, title: after.valid ? t(state.lang, "validTitle")
      : verdictTitle(state.lang, after.verdict) } };
    if (changed) shown.report = after;
    renderResult();
    announce();
  }
}

function renderHolder(binding, online) {
  const lang = state.lang;
  if (binding === "verified") {
    text($("holder-verified"), t(lang, online ? "holderVerifiedOnline" : "holderVerified"));
    $("holder-verified").hidden = false;
    return;
  }
  // Paper or unbound: anyone holding the code can show it (security.md #51).
  text($("holder-notice-text"), t(lang, "holderAbsent"));
  text($("holder-notice-detail"), t(lang, "holderAbsentDetail"));
  $("holder-notice").hidden = false;
}

function renderFacts(report, reportLang, valid) {
  const facts = $("facts");
  const lang = state.lang;
  if (typeof report.credential_name === "string" && report.credential_name) {
    addPair(facts, t(lang, "credential"), report.credential_name);
    facts.lastElementChild.setAttribute("lang", reportLang);
  }
  // A name for the issuer only once its signature checked out: a forgery only claims one.
  const signed = Array.isArray(report.checks) && report.checks.some((c) => c && c.name === "signature" && c.ok === true);
  const issuer = report.issuer && typeof report.issuer === "object" ? report.issuer : null;
  const issuerName = issuer && (typeof issuer.name === "string" && issuer.name ? issuer.name : issuer.id);
  if (issuerName && typeof issuerName === "string" && (valid || signed)) addPair(facts, t(lang, "issuer"), issuerName);
  if (valid && Number.isFinite(report.expires_at)) addPair(facts, t(lang, "validUntil"), formatDate(report.expires_at));
  // How fresh the revocation status behind this verdict is (the verifier's own bound is 60 s by default).
  if (Number.isFinite(report.status_checked_at)) {
    const seconds = Math.max(0, Math.round(Date.now() / 1000 - report.status_checked_at));
    addPair(facts, t(lang, "statusChecked"), t(lang, "statusAge", { seconds }));
  }
}

function renderClaims(report, reportLang) {
  const claims = report.claims && typeof report.claims === "object" ? report.claims : {};
  const labels = report.labels && typeof report.labels === "object" ? report.labels : {};
  const list = $("claims");
  // The person's names and document first (what the verifier compares with the ID), then the rest.
  const first = HOLDER_CLAIMS.filter((name) => Object.hasOwn(claims, name));
  const names = [...first, ...Object.keys(claims).filter((name) => !HOLDER_CLAIMS.includes(name))];
  for (const name of names) {
    const label = Object.hasOwn(labels, name) && typeof labels[name] === "string" ? labels[name] : name;
    addPair(list, label, claimText(claims[name]), reportLang);
  }
  if (names.length === 0) {
    const empty = document.createElement("p");
    text(empty, t(state.lang, "noClaims"));
    list.append(empty);
  }
  $("claims-block").hidden = false;
}

function renderChecks(checks, reportLang, error) {
  if (!Array.isArray(checks) || checks.length === 0) return;
  const list = $("checks");
  for (const check of checks) {
    if (!check || typeof check !== "object") continue;
    const item = document.createElement("li");
    item.className = check.ok === true ? "check-ok" : "check-bad";
    if (check.ok !== true && typeof check.code === "string") item.dataset.code = check.code;
    const label = document.createElement("span");
    text(label, String(check.label || check.name || ""), reportLang);
    const outcome = document.createElement("span");
    outcome.className = "check-outcome";
    // A failed check says why in words (the report's message for its code), never the raw code.
    const why = check.ok !== true && error && check.code === error.code && typeof error.message === "string"
      ? `: ${error.message}` : "";
    text(outcome, `${t(state.lang, check.ok === true ? "checkOk" : "checkFailed")}${why}`, why ? reportLang : undefined);
    item.append(label, outcome);
    list.append(item);
  }
  $("checks-block").hidden = false;
}

// ----------------------------------------------------------------------------- wiring

function init() {
  applyStrings();
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  $("scan").addEventListener("click", startCamera);
  $("stop").addEventListener("click", () => {
    stopCamera();
    $("scan").focus();
  });
  $("paste-form").addEventListener("submit", onPaste);
  $("upload").addEventListener("change", onUpload);
  $("again").addEventListener("click", newCheck);
  $("retry").addEventListener("click", retry);
  for (const button of document.querySelectorAll("[data-preset]")) {
    button.addEventListener("click", () => startOnline(button.dataset.preset));
  }
  $("online-cancel").addEventListener("click", cancelOnline);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && camera.scan) stopCamera();
  });
  // Never leave the camera on in a background tab.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) stopCamera();
  });
  window.addEventListener("pagehide", stopCamera);
  // The better QR reader (zxing-wasm, ~410 KB) loads once the page is interactive, never before.
  const warm = () => preloadDecoders();
  if (document.readyState === "complete") setTimeout(warm, 0);
  else window.addEventListener("load", () => setTimeout(warm, 0), { once: true });
  window.addEventListener("online", confirmShown);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  loadSaved().then(() => {
    renderReadiness();
    startBackgroundRefresh(renderReadiness);
  });
}

init();

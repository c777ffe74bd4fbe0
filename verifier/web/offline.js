// Verification with no connection (issue 16). While online, the page keeps in IndexedDB what the
// service verifies with: its limits, the registry-signed trust list (checked here against the
// registry key), the accredited types and the issuers' signed status lists, refreshed in the
// background within their ttl with conditional requests. Offline, core/verify.js applies the core's
// rules to that knowledge and the result says how old it is; past the service's maximum ages it
// cannot confirm. Live QR nonces are remembered on this device only.

import { parseObject } from "/common/json_strict.js";
import { typeRegistry } from "/common/verify/claims.js";
import { claimsOf, parseJws, publicKeyFromJwk } from "/common/verify/jose.js";
import { parseInput } from "/common/verify/sdjwt.js";
import { reference } from "/common/verify/status.js";
import { verifyTrustList } from "/common/verify/trust.js";
import { CannotCheck, DEFAULT_POLICY, reportJson, verifyPresentation } from "/common/verify/verify.js";
import { reportLabels } from "./i18n.js";
import * as store from "./store.js";

const API = "/api/v1/offline";
const TICK_MS = 5000;
const DOCS_EVERY_S = 60; // trust list and types: conditional requests, cheap when unchanged

const known = { config: null, registryKey: null, trust: null, types: null, status: new Map(), seen: new Set(),
  docsCheckedAt: 0 };
const pending = [];
let timer = null;

export const nowSeconds = () => Math.floor(Date.now() / 1000);

async function fetchDocument(path, etag) {
  const response = await fetch(path, {
    headers: etag ? { "If-None-Match": etag } : {}, cache: "no-store", credentials: "omit",
  });
  if (response.status === 304) return { notModified: true, age: Number(response.headers.get("Age")) || 0 };
  if (!response.ok) return null;
  return { text: await response.text(), etag: response.headers.get("ETag"), age: Number(response.headers.get("Age")) || 0 };
}

async function useConfig(config) {
  known.registryKey = await publicKeyFromJwk(parseObject(JSON.stringify(config.registry_jwk)));
  known.config = config;
}

/** A trust list replaces the held one only if its signature checks out and it is not older (rollback). */
async function useTrust(token, etag) {
  const { trust, iat } = await verifyTrustList(token, known.registryKey);
  if (known.trust && iat < known.trust.iat) return false;
  known.trust = { trust, iat, token, etag };
  return true;
}

function useTypes(bundle, etag) {
  known.types = { registry: typeRegistry(bundle), bundle, etag };
}

/** What the page kept from its last time online (the trust list's signature is checked again). */
export async function loadSaved() {
  try {
    const config = await store.get("docs", "config");
    if (!config) return;
    await useConfig(config);
    const trust = await store.get("docs", "trust");
    if (trust) await useTrust(trust.token, trust.etag);
    const types = await store.get("docs", "types");
    if (types) useTypes(types.bundle, types.etag);
    for (const [uri, entry] of await store.entries("status")) known.status.set(uri, entry);
    for (const uri of (await store.get("docs", "seen")) || []) known.seen.add(uri);
  } catch {
    // storage unavailable or a saved list that no longer verifies: start from nothing
  }
}

async function refreshDocuments() {
  const response = await fetch(`${API}/config`, { cache: "no-store", credentials: "omit" });
  if (!response.ok) return;
  const config = await response.json();
  await useConfig(config);
  await store.put("docs", "config", config);
  const trust = await fetchDocument(`${API}/trust-list`, known.trust && known.trust.etag);
  if (trust && !trust.notModified) {
    try {
      if (await useTrust(trust.text.trim(), trust.etag)) await store.put("docs", "trust", { token: known.trust.token, etag: trust.etag });
    } catch {
      // a list that does not verify never replaces the good one
    }
  }
  const types = await fetchDocument(`${API}/types`, known.types && known.types.etag);
  if (types && !types.notModified) {
    const bundle = JSON.parse(types.text).types;
    useTypes(bundle, types.etag);
    await store.put("docs", "types", { bundle, etag: types.etag });
  }
  known.docsCheckedAt = nowSeconds();
}

function ttlOf(token) {
  try {
    const payload = JSON.parse(new TextDecoder().decode(Uint8Array.from(
      atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))));
    return Number.isInteger(payload.ttl) ? payload.ttl : null;
  } catch {
    return null;
  }
}

/** Due when its ttl (within the service's bounds) has run, or half the status max age, whichever is first. */
function statusDue(entry, now) {
  const config = known.config;
  const ttl = Math.min(config.status_ttl_max_seconds, Math.max(config.status_ttl_min_seconds, entry.ttl ?? 0));
  return now - entry.checkedAt >= Math.min(ttl, Math.max(5, config.status_max_age_seconds / 2));
}

async function refreshStatus(uri) {
  const entry = known.status.get(uri);
  const got = await fetchDocument(`${API}/status-list?uri=${encodeURIComponent(uri)}`, entry && entry.etag);
  if (!got) return;
  const checkedAt = nowSeconds() - got.age;
  const fresh = got.notModified ? { ...entry, checkedAt } : { token: got.text.trim(), etag: got.etag, checkedAt, ttl: ttlOf(got.text) };
  known.status.set(uri, fresh);
  await store.put("status", uri, fresh);
}

/** One refresh while online: documents when due, every status list when due. False when offline. */
export async function refresh({ force = false } = {}) {
  if (!navigator.onLine) return false;
  try {
    const now = nowSeconds();
    if (force || !known.config || now - known.docsCheckedAt >= DOCS_EVERY_S) await refreshDocuments();
    if (!known.config) return false;
    const listed = await fetch(`${API}/status-lists`, { cache: "no-store", credentials: "omit" })
      .then((r) => (r.ok ? r.json() : { uris: [] }));
    const uris = new Set([...known.status.keys(), ...known.seen, ...(listed.uris || [])]);
    for (const uri of uris) {
      const entry = known.status.get(uri);
      if (force || !entry || statusDue(entry, nowSeconds())) await refreshStatus(uri);
    }
    await store.forgetExpiredNonces(now);
    return true;
  } catch {
    return false; // the connection dropped half-way: what was kept stays
  }
}

/** Refresh now and then every few seconds while online (and at once when the connection returns). */
export function startBackgroundRefresh(onChange) {
  if (timer) return;
  const tick = async () => {
    if (await refresh()) onChange();
  };
  timer = setInterval(tick, TICK_MS);
  window.addEventListener("online", async () => {
    await refresh({ force: true });
    onChange();
  });
  tick();
}

/** How ready the page is to verify offline: ages in seconds, or nulls. */
export function readiness(now = nowSeconds()) {
  const ages = [...known.status.values()].map((e) => now - e.checkedAt);
  return {
    trustAge: known.trust ? now - known.trust.iat : null,
    statusAge: ages.length ? Math.max(...ages) : null,
    lists: known.status.size,
    limits: known.config ? { trust: known.config.trust_list_max_age_seconds, status: known.config.status_max_age_seconds }
      : { trust: 0, status: 0 },
  };
}

function policy() {
  const kb = known.config.key_binding;
  return { ...DEFAULT_POLICY, keyBinding: { audience: kb.audience, nonce: null, maxAge: kb.max_age, leeway: kb.leeway },
    leeway: known.config.leeway };
}

/** The service's answer when it has no usable trust list (verifier/service.py): no credential check at all. */
function withoutTrust(code, lang) {
  const result = { valid: false, verdict: "untrusted_issuer", checks: [{ name: "issuer_trust", ok: false, code }],
    error: { code, detail: code }, credential: null, partial: {} };
  return reportJson(result, lang, labels());
}

// Reasons and check names in words: the one catalog the service answers from too (i18n.js).
const labels = () => reportLabels();

async function remember(uri) {
  if (known.seen.has(uri)) return;
  known.seen.add(uri);
  try {
    await store.put("docs", "seen", [...known.seen]);
  } catch {
    // remembered for this visit only
  }
}

/**
 * After a check online: note the credential's status list (read, not trusted: only its address is
 * used, to ask the service for the list) so that it is kept for offline use, and refresh.
 */
export async function learn(text) {
  try {
    const reference_ = reference(claimsOf(parseJws((await parseInput(text)).issuerJwt)));
    if (reference_) await remember(reference_[0]);
  } catch {
    // nothing to learn from an unreadable code
  }
  await refresh();
}

/**
 * Verify `text` with what the page kept: {report (the service's shape), info: {trustAge, statusAge,
 * unconfirmed: null | "trust" | "status"}} or {cannotCheck: reason}. `now` is the time of the scan;
 * `nonces: false` re-checks a result already shown (its nonce was used then).
 */
export async function verifyOffline(text, lang, { now = nowSeconds(), nonces = true } = {}) {
  const info = { trustAge: null, statusAge: null, unconfirmed: null };
  if (!known.config || !known.trust || !known.types) {
    info.unconfirmed = "trust";
    return { report: withoutTrust("trust_list_unavailable", lang), info };
  }
  const realNow = nowSeconds();
  info.trustAge = realNow - known.trust.iat;
  if (info.trustAge > known.config.trust_list_max_age_seconds) {
    info.unconfirmed = "trust";
    return { report: withoutTrust("trust_list_stale", lang), info };
  }
  let used = null;
  const statusTokens = async (uri) => {
    await remember(uri);
    used = known.status.get(uri) || null;
    if (!used || realNow - used.checkedAt > known.config.status_max_age_seconds) return null;
    return used.token;
  };
  let result;
  try {
    result = await verifyPresentation(text, { trust: known.trust.trust, types: known.types.registry, now,
      policy: policy(), statusTokens, nonces: nonces ? { consume: store.consumeNonce } : null });
  } catch (error) {
    if (error instanceof CannotCheck) return { cannotCheck: error.reason, info };
    throw error;
  }
  if (used) info.statusAge = realNow - used.checkedAt;
  if (result.error && result.error.code === "status_unavailable") info.unconfirmed = "status";
  return { report: reportJson(result, lang, labels()), info };
}

/** Keep an offline result to confirm when the connection returns (in memory only: no claims stored). */
export function addPending(text, at, report, lang) {
  pending.push({ text, at, verdict: report.verdict, code: report.error ? report.error.code : null, lang });
  if (pending.length > 20) pending.shift();
}

/**
 * Check every pending result again with what the service has now (fresh trust list and status
 * lists), at the time it was scanned: [{text, before, after (report)}].
 */
export async function confirmPending() {
  if (!pending.length || !(await refresh({ force: true }))) return [];
  const confirmed = [];
  for (const item of pending.splice(0)) {
    const again = await verifyOffline(item.text, item.lang, { now: item.at, nonces: false });
    if (again.report) confirmed.push({ text: item.text, before: item.verdict, after: again.report, info: again.info });
  }
  return confirmed;
}

// Online requests from the scanning page (OpenID4VP): the teller picks a preset (employment, bank),
// the page creates the request with its page token (POST /api/v1/page-token: 10 minutes, bound to
// an HttpOnly cookie; README "Open requests"), shows the request's QR, polls for the wallet's answer
// with the result token and hands the outcome back as a report the page shows like a scanned one.
// Loaded only when a button is pressed, so a first visit never pays for it.

import { codeMessage } from "./i18n.js";

const TOKEN_URL = "/api/v1/page-token";
const REQUESTS_URL = "/api/v1/presentation-requests";
const POLL_MS = 1500;
const TIMEOUT_MS = 20000;

let pageToken = null; // {token, expires_at}

const signal = () => (typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(TIMEOUT_MS) : undefined);

export class OnlineError extends Error {
  constructor(key) {
    super(key);
    this.key = key; // a string of the page's i18n table
  }
}

async function token(nowSeconds) {
  if (pageToken && pageToken.expires_at - 30 > nowSeconds) return pageToken.token;
  const response = await fetch(TOKEN_URL, { method: "POST", credentials: "same-origin", cache: "no-store", signal: signal() });
  if (response.status === 429) throw new OnlineError("onlineBusy");
  if (!response.ok) throw new OnlineError("onlineFailed");
  const body = await response.json();
  if (!body || typeof body.token !== "string" || !Number.isFinite(body.expires_at)) throw new OnlineError("onlineFailed");
  pageToken = body;
  return body.token;
}

/** A new request for `preset`: {id, qr, qrPng, resultToken, expiresAt}. Throws OnlineError. */
export async function createRequest(preset, nowSeconds) {
  let response;
  for (let attempt = 0; attempt < 2; attempt++) {
    const bearer = await token(nowSeconds);
    try {
      response = await fetch(REQUESTS_URL, {
        method: "POST", credentials: "same-origin", cache: "no-store", signal: signal(),
        headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ preset }),
      });
    } catch {
      throw new OnlineError("onlineFailed");
    }
    if (response.status !== 401) break;
    pageToken = null; // expired or its cookie is gone: one new token, once
  }
  if (response.status === 429) throw new OnlineError("onlineBusy");
  if (response.status === 503) {
    const problem = await response.json().catch(() => null);
    throw new OnlineError(problem && problem.code === "type_not_trusted" ? "onlineUnavailable" : "onlineFailed");
  }
  if (response.status !== 201) throw new OnlineError("onlineFailed");
  const body = await response.json();
  if (!body || typeof body.id !== "string" || typeof body.qr !== "string" || typeof body.result_token !== "string") {
    throw new OnlineError("onlineFailed");
  }
  return { id: body.id, qr: body.qr, qrPng: `${REQUESTS_URL}/${encodeURIComponent(body.id)}/qr.png`,
    resultToken: body.result_token, expiresAt: body.expires_at };
}

/** The request's state once: {status, fetched, result} (result once answered), or null on a network hiccup. */
export async function poll(request, lang) {
  let response;
  try {
    response = await fetch(`${REQUESTS_URL}/${encodeURIComponent(request.id)}`, {
      credentials: "same-origin", cache: "no-store", signal: signal(),
      headers: { Accept: "application/json", "Accept-Language": lang, Authorization: `Bearer ${request.resultToken}` },
    });
  } catch {
    return null;
  }
  if (response.status === 404) return { status: "failed", fetched: false, result: null };
  if (!response.ok) return null;
  const body = await response.json().catch(() => null);
  if (!body || typeof body !== "object") return null;
  return { status: body.status, fetched: body.request_fetched === true, result: body.result || null };
}

/** Wait for the answer: calls onTick({fetched}) while pending; resolves with the result or null (stopped). */
export function waitForAnswer(request, lang, { onTick, stopped }) {
  return new Promise((resolve) => {
    const step = async () => {
      if (stopped()) return resolve(null);
      const state = await poll(request, lang());
      if (stopped()) return resolve(null);
      if (state && state.result) return resolve(state.result);
      if (state && state.status !== "pending" && !state.result) {
        // The request is gone (expired and purged, or never known here): the catalog's reason, in words.
        const error = { code: "request_expired", message: codeMessage(lang(), "request_expired") ?? "" };
        return resolve({ valid: false, verdict: "request_expired", credentials: {}, error });
      }
      if (state) onTick(state);
      setTimeout(step, POLL_MS);
    };
    step();
  });
}

/** The wallet's answer as one report the page shows like a scanned QR's: the presented credential's
 * report, red unless the whole answer is valid, with the answer's reason when it failed. */
export function reportOf(result) {
  const entries = Object.values(result.credentials || {}).flat().filter((entry) => entry && typeof entry === "object");
  const entry = entries[0];
  if (entry && result.valid === true) return entry;
  const failure = { valid: false, verdict: result.verdict, error: result.error || null };
  if (!entry) return { ...failure, checks: [] };
  return entry.valid === true ? { ...entry, ...failure, claims: {} } : { ...entry, valid: false };
}

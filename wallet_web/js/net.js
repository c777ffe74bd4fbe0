// Network access for the wallet: only https (or loopback http, for development) URLs, no cookies, no
// referrer, no redirects, a timeout for slow border connections and a cap on what is read.

import { readCapped } from '../common/bytes.js';

const TIMEOUT_MS = 25_000;
const MAX_BYTES = 512 * 1024;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export class NetError extends Error {
  constructor(code, message = code, detail = undefined) {
    super(message);
    this.code = code; // 'offline', 'timeout', 'http', 'bad_response', an OAuth error code, …
    this.detail = detail;
  }
}

/** A URL the wallet may contact, or null: https, or http on loopback (development issuers). */
export function safeUrl(text, base = undefined) {
  if (typeof text !== 'string' || text.length > 2048) return null;
  let url;
  try {
    url = new URL(text, base);
  } catch {
    return null;
  }
  if (url.username || url.password || url.hash) return null;
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return url;
  return null;
}

export const sameOrigin = (a, b) => {
  const x = safeUrl(a);
  const y = safeUrl(b);
  return x !== null && y !== null && x.origin === y.origin;
};

async function readBody(response) {
  const bytes = await readCapped(response.body, MAX_BYTES);
  if (bytes === null) throw new NetError('bad_response', 'response too large');
  return new TextDecoder().decode(bytes);
}

/** fetch() with the wallet's rules; returns {status, text, json} (json null when not JSON). */
export async function request(url, { method = 'GET', headers = {}, body = undefined } = {}) {
  if (!safeUrl(String(url))) throw new NetError('bad_url');
  if (!navigator.onLine) throw new NetError('offline');
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response;
  try {
    response = await fetch(url, {
      method, headers, body, signal: controller.signal, credentials: 'omit', cache: 'no-store',
      redirect: 'error', referrerPolicy: 'no-referrer', mode: 'cors',
    });
  } catch (error) {
    throw new NetError(error && error.name === 'AbortError' ? 'timeout' : 'offline');
  } finally {
    clearTimeout(timer);
  }
  const text = await readBody(response);
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: response.status, text, json };
}

/** GET/POST expecting a JSON object with status 200; an OAuth error body becomes NetError(error). */
export async function requestJson(url, options = {}) {
  const { status, json } = await request(url, options);
  if (status !== 200 || json === null || typeof json !== 'object' || Array.isArray(json)) {
    const code = json && typeof json.error === 'string' ? json.error.slice(0, 60) : 'http';
    throw new NetError(code, `HTTP ${status}`, status);
  }
  return json;
}

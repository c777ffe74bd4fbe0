// Service worker of the scanning page: keeps the page's own files so that it opens and verifies with
// no connection after one visit online. It never touches the API: verification requests, the trust
// list, types and status lists are the page's business (IndexedDB, offline.js), and no QR text or
// result is ever cached here.
//
// Cache first, refreshed in the background (stale-while-revalidate): a slow or absent connection
// never delays opening the page, and an update arrives on the next visit. Bump VERSION when the
// list changes (tests/browser/test_offline_page.py checks it against what the page loads). The
// better QR reader (zxing-wasm, about 400 KB), which the page loads once it is interactive, is kept
// when it is first fetched rather than with the page, so that it never weighs on a first visit.

const VERSION = "puente-scanner-v4";
// Decoders the page loads only when it needs them (web_common/scan/scanner.js: none where the
// browser reads QR codes natively): kept when first fetched, never downloaded just to be kept.
const LATER = ["/common/vendor/zxing_wasm/", "/common/scan/worker.js", "/common/vendor/jsQR.js"];
const SHELL = [
  "/",
  "/app.js",
  "/i18n.js",
  "/offline.js",
  "/store.js",
  "/style.css",
  "/icon.svg",
  "/scan.svg",
  "/image.svg",
  "/manifest.webmanifest",
  "/common/scan/scanner.js",
  "/common/scan/decode.js",
  "/common/scan/finder.js",
  "/common/bytes.js",
  "/common/inflate.js",
  "/common/json_strict.js",
  "/common/pt1.js",
  "/common/qr-format-tables.json",
  "/common/i18n/es.json",
  "/common/i18n/en.json",
  "/common/i18n/camera/es.json",
  "/common/i18n/camera/en.json",
  "/common/verify/claims.js",
  "/common/verify/errors.js",
  "/common/verify/jose.js",
  "/common/verify/sdjwt.js",
  "/common/verify/status.js",
  "/common/verify/trust.js",
  "/common/verify/verify.js",
  "/common/x509.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(VERSION);
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: "no-cache" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== VERSION) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function refresh(cache, request, key) {
  try {
    const response = await fetch(request, { cache: "no-cache" });
    if (response.ok && response.type === "basic") await cache.put(key, response.clone());
    return response;
  } catch {
    return null;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const key = request.mode === "navigate" ? "/" : url.pathname;
  // The API and anything else go to the network untouched.
  if (!SHELL.includes(key) && !LATER.some((prefix) => key.startsWith(prefix))) return;
  event.respondWith((async () => {
    const cache = await caches.open(VERSION);
    const cached = await cache.match(key);
    const fresh = refresh(cache, request.mode === "navigate" ? "/" : request, key);
    if (cached) {
      event.waitUntil(fresh);
      return cached;
    }
    return (await fresh) || new Response("Sin conexión / Offline", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  })());
});

// Service worker: keeps the wallet's app shell so that it opens and shows QR codes with no network
// after the first visit. Only the wallet's own static files are cached; requests to issuers (offers,
// tokens, credentials, status lists) are never intercepted, and no holder data is ever cached here
// (it lives encrypted in IndexedDB). The QR scanner's worker and decoders (/common/scan/worker.js,
// jsQR, zxing-wasm) and X.509 (/common/x509.js: signed requests and CA-accredited issuers, both
// online) stay out of the shell to keep the first visit small: they are kept here the first time
// they load.
//
// Strategy: cache first, then refresh the cached copy in the background (stale-while-revalidate),
// so a slow or absent connection never delays opening the wallet and an update arrives on the next
// visit. Bump VERSION when the list of files changes.

const VERSION = 'puente-wallet-v10';
const SHELL = [
  '/',
  '/index.html',
  '/css/wallet.css',
  '/js/app.js',
  '/common/bytes.js',
  '/common/inflate.js',
  '/common/json_strict.js',
  '/common/scan/decode.js',
  '/common/scan/finder.js',
  '/common/scan/scanner.js',
  '/common/jose.js',
  '/common/pt1.js',
  '/common/qr-format-tables.json',
  '/common/sdjwt.js',
  '/common/verify/errors.js',
  '/common/verify/jose.js',
  '/common/verify/sdjwt.js',
  '/common/verify/status.js',
  '/common/verify/trust.js',
  '/js/backup.js',
  '/js/cards.js',
  '/js/copies.js',
  '/js/i18n.js',
  '/js/net.js',
  '/js/oid4vci.js',
  '/js/oid4vp.js',
  '/js/qr_render.js',
  '/js/refresh.js',
  '/js/screens/backup.js',
  '/js/screens/credential.js',
  '/js/screens/history.js',
  '/js/screens/home.js',
  '/js/screens/profiles.js',
  '/js/screens/qr.js',
  '/js/screens/receive.js',
  '/js/screens/request.js',
  '/js/state.js',
  '/js/status.js',
  '/js/store.js',
  '/js/trust.js',
  '/js/ui.js',
  '/common/i18n/wallet/es.json',
  '/common/i18n/wallet/en.json',
  '/common/i18n/camera/es.json',
  '/common/i18n/camera/en.json',
  '/vendor/qrcode.mjs',
  '/manifest.webmanifest',
  '/config.json',
  '/icon.svg',
];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(VERSION);
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: 'no-cache' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== VERSION) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function refresh(cache, request, key) {
  try {
    const response = await fetch(request, { cache: 'no-cache' });
    if (response.ok && response.type === 'basic') await cache.put(key, response.clone());
    return response;
  } catch {
    return null;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || url.pathname === '/sw.js') return;
  // Navigations (also /?offer=…) get the app shell; the offer stays in the page's URL for app.js.
  const key = request.mode === 'navigate' ? '/' : url.pathname;
  event.respondWith((async () => {
    const cache = await caches.open(VERSION);
    const cached = await cache.match(key);
    const fresh = refresh(cache, request.mode === 'navigate' ? '/' : request, key);
    if (cached) {
      event.waitUntil(fresh);
      return cached;
    }
    return (await fresh) || new Response('Sin conexión / Offline', { status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  })());
});

// The app-shell cache both service workers share (the wallet's wallet_web/sw.js and the scanning
// page's verifier/web/sw.js), loaded with importScripts: a classic script, so that it runs in every
// browser's service worker. `puenteShell({version, shell, keeps})` installs the three handlers:
//
// - install: `shell` (URL paths) fetched past the HTTP cache (a 304 when nothing changed) into the
//   cache named `version`, and the new worker takes over at once;
// - activate: every other cache of this origin's worker is deleted;
// - fetch: a same-origin GET whose key (`/` for a navigation, else the path) `keeps(key)` accepts is
//   answered from the cache and refreshed in the background (stale-while-revalidate); missing from
//   the cache, from the network, kept when it comes back; with neither, a 503 in both languages.
//   Anything else (the API, issuers, other origins) goes to the network untouched.
// Nothing but same-origin static files is ever put in the cache: holder data and QR texts never.

self.puenteShell = function puenteShell({ version, shell, keeps }) {
  self.addEventListener("install", (event) => {
    event.waitUntil((async () => {
      const cache = await caches.open(version);
      await cache.addAll(shell.map((path) => new Request(path, { cache: "no-cache" })));
      await self.skipWaiting();
    })());
  });

  self.addEventListener("activate", (event) => {
    event.waitUntil((async () => {
      for (const name of await caches.keys()) {
        if (name !== version) await caches.delete(name);
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
    if (!keeps(key)) return;
    event.respondWith((async () => {
      const cache = await caches.open(version);
      const cached = await cache.match(key);
      const fresh = refresh(cache, request.mode === "navigate" ? "/" : request, key);
      if (cached) {
        event.waitUntil(fresh);
        return cached;
      }
      return (await fresh) || new Response("Sin conexión / Offline",
        { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    })());
  });
};

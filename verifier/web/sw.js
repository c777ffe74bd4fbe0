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

const VERSION = "puente-scanner-v5";
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

// The shared app-shell cache (web_common/sw_shell.js): the shell and the decoders kept when first
// fetched; the API and anything else go to the network untouched.
importScripts("/common/sw_shell.js");
self.puenteShell({
  version: VERSION,
  shell: SHELL,
  keeps: (key) => SHELL.includes(key) || LATER.some((prefix) => key.startsWith(prefix)),
});

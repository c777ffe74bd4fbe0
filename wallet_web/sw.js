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

const VERSION = 'puente-wallet-v11';
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

// The shared app-shell cache (web_common/sw_shell.js). Navigations (also /?offer=…) get the app
// shell; the offer stays in the page's URL for app.js. Every same-origin file but this worker is kept.
// The wallet's CSP requires Trusted Types, here too: one policy lets exactly this script URL through.
const SHELL_SCRIPT = '/common/sw_shell.js';
const scriptPolicy = self.trustedTypes && self.trustedTypes.createPolicy
  ? self.trustedTypes.createPolicy('puente-sw', {
    createScriptURL: (value) => {
      if (value !== SHELL_SCRIPT) throw new TypeError('script URL not allowed');
      return value;
    },
  })
  : null;
importScripts(scriptPolicy ? scriptPolicy.createScriptURL(SHELL_SCRIPT) : SHELL_SCRIPT);
self.puenteShell({ version: VERSION, shell: SHELL, keeps: (key) => key !== '/sw.js' });

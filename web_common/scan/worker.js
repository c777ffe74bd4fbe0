// The scanner's decoding worker: frames are read here, off the page's thread, so the camera view
// never freezes. jsQR is ready at once; zxing-wasm (ZXing-C++, a better reader of dense and blurred
// codes, ~410 KB compressed) is loaded when the page asks ("warm", once it is interactive) and
// replaces jsQR as soon as it is ready. Messages:
//   → {type: "warm"}                                  ← {type: "ready", decoder: "zxing" | "jsqr"}
//   → {type: "decode", id, width, height, buffer}     ← {type: "decoded", id, decoder, text, seen, pass}

import { decodeImage, jsqrReader, zxingReader } from "./decode.js";
import "../vendor/jsQR.js"; // UMD: sets self.jsQR

const WASM_URL = new URL("../vendor/zxing_wasm/reader/zxing_reader.wasm", import.meta.url).href;

const readers = { jsqr: jsqrReader(self.jsQR), zxing: null };
let zxingLoading = null;

/** Loads zxing-wasm from the vendored copy (never from the package's default CDN). */
function loadZxing() {
  zxingLoading ??= (async () => {
    const zxing = await import("../vendor/zxing_wasm/es/reader/index.js");
    await zxing.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? WASM_URL : prefix + path) },
      fireImmediately: true,
    });
    readers.zxing = zxingReader(zxing.readBarcodes);
  })();
  zxingLoading.catch(() => {
    zxingLoading = null; // a later "warm" tries again
  });
  return zxingLoading;
}

async function warm() {
  try {
    await loadZxing();
  } catch {
    // jsQR stays in use
  }
  self.postMessage({ type: "ready", decoder: readers.zxing ? "zxing" : "jsqr" });
}

async function decode({ id, width, height, buffer }) {
  const decoder = readers.zxing ? "zxing" : "jsqr";
  let result = { text: null, seen: false, pass: null };
  try {
    result = await decodeImage(readers[decoder], new ImageData(new Uint8ClampedArray(buffer), width, height));
  } catch {
    // an unreadable frame is a frame without a code
  }
  self.postMessage({ type: "decoded", id, decoder, ...result });
}

self.addEventListener("message", (event) => {
  const message = event.data;
  if (message && message.type === "warm") warm();
  else if (message && message.type === "decode") decode(message);
});

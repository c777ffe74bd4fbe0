// The one QR scanner of the wallet (offer codes) and the scanning page (credentials): camera and
// image decoding with the best reader the browser offers.
//
// Reader order: the browser's BarcodeDetector (Android Chrome, for QR codes) → zxing-wasm (ZXing-C++,
// loaded in a worker once the page is interactive: preloadDecoders()) → jsQR (in the same worker,
// ready at once, used until zxing-wasm is). The camera asks for 1280×720 or more, decodes a centred
// square at full resolution (no downscaling: small modules stay whole), one frame at a time as
// frames arrive (requestVideoFrameCallback) so the page never freezes, offers torch and zoom where
// the device has them, and says "closer" when a code is seen but cannot be read.

import { decodeImage, jsqrReader } from "./decode.js";

const WORKER_URL = new URL("./worker.js", import.meta.url).href;
const JSQR_URL = new URL("../vendor/jsQR.js", import.meta.url).href;
const FRAME_INTERVAL_MS = 80; // without requestVideoFrameCallback
const MAX_CROP = 1080; // the centre square decoded from each camera frame, at most this many pixels a side
const IMAGE_SIDES = [2048, 1024, 640]; // an uploaded photo is tried at these sizes
const CLOSER_MS = 1500; // how long "closer" stays up after the last frame that saw a code

// ----------------------------------------------------------------------------- readers

let nativeLoading = null;

/** The browser's BarcodeDetector for QR codes, or null where there is none. */
export function nativeDetector() {
  nativeLoading ??= (async () => {
    if (!("BarcodeDetector" in self)) return null;
    try {
      const formats = await self.BarcodeDetector.getSupportedFormats();
      return formats.includes("qr_code") ? new self.BarcodeDetector({ formats: ["qr_code"] }) : null;
    } catch {
      return null;
    }
  })();
  return nativeLoading;
}

/** Under Trusted Types (the wallet's CSP) the worker's URL needs a policy: this one lets only it pass. */
function workerScriptUrl() {
  if (!self.trustedTypes || !self.trustedTypes.createPolicy) return WORKER_URL;
  const policy = self.trustedTypes.createPolicy("puente-scanner", {
    createScriptURL: (value) => {
      if (value !== WORKER_URL) throw new TypeError("script URL not allowed");
      return value;
    },
  });
  return policy.createScriptURL(WORKER_URL);
}

const pool = { worker: null, failed: false, decoder: "jsqr", warming: [], nextId: 0, pending: new Map(), local: null };

function settleWarming(decoder) {
  for (const resolve of pool.warming.splice(0)) resolve(decoder);
}

function settleAll(result) {
  for (const resolve of pool.pending.values()) resolve(result);
  pool.pending.clear();
}

function startWorker() {
  if (pool.worker || pool.failed) return;
  try {
    pool.worker = new Worker(workerScriptUrl(), { type: "module" });
  } catch {
    pool.failed = true;
    return;
  }
  pool.worker.addEventListener("message", ({ data }) => {
    if (data.type === "ready") {
      pool.decoder = data.decoder;
      settleWarming(data.decoder);
    } else if (data.type === "decoded") {
      pool.decoder = data.decoder;
      const resolve = pool.pending.get(data.id);
      pool.pending.delete(data.id);
      if (resolve) resolve(data);
    }
  });
  pool.worker.addEventListener("error", () => {
    // No module workers here (or the worker failed to load): decode on the page's thread with jsQR.
    pool.worker = null;
    pool.failed = true;
    pool.decoder = "jsqr";
    settleWarming("jsqr");
    settleAll(null);
  });
}

/** Starts the decoding worker and loads zxing-wasm in it. Call once the page is interactive; resolves
 * with the reader in use: "native" (then nothing is loaded), "zxing", or "jsqr" if zxing-wasm could not
 * load. */
export async function preloadDecoders() {
  if (await nativeDetector()) return "native";
  return warmWorker();
}

function warmWorker() {
  startWorker();
  if (!pool.worker) return Promise.resolve("jsqr");
  if (pool.decoder === "zxing") return Promise.resolve("zxing");
  const ready = new Promise((resolve) => pool.warming.push(resolve));
  pool.worker.postMessage({ type: "warm" });
  return ready;
}

/** Which reader decodes now: "native", "zxing" or "jsqr". */
export async function currentDecoder() {
  return (await nativeDetector()) ? "native" : pool.decoder;
}

async function localReader() {
  pool.local ??= import(JSQR_URL).then(() => jsqrReader(self.jsQR));
  pool.local.catch(() => {
    pool.local = null;
  });
  return pool.local;
}

/** Decodes an ImageData off the page's thread (zxing-wasm or jsQR). Resolves {text, seen, decoder}. */
export async function decodePixels(image) {
  startWorker();
  if (pool.worker) {
    const id = ++pool.nextId;
    const answer = await new Promise((resolve) => {
      pool.pending.set(id, resolve);
      pool.worker.postMessage({ type: "decode", id, width: image.width, height: image.height, buffer: image.data.buffer },
        [image.data.buffer]);
    });
    if (answer) return answer;
    // the worker died with this frame: read it here (the buffer went with it, so the frame is lost)
    return { text: null, seen: false, decoder: "jsqr" };
  }
  const result = await decodeImage(await localReader(), image);
  return { ...result, decoder: "jsqr" };
}

// ----------------------------------------------------------------------------- images

function context2d(canvas) {
  return canvas.getContext("2d", { willReadFrequently: true });
}

/** The QR text in an image (an ImageBitmap of a photo or screenshot), or null. */
export async function scanImage(bitmap) {
  const native = await nativeDetector();
  if (native) {
    try {
      const codes = await native.detect(bitmap);
      if (codes.length > 0 && codes[0].rawValue) return codes[0].rawValue;
    } catch {
      // fall through to the worker
    }
  }
  await warmWorker(); // an upload is worth waiting for the better reader
  const longest = Math.max(bitmap.width, bitmap.height);
  const first = Math.min(longest, IMAGE_SIDES[0]);
  const canvas = document.createElement("canvas");
  // Large photos also decode scaled down (less noise); try a few sizes.
  for (const side of [first, ...IMAGE_SIDES.slice(1).filter((s) => s < first)]) {
    const scale = side / longest;
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = context2d(canvas);
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const result = await decodePixels(context.getImageData(0, 0, canvas.width, canvas.height));
    if (result.text) return result.text;
  }
  return null;
}

// ----------------------------------------------------------------------------- camera

/** Torch and zoom, where the camera offers them; the rest stays as it is. */
function controlsOf(track) {
  const capabilities = typeof track.getCapabilities === "function" ? track.getCapabilities() : {};
  const settings = typeof track.getSettings === "function" ? track.getSettings() : {};
  const apply = (constraint) => track.applyConstraints({ advanced: [constraint] });
  if (Array.isArray(capabilities.focusMode) && capabilities.focusMode.includes("continuous")) {
    apply({ focusMode: "continuous" }).catch(() => {});
  }
  const zoom = capabilities.zoom && capabilities.zoom.max > capabilities.zoom.min ? capabilities.zoom : null;
  return {
    torch: capabilities.torch === true,
    zoom: zoom && { min: zoom.min, max: zoom.max, step: zoom.step || 0.1, value: settings.zoom ?? zoom.min },
    setTorch: (on) => apply({ torch: Boolean(on) }),
    setZoom: (value) => apply({ zoom: Number(value) }),
  };
}

/** The centred square of the frame that is decoded: at full resolution, at most MAX_CROP a side. */
export function centreCrop(width, height) {
  const side = Math.min(width, height, MAX_CROP);
  return { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), side };
}

/**
 * Scans from the camera into `video` until a code is read or `stop()` is called.
 * `onStatus({state, decoder})`: state is "looking", "closer" (a code is seen but not read) or "read";
 * decoder is the reader of the last frame ("native", "zxing" or "jsqr").
 * `onControls({torch, zoom, setTorch, setZoom})` once the camera is open.
 * Returns {result, stop}: result resolves with the text (null once stopped) and rejects with the
 * getUserMedia error when the camera cannot be opened.
 */
export function scanCamera(video, { onStatus = () => {}, onControls = () => {} } = {}) {
  const canvas = document.createElement("canvas");
  let stream = null;
  let stopped = false;
  let timer = null;
  let finish = () => {};
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    finish(null);
  };

  async function readFrame(native) {
    const crop = centreCrop(video.videoWidth, video.videoHeight);
    if (canvas.width !== crop.side) canvas.width = crop.side;
    if (canvas.height !== crop.side) canvas.height = crop.side;
    const context = context2d(canvas);
    context.drawImage(video, crop.x, crop.y, crop.side, crop.side, 0, 0, crop.side, crop.side);
    if (native) {
      const codes = await native.detect(canvas);
      return { text: codes.length > 0 && codes[0].rawValue ? codes[0].rawValue : null, seen: false, decoder: "native" };
    }
    return decodePixels(context.getImageData(0, 0, crop.side, crop.side));
  }

  const result = (async () => {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1920 }, height: { ideal: 1080 } },
    });
    if (stopped) {
      stop();
      return null;
    }
    video.srcObject = stream;
    try {
      await video.play();
    } catch {
      // autoplay refused: frames still arrive once the element has data
    }
    const track = stream.getVideoTracks()[0];
    if (track) onControls(controlsOf(track));
    const native = await nativeDetector();
    if (!native) preloadDecoders();
    let lastSeen = -Infinity;
    let shown = "";
    const report = (state, decoder) => {
      if (state + decoder !== shown) onStatus({ state, decoder });
      shown = state + decoder;
    };
    return new Promise((resolve) => {
      finish = resolve;
      const next = () => {
        if (stopped) return;
        if (typeof video.requestVideoFrameCallback === "function") video.requestVideoFrameCallback(onFrame);
        else timer = setTimeout(onFrame, FRAME_INTERVAL_MS);
      };
      const onFrame = async () => {
        if (stopped) return;
        if (video.videoWidth > 0) {
          let read = null;
          try {
            read = await readFrame(native);
          } catch {
            read = null;
          }
          if (stopped) return;
          if (read && read.text) {
            const text = read.text;
            onStatus({ state: "read", decoder: read.decoder });
            finish = () => {};
            stop();
            resolve(text);
            return;
          }
          const now = performance.now();
          if (read && read.seen) lastSeen = now;
          report(now - lastSeen < CLOSER_MS ? "closer" : "looking", read ? read.decoder : pool.decoder);
        }
        next();
      };
      next();
    });
  })();
  result.catch(stop);
  return { result, stop };
}

/** The QR text in an image file (a photo or screenshot the user chose), or null. */
export async function scanImageFile(file) {
  const bitmap = await createImageBitmap(file);
  try {
    return await scanImage(bitmap);
  } finally {
    bitmap.close();
  }
}

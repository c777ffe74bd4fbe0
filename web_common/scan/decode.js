// Reading QR text from pixels (an ImageData): the decoders the scanner's worker runs where the
// browser has no BarcodeDetector, and the benchmark (bench/scan.py) runs exactly this code.
//
// A frame is read as it is first, then once more after an unsharp mask: camera frames of a dense
// code (version 21-22 at arm's length, 4 pixels a module) are blurred more than the decoders'
// binarizers tolerate, and sharpening the luminance restores the module edges (bench/README.md has
// the measured gain).

import { finderPatternsSeen } from "./finder.js";

export const SHARPEN_RADIUS = 2; // two box passes of radius 2: close to a Gaussian of sigma 2
export const SHARPEN_AMOUNT = 1.5;

/** One pass of a box blur of `radius` along rows (step 1) or columns (step width), edges clamped. */
function boxPass(source, target, width, height, radius, horizontal) {
  const lines = horizontal ? height : width;
  const length = horizontal ? width : height;
  const stride = horizontal ? 1 : width;
  const lineStride = horizontal ? width : 1;
  const span = 2 * radius + 1;
  for (let line = 0; line < lines; line++) {
    const base = line * lineStride;
    const at = (i) => source[base + Math.min(length - 1, Math.max(0, i)) * stride];
    let sum = 0;
    for (let i = -radius; i <= radius; i++) sum += at(i);
    for (let i = 0; i < length; i++) {
      target[base + i * stride] = sum / span;
      sum += at(i + radius + 1) - at(i - radius);
    }
  }
}

/** The luminance of an RGBA ImageData (ITU-R BT.601 weights), one float per pixel. */
export function luminance(image) {
  const { data } = image;
  const count = image.width * image.height;
  const luma = new Float32Array(count);
  for (let i = 0, p = 0; i < count; i++, p += 4) luma[i] = 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
  return luma;
}

/** A grey copy of `image` with an unsharp mask: luma + amount × (luma − blurred luma). */
export function sharpen(image, radius = SHARPEN_RADIUS, amount = SHARPEN_AMOUNT) {
  const { width, height } = image;
  const luma = luminance(image);
  const a = new Float32Array(luma.length);
  const b = new Float32Array(luma.length);
  boxPass(luma, a, width, height, radius, true);
  boxPass(a, b, width, height, radius, false);
  boxPass(b, a, width, height, radius, true);
  boxPass(a, b, width, height, radius, false);
  const out = new Uint8ClampedArray(luma.length * 4);
  for (let i = 0, p = 0; i < luma.length; i++, p += 4) {
    const value = luma[i] + amount * (luma[i] - b[i]);
    out[p] = value;
    out[p + 1] = value;
    out[p + 2] = value;
    out[p + 3] = 255;
  }
  return new ImageData(out, width, height);
}

/** A reader over jsQR (the function the UMD bundle puts on `self.jsQR`). jsQR cannot tell a code it
 * saw but could not read from no code at all: when it reads nothing, decodeImage looks for a QR
 * symbol's three finder patterns (finder.js), which the camera turns into "closer". */
export function jsqrReader(jsQR) {
  const read = async (image) => {
    const code = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    return { text: code && code.data ? code.data : null, seen: false };
  };
  read.blind = true; // decodeImage looks for finder patterns itself, once, in the sharpened frame
  return read;
}

const ZXING_OPTIONS = { formats: ["QRCode"], tryHarder: true, tryInvert: false, returnErrors: true };

/** A reader over zxing-wasm's `readBarcodes`. With `returnErrors` it also reports codes it located
 * but could not decode (checksum or format errors): `seen`, which the camera turns into "closer". */
export function zxingReader(readBarcodes) {
  return async (image) => {
    const results = await readBarcodes(image, ZXING_OPTIONS);
    const read = results.find((result) => result.isValid && result.text);
    return { text: read ? read.text : null, seen: results.length > 0 };
  };
}

/** Reads `image` with `read` as it is, then sharpened. Returns {text, seen, pass}; for a reader that
 * cannot see codes it does not read (jsQR), `seen` comes from the finder patterns of the sharpened frame. */
export async function decodeImage(read, image) {
  const plain = await read(image);
  if (plain.text) return { text: plain.text, seen: true, pass: "plain" };
  const sharpened = sharpen(image);
  const sharp = await read(sharpened);
  if (sharp.text) return { text: sharp.text, seen: true, pass: "sharpened" };
  const seen = plain.seen || sharp.seen
    || (read.blind === true && finderPatternsSeen(luminance(sharpened), sharpened.width, sharpened.height));
  return { text: null, seen, pass: null };
}

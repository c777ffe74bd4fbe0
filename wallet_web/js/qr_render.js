// Draw a PT1 text as a QR symbol: alphanumeric mode for the whole text (Base45's alphabet is the QR
// alphanumeric set), error correction M, a 4-module quiet zone, whole device pixels per module so that
// every edge is sharp for cheap phone cameras.

import qrcode from '../vendor/qrcode.mjs';

const QUIET = 4;

/** Returns the QR version; throws Error('too_large') when the text does not fit version 40. */
export function drawQr(canvas, text, cssWidth) {
  const code = qrcode(0, 'M');
  code.addData(text, 'Alphanumeric');
  try {
    code.make();
  } catch {
    throw new Error('too_large');
  }
  const count = code.getModuleCount();
  const total = count + 2 * QUIET;
  const ratio = window.devicePixelRatio || 1;
  const module = Math.max(1, Math.floor((cssWidth * ratio) / total));
  const side = module * total;
  canvas.width = side;
  canvas.height = side;
  canvas.style.width = `${side / ratio}px`;
  canvas.style.height = `${side / ratio}px`;
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, side, side);
  context.fillStyle = '#000000';
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (code.isDark(row, col)) context.fillRect((col + QUIET) * module, (row + QUIET) * module, module, module);
    }
  }
  return (count - 17) / 4;
}

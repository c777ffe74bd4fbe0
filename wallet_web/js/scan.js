// Read a QR code (a credential offer) from the camera or from an image: the browser's BarcodeDetector
// where it exists, otherwise the vendored jsQR, loaded only when needed.

let detector = null;

async function decoder() {
  if (detector) return detector;
  if ('BarcodeDetector' in self) {
    try {
      const formats = await self.BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code')) {
        const native = new self.BarcodeDetector({ formats: ['qr_code'] });
        detector = async (canvas) => {
          const found = await native.detect(canvas);
          return found.length ? found[0].rawValue : null;
        };
        return detector;
      }
    } catch {
      // fall through to jsQR
    }
  }
  await import('../vendor/jsQR.js'); // UMD: sets self.jsQR
  detector = async (canvas) => {
    const context = canvas.getContext('2d', { willReadFrequently: true });
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const found = self.jsQR(image.data, image.width, image.height, { inversionAttempts: 'dontInvert' });
    return found ? found.data : null;
  };
  return detector;
}

function drawScaled(source, width, height, canvas, maxSide = 1280) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  canvas.getContext('2d', { willReadFrequently: true }).drawImage(source, 0, 0, canvas.width, canvas.height);
}

export async function scanImageFile(file) {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement('canvas');
  drawScaled(bitmap, bitmap.width, bitmap.height, canvas, 2048);
  bitmap.close();
  return (await decoder())(canvas);
}

/** Scan from the camera into `video` until a code is read or stop() is called; resolves with the text. */
export function scanCamera(video) {
  let stream = null;
  let stopped = false;
  let timer = null;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    if (stream) stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  };
  const result = (async () => {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    if (stopped) {
      stop();
      return null;
    }
    video.srcObject = stream;
    await video.play();
    const detect = await decoder();
    const canvas = document.createElement('canvas');
    return new Promise((resolve) => {
      const tick = async () => {
        if (stopped) return resolve(null);
        if (video.videoWidth) {
          drawScaled(video, video.videoWidth, video.videoHeight, canvas);
          const text = await detect(canvas).catch(() => null);
          if (text) {
            stop();
            return resolve(text);
          }
        }
        timer = setTimeout(tick, 250);
      };
      tick();
    });
  })();
  result.catch(stop);
  return { result, stop };
}

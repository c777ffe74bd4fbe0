// "A QR code is in view" for readers that cannot say so themselves (jsQR returns a text or nothing):
// the three finder patterns of a QR symbol — squares whose rows and columns read dark, light, dark,
// light, dark in the ratio 1:1:3:1:1 — at the corners of a right isosceles triangle at least 14
// modules a side. The scanner turns it into "bring the phone closer" when the reader then cannot
// read the code; it never decides what a code says.

const TOLERANCE = 0.5; // a run may be off by half a module times its width (ZXing's finder tolerance)
const MIN_HITS = 2; // rows that found the same pattern
const WINDOW = 16; // the local threshold's window: 1/WINDOW of the shorter side (at least 9 px)

/** Dark (1) or light (0) per pixel: darker than the local mean of a window around it (integral image). */
function binarize(luma, width, height) {
  const integral = new Float64Array((width + 1) * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += luma[y * width + x];
      integral[(y + 1) * (width + 1) + x + 1] = integral[y * (width + 1) + x + 1] + row;
    }
  }
  const r = Math.max(4, Math.floor(Math.min(width, height) / WINDOW / 2));
  const dark = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(height, y + r + 1);
    for (let x = 0; x < width; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(width, x + r + 1);
      const sum = integral[y1 * (width + 1) + x1] - integral[y0 * (width + 1) + x1] - integral[y1 * (width + 1) + x0]
        + integral[y0 * (width + 1) + x0];
      dark[y * width + x] = luma[y * width + x] < (sum / ((x1 - x0) * (y1 - y0))) * 0.95 ? 1 : 0;
    }
  }
  return dark;
}

/** Whether five runs read 1:1:3:1:1; returns the module size or 0. */
function ratio(runs) {
  const total = runs[0] + runs[1] + runs[2] + runs[3] + runs[4];
  if (total < 7) return 0;
  const module = total / 7;
  const slack = module * TOLERANCE;
  const fits = Math.abs(runs[0] - module) < slack && Math.abs(runs[1] - module) < slack
    && Math.abs(runs[2] - 3 * module) < 3 * slack && Math.abs(runs[3] - module) < slack && Math.abs(runs[4] - module) < slack;
  return fits ? module : 0;
}

/** The five runs through (x, y) along a column, centred on the dark run at y; its module and centre, or null. */
function crossCheck(dark, width, height, x, y) {
  if (!dark[y * width + x]) return null;
  const at = (yy) => dark[yy * width + x];
  let top = y;
  while (top > 0 && at(top - 1)) top--;
  let bottom = y;
  while (bottom < height - 1 && at(bottom + 1)) bottom++;
  const runs = [0, 0, bottom - top + 1, 0, 0];
  let yy = top - 1;
  for (const [slot, colour] of [[1, 0], [0, 1]]) {
    while (yy >= 0 && at(yy) === colour) {
      runs[slot]++;
      yy--;
    }
  }
  yy = bottom + 1;
  for (const [slot, colour] of [[3, 0], [4, 1]]) {
    while (yy < height && at(yy) === colour) {
      runs[slot]++;
      yy++;
    }
  }
  const module = ratio(runs);
  return module ? { module, y: (top + bottom) / 2 } : null;
}

/** Finder-pattern candidates: {x, y, module, hits}, merged across rows. */
function candidates(dark, width, height) {
  const found = [];
  for (let y = 0; y < height; y += 2) {
    const runs = [];
    const starts = [];
    let colour = dark[y * width];
    let length = 0;
    for (let x = 0; x <= width; x++) {
      const value = x < width ? dark[y * width + x] : -1;
      if (value === colour) {
        length++;
        continue;
      }
      runs.push(length);
      starts.push(x - length);
      if (runs.length >= 5 && colour === 1) {
        const n = runs.length;
        const five = runs.slice(n - 5);
        const module = ratio(five);
        if (module) {
          const cx = Math.round(starts[n - 3] + five[2] / 2);
          const column = crossCheck(dark, width, height, cx, y);
          if (column && Math.abs(column.module - module) < module * 0.5) {
            const cy = column.y;
            const near = found.find((f) => Math.abs(f.x - cx) < 2 * f.module && Math.abs(f.y - cy) < 2 * f.module);
            if (near) {
              near.hits++;
              near.x = (near.x + cx) / 2;
              near.y = (near.y + cy) / 2;
            } else if (found.length < 200) {
              found.push({ x: cx, y: cy, module: (module + column.module) / 2, hits: 1 });
            }
          }
        }
      }
      colour = value;
      length = 1;
    }
  }
  return found.filter((f) => f.hits >= MIN_HITS);
}

const distance = (a, b) => Math.hypot(a.x - b.x, a.y - b.y);

/** Three candidates of one module size at the corners of a right isosceles triangle, 14+ modules a side. */
function symbolIn(found) {
  for (let i = 0; i < found.length; i++) {
    for (let j = i + 1; j < found.length; j++) {
      for (let k = j + 1; k < found.length; k++) {
        const three = [found[i], found[j], found[k]];
        const sizes = three.map((f) => f.module);
        const module = (sizes[0] + sizes[1] + sizes[2]) / 3;
        if (Math.max(...sizes) > 1.5 * Math.min(...sizes)) continue;
        const [a, b, c] = [distance(three[0], three[1]), distance(three[1], three[2]), distance(three[0], three[2])]
          .sort((p, q) => p - q);
        if (a < 14 * module || b > 1.2 * a || Math.abs(c - Math.SQRT2 * a) > 0.2 * a) continue;
        return true;
      }
    }
  }
  return false;
}

/** Whether `luma` (one value per pixel, width × height) shows a QR symbol's three finder patterns. */
export function finderPatternsSeen(luma, width, height) {
  return symbolIn(candidates(binarize(luma, width, height), width, height));
}

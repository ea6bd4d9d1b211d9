/**
 * Turns a drawing into an MNIST-style 28x28 digit: the ink's bounding box is
 * scaled so its longer side is 20 pixels (aspect ratio kept), then placed in
 * a 28x28 field so that its center of mass sits at the field's center, as
 * the MNIST images were made from the NIST scans.
 */
import { QnnError, ShapeError } from '../errors.js';

export const DIGIT_SIZE = 28;
const BOX_SIZE = 20;
/** Sample points per axis and target pixel when resampling: 4 x 4 point samples averaged. */
const SUBSAMPLES = 4;

/**
 * Returns 784 bytes (0 = background, 255 = full ink, row by row) from `ink`,
 * a row-major width x height image of ink intensities 0..255.
 * Throws ShapeError when `ink` has another size and QnnError when it has no ink.
 */
export function centerDigit(ink: ArrayLike<number>, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || ink.length !== width * height) {
    throw new ShapeError(`centerDigit: expected ${width} x ${height} ink values, got ${ink.length}`);
  }
  const box = inkBoundingBox(ink, width, height);
  if (box === null) throw new QnnError('centerDigit: the drawing has no ink; draw a digit first');

  const scaled = resampleBox(ink, width, box);
  return placeByCenterOfMass(scaled);
}

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

function inkBoundingBox(ink: ArrayLike<number>, width: number, height: number): Box | null {
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] <= 0) continue;
      left = Math.min(left, x);
      right = Math.max(right, x);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
  }
  if (right < 0) return null;
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/** Scales the box so its longer side is 20 pixels; each target pixel averages 4 x 4 point samples. */
function resampleBox(ink: ArrayLike<number>, width: number, box: Box): { values: Float32Array; width: number; height: number } {
  const factor = BOX_SIZE / Math.max(box.width, box.height);
  const outWidth = Math.max(1, Math.round(box.width * factor));
  const outHeight = Math.max(1, Math.round(box.height * factor));
  const values = new Float32Array(outWidth * outHeight);

  for (let ty = 0; ty < outHeight; ty++) {
    for (let tx = 0; tx < outWidth; tx++) {
      let sum = 0;
      for (let sy = 0; sy < SUBSAMPLES; sy++) {
        for (let sx = 0; sx < SUBSAMPLES; sx++) {
          const x = Math.min(box.width - 1, Math.floor((tx + (sx + 0.5) / SUBSAMPLES) / factor));
          const y = Math.min(box.height - 1, Math.floor((ty + (sy + 0.5) / SUBSAMPLES) / factor));
          sum += ink[(box.top + y) * width + box.left + x];
        }
      }
      values[ty * outWidth + tx] = sum / (SUBSAMPLES * SUBSAMPLES);
    }
  }
  return { values, width: outWidth, height: outHeight };
}

/** Pastes the scaled digit into 28 x 28 so its center of mass lands on pixel coordinate 13.5 (the middle), rounded to whole pixels. */
function placeByCenterOfMass(scaled: { values: Float32Array; width: number; height: number }): Uint8Array {
  let mass = 0;
  let sumX = 0;
  let sumY = 0;
  for (let y = 0; y < scaled.height; y++) {
    for (let x = 0; x < scaled.width; x++) {
      const v = scaled.values[y * scaled.width + x];
      mass += v;
      sumX += v * x;
      sumY += v * y;
    }
  }
  const offsetX = Math.round((DIGIT_SIZE - 1) / 2 - sumX / mass);
  const offsetY = Math.round((DIGIT_SIZE - 1) / 2 - sumY / mass);

  // Ink shifted beyond the field is cut off, as happens to a lopsided digit in MNIST.
  const digit = new Uint8Array(DIGIT_SIZE * DIGIT_SIZE);
  for (let y = 0; y < scaled.height; y++) {
    for (let x = 0; x < scaled.width; x++) {
      const dx = x + offsetX;
      const dy = y + offsetY;
      if (dx < 0 || dy < 0 || dx >= DIGIT_SIZE || dy >= DIGIT_SIZE) continue;
      digit[dy * DIGIT_SIZE + dx] = Math.min(255, Math.round(scaled.values[y * scaled.width + x]));
    }
  }
  return digit;
}

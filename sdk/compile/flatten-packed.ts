import { wordsPerRow } from '../backends/backend.js';
import type { PackedFlattenLayer } from './graph.js';

/**
 * Flattens packed NHWC signs [rows, H, W, ceil(C / 32)] words into rows of
 * H * W * C signs, [rows, ceil(H * W * C / 32)] words. Sign (y, x, c) goes to
 * bit index (y * W + x) * C + c, the order of the training graph's Flatten.
 * With C a multiple of 32 the words are already in that order and are returned as they are.
 */
export function flattenPacked(layer: PackedFlattenLayer, packed: Uint32Array, rows: number): Uint32Array {
  const { height, width, channels } = layer;
  if (channels % 32 === 0) return packed;

  const pixels = height * width;
  const pixelWords = wordsPerRow(channels);
  const rowWords = wordsPerRow(pixels * channels);
  const out = new Uint32Array(rows * rowWords);

  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < pixels; p++) {
      const source = (r * pixels + p) * pixelWords;
      for (let c = 0; c < channels; c++) {
        if (((packed[source + (c >>> 5)] >>> (c & 31)) & 1) === 0) continue;
        const bit = p * channels + c;
        out[r * rowWords + (bit >>> 5)] |= 1 << (bit & 31);
      }
    }
  }
  return out;
}

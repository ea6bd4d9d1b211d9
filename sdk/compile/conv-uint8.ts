/**
 * The first convolution on uint8 input, as im2col + bitplaneGemm:
 *   acc[N*OH*OW, O] = cols[N*OH*OW, KH*KW*C] (uint8) · w[O, KH*KW*C] (signs) + padOffset[OH*OW, O]
 * im2col writes 0 for padded taps, and padOffset adds padValue times the weight
 * sum of each padded tap, so the result is exact for any integer padValue,
 * including values such as 256 that a byte cannot hold.
 */
import { convGeometry, forEachIm2colTap } from '../layers/im2col.js';
import type { PackedConv2dLayer } from './graph.js';

/** Returns the uint8 im2col matrix of `rows` NHWC samples for a uint8-input conv layer. */
export function im2colUint8(layer: PackedConv2dLayer, samples: Uint8Array, rows: number): Uint8Array {
  const window = { ...layer, batch: rows };
  const { outHeight, outWidth } = convGeometry(window);
  const cols = new Uint8Array(rows * outHeight * outWidth * layer.kernelHeight * layer.kernelWidth * layer.channels);

  forEachIm2colTap(window, (target, source, count) => {
    for (let c = 0; c < count; c++) cols[target + c] = samples[source + c];
  });
  return cols;
}

/**
 * Returns the accumulator offset [OH*OW, O] that the padded taps add, or null
 * with a padValue of 0. It costs OH*OW*O*KH*KW additions, small next to the
 * convolution, so it is computed per batch and never goes stale when weights change.
 */
export function padOffsets(layer: PackedConv2dLayer): Int32Array | null {
  if (layer.padValue === 0) return null;

  const taps = layer.kernelHeight * layer.kernelWidth;
  const reduction = taps * layer.channels;
  const words = Math.ceil(reduction / 32);
  const tapSums = new Int32Array(layer.outChannels * taps);
  for (let o = 0; o < layer.outChannels; o++) {
    for (let i = 0; i < reduction; i++) {
      const negative = (layer.weights[o * words + (i >>> 5)] >>> (i & 31)) & 1;
      tapSums[o * taps + Math.floor(i / layer.channels)] += negative ? -1 : 1;
    }
  }

  // One sample with a single channel marks which taps of each output position are inside the image.
  const window = { ...layer, batch: 1, channels: 1 };
  const { outHeight, outWidth } = convGeometry(window);
  const inside = new Uint8Array(outHeight * outWidth * taps);
  forEachIm2colTap(window, (target, _source, count) => {
    inside.fill(1, target, target + count);
  });

  const offsets = new Int32Array(outHeight * outWidth * layer.outChannels);
  for (let p = 0; p < outHeight * outWidth; p++) {
    for (let o = 0; o < layer.outChannels; o++) {
      let sum = 0;
      for (let t = 0; t < taps; t++) if (inside[p * taps + t] === 0) sum += tapSums[o * taps + t];
      offsets[p * layer.outChannels + o] = layer.padValue * sum;
    }
  }
  return offsets;
}

/** Adds the per-position pad offsets to the accumulators of `rows` samples, in place. */
export function addPadOffsets(acc: Int32Array, offsets: Int32Array): Int32Array {
  for (let i = 0; i < acc.length; i++) acc[i] += offsets[i % offsets.length];
  return acc;
}

import { wordsPerRow } from '../backends/backend.js';
import type { SignOutput } from './graph.js';

const INT32_MAX = 0x7fffffff;

/** Thresholds that all use direction 1, plus the channels whose pooled signs must be inverted afterwards. */
export interface PoolReadyThresholds {
  thresholds: Int32Array;
  directions: Int8Array;
  /** One pixel's packed words with bit c set for every channel c of direction -1. */
  invertMask: Uint32Array;
}

/**
 * Rewrites the thresholds of a layer that max-pools its accumulators before
 * the threshold, so the pooling can run on packed signs (binaryMaxPool2d, an AND of words).
 *
 * Direction 1: sign(max acc) = +1 iff max acc >= t iff some acc >= t, which is
 * the max of the window's signs, so threshold-then-AND-pool is exact.
 * Direction -1: +1 iff max acc <= t iff every acc <= t, which is the min of the
 * window's signs and not a max. So those channels are thresholded as
 * "acc >= t + 1" (direction 1, the complement of acc <= t), AND-pooled, and
 * inverted: NOT max(NOT s) = min(s).
 * t + 1 saturates at INT32_MAX, which no reachable accumulator reaches.
 */
export function poolReadyThresholds(output: SignOutput): PoolReadyThresholds {
  const channels = output.thresholds.length;
  const thresholds = new Int32Array(channels);
  const directions = new Int8Array(channels).fill(1);
  const invertMask = new Uint32Array(wordsPerRow(channels));

  for (let c = 0; c < channels; c++) {
    if (output.directions[c] >= 0) {
      thresholds[c] = output.thresholds[c];
      continue;
    }
    thresholds[c] = Math.min(output.thresholds[c] + 1, INT32_MAX);
    invertMask[c >>> 5] |= 1 << (c & 31);
  }
  return { thresholds, directions, invertMask };
}

/** XORs every pixel's words with `mask`, in place, and returns `packed`. */
export function invertChannels(packed: Uint32Array, mask: Uint32Array): Uint32Array {
  const words = mask.length;
  if (!mask.some((word) => word !== 0)) return packed;

  for (let i = 0; i < packed.length; i++) packed[i] = (packed[i] ^ mask[i % words]) >>> 0;
  return packed;
}

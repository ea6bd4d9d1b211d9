import { QnnError } from '../errors.js';
import type { DenseEpilogue } from './graph.js';
import { applyEpilogue } from './epilogue.js';

// Thresholds beyond any reachable accumulator give constant channels:
// with direction 1, INT32_MIN means always +1 and INT32_MAX always -1; with
// direction -1 the roles swap.
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/**
 * Folds batch norm + sign into an integer threshold per channel.
 *
 * sign(epilogue(acc)) is +1 exactly when epilogue(acc) >= 0. The epilogue is
 * non-decreasing in acc when the batch-norm scale is >= 0 and non-increasing when
 * it is < 0, so a binary search over the reachable integers [minAcc, maxAcc]
 * finds the switching point of the very float32 function the training graph
 * evaluates. This is exact, unlike solving (t - mu) * gamma / sigma + beta = 0 in
 * real numbers, which can disagree with float32 rounding at the boundary.
 *
 * Direction 1: +1 iff acc >= threshold. Direction -1: +1 iff acc <= threshold.
 * A zero scale (gamma = 0) gives a constant output, sign(shift).
 */
export function foldThresholds(epilogue: DenseEpilogue, units: number, minAcc: number, maxAcc: number): { thresholds: Int32Array; directions: Int8Array } {
  const thresholds = new Int32Array(units);
  const directions = new Int8Array(units);

  for (let c = 0; c < units; c++) {
    const scale = epilogue.scale === null ? 1 : epilogue.scale[c];
    if (Number.isNaN(scale) || Number.isNaN(applyEpilogue(epilogue, 0, c))) {
      throw new QnnError(`cannot fold channel ${c} into a threshold: its batch-norm parameters give NaN`);
    }
    const positive = (acc: number): boolean => applyEpilogue(epilogue, acc, c) >= 0;

    if (scale >= 0) {
      directions[c] = 1;
      if (!positive(maxAcc)) thresholds[c] = INT32_MAX;
      else if (positive(minAcc)) thresholds[c] = INT32_MIN;
      else thresholds[c] = firstTrue(minAcc, maxAcc, positive);
    } else {
      // Non-increasing: +1 iff acc <= t with t the last accumulator that is still positive.
      directions[c] = -1;
      if (!positive(minAcc)) thresholds[c] = INT32_MIN;
      else if (positive(maxAcc)) thresholds[c] = INT32_MAX;
      else thresholds[c] = firstTrue(minAcc, maxAcc, (acc) => !positive(acc)) - 1;
    }
  }
  return { thresholds, directions };
}

/** Returns the smallest integer in (low, high] where the monotone predicate is true, given it is false at low and true at high. */
function firstTrue(low: number, high: number, predicate: (acc: number) => boolean): number {
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (predicate(middle)) high = middle;
    else low = middle;
  }
  return high;
}

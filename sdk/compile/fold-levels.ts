import { QnnError } from '../errors.js';
import { applyEpilogue } from './epilogue.js';
import type { DenseEpilogue } from './graph.js';
import type { InputCodeMap } from './input-codes.js';
import { type LinearSpec, linearCode } from './kbit-operands.js';

// Thresholds beyond any reachable accumulator, as in fold-threshold.ts. With
// direction 1, INT32_MIN means the level is always reached and INT32_MAX never.
// With direction -1 the roles swap.
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/**
 * Folds batch norm + the next layer's k-bit input quantizer (any monotone
 * step function, see InputCodeMap) into 2^bits - 1 integer thresholds per channel.
 *
 * The unsigned code u(acc) = codes.code(epilogue(acc)) is non-decreasing in
 * acc when the batch-norm scale is >= 0 and non-increasing when it is < 0,
 * because every float32 step of the epilogue and the quantizer are monotone.
 * So for each level t a binary search over the integers [minAcc, maxAcc]
 * finds where u(acc) >= t starts (or stops) to hold, on the same float32
 * values that the training graph computes. The code is the count of levels
 * passed, so where it jumps by more than 1 (a log quantizer between powers of
 * two, or a batch-norm scale that is large against the step) the thresholds
 * of the skipped levels are equal. A level that no reachable accumulator
 * attains gets a sentinel threshold outside [minAcc, maxAcc].
 *
 * A LinearSpec stands for the linear code map u = linearCode(v) + 2^(bits-1).
 * Returns thresholds [units, 2^bits - 1] and one direction per channel.
 */
export function foldLevelThresholds(
  epilogue: DenseEpilogue,
  units: number,
  minAcc: number,
  maxAcc: number,
  codes: Pick<InputCodeMap, 'bits' | 'code'> | LinearSpec,
): { thresholds: Int32Array; directions: Int8Array } {
  const levels = 2 ** codes.bits - 1;
  const codeOf = 'code' in codes ? codes.code : linearCodeMap(codes);
  const thresholds = new Int32Array(units * levels);
  const directions = new Int8Array(units);

  for (let c = 0; c < units; c++) {
    const scale = epilogue.scale === null ? 1 : epilogue.scale[c];
    if (Number.isNaN(scale) || Number.isNaN(applyEpilogue(epilogue, 0, c))) {
      throw new QnnError(`cannot fold channel ${c} into thresholds: its batch-norm parameters give NaN`);
    }
    const code = (acc: number): number => codeOf(applyEpilogue(epilogue, acc, c));
    directions[c] = scale >= 0 ? 1 : -1;

    for (let level = 1; level <= levels; level++) {
      const reaches = (acc: number): boolean => code(acc) >= level;
      thresholds[c * levels + level - 1] = scale >= 0 ? risingThreshold(minAcc, maxAcc, reaches) : fallingThreshold(minAcc, maxAcc, reaches);
    }
  }
  return { thresholds, directions };
}

/** Returns the smallest acc where the non-decreasing predicate is true, or a sentinel when it is true everywhere or nowhere. */
function risingThreshold(minAcc: number, maxAcc: number, reaches: (acc: number) => boolean): number {
  if (!reaches(maxAcc)) return INT32_MAX;
  if (reaches(minAcc)) return INT32_MIN;
  return firstTrue(minAcc, maxAcc, reaches);
}

/** Returns the largest acc where the non-increasing predicate is true, or a sentinel when it is true everywhere or nowhere. */
function fallingThreshold(minAcc: number, maxAcc: number, reaches: (acc: number) => boolean): number {
  if (!reaches(minAcc)) return INT32_MIN;
  if (reaches(maxAcc)) return INT32_MAX;
  return firstTrue(minAcc, maxAcc, (acc) => !reaches(acc)) - 1;
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

function linearCodeMap(spec: LinearSpec): (v: number) => number {
  const codeOffset = 2 ** (spec.bits - 1);
  return (v) => linearCode(v, spec) + codeOffset;
}

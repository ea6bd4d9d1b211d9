/**
 * Per-channel element-wise steps that an imported graph applies to an integer
 * accumulator: weight and activation scales, bias, batch norm and the threshold
 * subtraction. They are evaluated in float32 one step at a time, as ONNX
 * Runtime evaluates separate nodes, then folded into packed thresholds or a score epilogue.
 */
import { QnnError } from '../errors.js';
import type { DenseEpilogue, SignOutput } from '../compile/graph.js';

/** One element-wise step with a per-channel constant c: x * c, x / c, x + c, x - c, or c - x. */
export interface ChainStep {
  op: 'mul' | 'div' | 'add' | 'sub' | 'rsub';
  values: Float32Array;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** Computes the chain's float32 value for accumulator `acc` in channel c. */
export function evaluateChain(steps: readonly ChainStep[], acc: number, channel: number): number {
  let value = Math.fround(acc);
  for (const { op, values } of steps) {
    const c = values[channel];
    if (op === 'mul') value = Math.fround(value * c);
    else if (op === 'div') value = Math.fround(value / c);
    else if (op === 'add') value = Math.fround(value + c);
    else if (op === 'sub') value = Math.fround(value - c);
    else value = Math.fround(c - value);
  }
  return value;
}

/** Returns 1 when the chain is non-decreasing in acc for channel c, -1 when non-increasing, 0 when constant. */
export function chainDirection(steps: readonly ChainStep[], channel: number): number {
  let direction = 1;
  for (const { op, values } of steps) {
    const c = values[channel];
    if ((op === 'mul' || op === 'div') && c < 0) direction = -direction;
    if (op === 'rsub') direction = -direction;
    if (op === 'mul' && c === 0) return 0;
  }
  return direction;
}

/**
 * Folds "chain(acc) >= 0" into packed thresholds over the reachable
 * accumulators [-bound, bound]. The chain is monotone, so a binary search
 * finds the exact switching point of its float32 evaluation.
 */
export function foldChainThresholds(steps: readonly ChainStep[], channels: number, bound: number): SignOutput {
  const thresholds = new Int32Array(channels);
  const directions = new Int8Array(channels);

  for (let c = 0; c < channels; c++) {
    const positive = (acc: number): boolean => evaluateChain(steps, acc, c) >= 0;
    if (Number.isNaN(evaluateChain(steps, 0, c)) || Number.isNaN(evaluateChain(steps, bound, c))) {
      throw new QnnError(`channel ${c} cannot be folded into a threshold: its scale, bias or batch-norm constants give NaN`);
    }
    const direction = chainDirection(steps, c);

    if (direction === 0) {
      directions[c] = 1;
      thresholds[c] = positive(0) ? INT32_MIN : INT32_MAX;
    } else if (direction > 0) {
      directions[c] = 1;
      if (!positive(bound)) thresholds[c] = INT32_MAX;
      else if (positive(-bound)) thresholds[c] = INT32_MIN;
      else thresholds[c] = firstTrue(-bound, bound, positive);
    } else {
      directions[c] = -1;
      if (!positive(-bound)) thresholds[c] = INT32_MIN;
      else if (positive(bound)) thresholds[c] = INT32_MAX;
      else thresholds[c] = firstTrue(-bound, bound, (acc) => !positive(acc)) - 1;
    }
  }
  return { kind: 'signs', thresholds, directions };
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

/**
 * Turns the chain of a score layer into a DenseEpilogue. Chains of the form
 * [x * s (same s for every channel)] [+ bias] [* scale + shift], which the
 * exporter writes, map one to one and keep every float32 rounding. Other
 * chains are composed into one affine map per channel in float64, so their
 * scores match ONNX Runtime to float32 rounding, not bit for bit.
 */
export function chainToEpilogue(steps: readonly ChainStep[], channels: number): DenseEpilogue {
  const exact = matchEpilogue(steps);
  if (exact !== null) return exact;

  const scale = new Float32Array(channels);
  const shift = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let a = 1;
    let b = 0;
    for (const { op, values } of steps) {
      const v = values[c];
      if (op === 'mul') [a, b] = [a * v, b * v];
      else if (op === 'div') [a, b] = [a / v, b / v];
      else if (op === 'add') b += v;
      else if (op === 'sub') b -= v;
      else [a, b] = [-a, v - b];
    }
    scale[c] = a;
    shift[c] = b;
  }
  return { inputScale: 1, bias: null, scale, shift };
}

function isUniform(values: Float32Array): boolean {
  return values.every((value) => value === values[0]);
}

/**
 * Matches the chain against applyEpilogue's steps [* inputScale] [+ bias] [* scale] [+ shift],
 * each optional. A missing scale or shift becomes 1 or 0, which leave float32 values unchanged.
 */
function matchEpilogue(steps: readonly ChainStep[]): DenseEpilogue | null {
  let next = 0;
  const take = (op: ChainStep['op'], accept: (values: Float32Array) => boolean = () => true): Float32Array | null => {
    const step = steps[next];
    if (step === undefined || step.op !== op || !accept(step.values)) return null;
    next++;
    return step.values;
  };

  const inputScale = take('mul', isUniform);
  const bias = take('add');
  const scale = take('mul');
  const shift = take('add');
  if (next !== steps.length) return null;

  const channels = (bias ?? scale ?? shift)?.length ?? 0;
  const hasNorm = scale !== null || shift !== null;
  return {
    inputScale: inputScale === null ? 1 : inputScale[0],
    bias,
    scale: hasNorm ? (scale ?? new Float32Array(channels).fill(1)) : null,
    shift: hasNorm ? (shift ?? new Float32Array(channels)) : null,
  };
}

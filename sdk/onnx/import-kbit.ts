/**
 * Readers for k-bit QONNX layers. Quant weights with 2..8 bits become the
 * sign planes of a dense-kbit layer. A Quant on a hidden activation (after
 * Relu or batch norm, as Brevitas exports QuantReLU / QuantIdentity) becomes
 * the layer's level thresholds, found by search on the float32 evaluation of
 * the chain, so they match the ONNX semantics exactly.
 */
import { wordsPerRow } from '../backends/backend.js';
import { FileFormatError, QnnError } from '../errors.js';
import type { CodeOutput } from '../compile/graph.js';
import type { OnnxNode } from './onnx-schema.js';
import { type GraphIndex, broadcastTo, quantRange, quantRounding } from './onnx-graph.js';
import { describeNode, intAttribute } from './onnx-tensor.js';
import { type ChainStep, evaluateChain } from './affine-chain.js';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** Integer form of k-bit weights: real w = (w' + offset) * scales[unit], w' odd in [-(2^bits - 1), 2^bits - 1]. */
export interface KbitWeights {
  bits: number;
  offset: number;
  /** Sign planes [units, bits, ceil(inputs / 32)] words (see PackedDenseKbitLayer.weights). */
  planes: Uint32Array;
  /** Per unit: the sum of its odd weights w'. */
  sums: Float64Array;
  /** Per unit: the real value of one unit of w' + offset. */
  scales: Float64Array;
}

/** A Quant on a hidden activation: code u = q - min in [0, max - min], real value (q - zero) * scale. */
export interface ActivationQuant {
  bits: number;
  min: number;
  max: number;
  zero: number;
  scale: number;
  round: (v: number) => number;
}

function fail(node: OnnxNode, message: string, source: string): never {
  throw new FileFormatError(`${describeNode(node)}: ${message}`, source);
}

/** Returns the QONNX Quant node behind a weight tensor (through Identity), or null when there is none with 2 or more bits. */
export function kbitWeightQuant(index: GraphIndex, name: string): OnnxNode | null {
  let producer = index.producerOf(name);
  while (producer?.opType === 'Identity') producer = index.producerOf((producer.input ?? [])[0] ?? '');
  if (producer === undefined || (producer.opType !== 'Quant' && producer.opType !== 'IntQuant')) return null;
  const bits = index.constant((producer.input ?? [])[3] ?? '');
  return bits !== null && bits.data.length === 1 && bits.data[0] >= 2 ? producer : null;
}

/**
 * Reads Quant weights [rows, cols] (or [cols, rows] when `transposed`) as
 * integers. The scale must be per output channel and the zero point one
 * integer for the whole tensor, because the packed layer has one weight
 * offset for all units (its rowSumScale).
 * `rowOrder(r)` maps a packed input row to the ONNX row it reads.
 */
export function readKbitWeights(index: GraphIndex, quant: OnnxNode, layer: OnnxNode, shape: { rows: number; cols: number; transposed: boolean }, rowOrder: (row: number) => number): KbitWeights {
  const source = index.source;
  const [x, scale, zeroPoint, bitwidth] = (quant.input ?? []).map((name, i) => index.requireConstant(name, quant, ['X', 'scale', 'zeropt', 'bitwidth'][i]));
  const bits = bitwidth.data[0];
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) fail(quant, `weight bitwidth ${bits} is not supported; k-bit weights need an integer bitwidth in 2..8`, source);
  const { rows, cols, transposed } = shape;
  const expected = transposed ? [cols, rows] : [rows, cols];
  if (x.dims.join(',') !== expected.join(',')) fail(quant, `weights must have dims [${expected.join(', ')}] for ${describeNode(layer)}, found [${x.dims.join(', ')}]`, source);

  const scales = broadcastTo(scale, x.dims, quant, source);
  const zeros = broadcastTo(zeroPoint, x.dims, quant, source);
  const zero = zeros[0];
  if (!Number.isInteger(zero) || zeros.some((value) => value !== zero)) {
    fail(quant, `weight zero points must be one integer for the whole tensor, found ${Array.from(new Set(zeros)).slice(0, 4).join(', ')}; the packed layer has a single weight offset`, source);
  }
  const { min, max } = quantRange(bits, intAttribute(quant, 'signed', 1, source) !== 0, intAttribute(quant, 'narrow', 0, source) !== 0);
  const round = quantRounding(quant, source);
  const at = (row: number, col: number): number => (transposed ? col * rows + row : row * cols + col);

  const words = wordsPerRow(rows);
  const planes = new Uint32Array(cols * bits * words);
  const sums = new Float64Array(cols);
  const unitScales = new Float64Array(cols);
  const top = 2 ** bits - 1;
  for (let col = 0; col < cols; col++) {
    unitScales[col] = scales[at(0, col)];
    if (!(unitScales[col] > 0) || !Number.isFinite(unitScales[col])) fail(quant, `weight scale ${unitScales[col]} of output channel ${col} must be positive and finite`, source);
    for (let row = 0; row < rows; row++) {
      const i = at(rowOrder(row), col);
      if (scales[i] !== unitScales[col]) fail(quant, `weight scales must be one per output channel; channel ${col} has ${unitScales[col]} and ${scales[i]}`, source);
      const q = round(Math.min(Math.max(Math.fround(Math.fround(x.data[i] / scales[i]) + zero), min), max));

      // v = q - min in [0, 2^bits), w' = 2v - (2^bits - 1), so w' + offset = 2 (q - zero).
      const level = q - min;
      sums[col] += 2 * level - top;
      for (let plane = 0; plane < bits; plane++) {
        if (((level >>> plane) & 1) === 0) planes[(col * bits + plane) * words + (row >>> 5)] |= 1 << (row & 31);
      }
    }
    unitScales[col] /= 2;
  }
  return { bits, offset: 2 * (min - zero) + top, planes, sums, scales: unitScales };
}

/** Reads a Quant on a hidden activation: one positive scale, one integer zero point, 1..8 bits. */
export function readActivationQuant(index: GraphIndex, node: OnnxNode): ActivationQuant {
  const source = index.source;
  const [scale, zeroPoint, bitwidth] = ['scale', 'zeropt', 'bitwidth'].map((role, i) => index.requireConstant((node.input ?? [])[i + 1] ?? '', node, role));
  const bits = bitwidth.data[0];
  if (bitwidth.data.length !== 1 || !Number.isInteger(bits) || bits < 1 || bits > 8) fail(node, `activation bitwidth must be one integer in 1..8, found ${bits}`, source);
  if (scale.data.length !== 1 || !(scale.data[0] > 0) || !Number.isFinite(scale.data[0])) {
    // Limitation: per-channel activation scales would need per-channel input scales in the next layer's chain.
    fail(node, 'a k-bit activation Quant needs one positive scale for the whole tensor', source);
  }
  const zero = zeroPoint.data[0];
  if (zeroPoint.data.length !== 1 || !Number.isInteger(zero) || Math.abs(zero) > 2 ** 16) {
    fail(node, `a k-bit activation Quant needs one integer zero point, found [${Array.from(zeroPoint.data.slice(0, 4)).join(', ')}]; a fractional zero point leaves no integer accumulator`, source);
  }
  const { min, max } = quantRange(bits, intAttribute(node, 'signed', 1, source) !== 0, intAttribute(node, 'narrow', 0, source) !== 0);
  return { bits, min, max, zero, scale: scale.data[0], round: quantRounding(node, source) };
}

/** Returns the unsigned code u = q - min that the Quant gives for the float32 value v, as ONNX evaluates it. */
export function activationCode(v: number, quant: ActivationQuant): number {
  const scaled = Math.fround(Math.fround(v / Math.fround(quant.scale)) + quant.zero);
  return quant.round(Math.min(Math.max(scaled, quant.min), quant.max)) - quant.min;
}

/**
 * Folds chain -> [Relu] -> Quant into 2^bits - 1 thresholds per channel over
 * the accumulators [-bound, bound].
 */
export function foldCodeThresholds(steps: readonly ChainStep[], relu: boolean, quant: ActivationQuant, units: number, bound: number): CodeOutput {
  return foldCodes(units, bound, quant.bits, (acc, c) => {
    const value = evaluateChain(steps, acc, c);
    if (Number.isNaN(value)) throw new QnnError(`channel ${c} cannot be folded into level thresholds: its scale, bias or batch-norm constants give NaN`);
    return activationCode(relu ? Math.max(value, 0) : value, quant);
  });
}

/**
 * Finds the level thresholds of a code that is a monotone function of the
 * integer accumulator, per channel: for each level a binary search over
 * [-bound, bound] finds the exact accumulator where the code reaches it.
 * The direction comes from the code at the two ends of the range.
 */
export function foldCodes(units: number, bound: number, bits: number, code: (acc: number, channel: number) => number): CodeOutput {
  const levels = 2 ** bits - 1;
  const thresholds = new Int32Array(units * levels);
  const directions = new Int8Array(units);

  for (let c = 0; c < units; c++) {
    const low = code(-bound, c);
    const high = code(bound, c);
    directions[c] = high >= low ? 1 : -1;

    for (let level = 1; level <= levels; level++) {
      const reaches = (acc: number): boolean => code(acc, c) >= level;
      // With direction 1, INT32_MIN means the level is always reached and INT32_MAX never; direction -1 swaps them.
      const always = Math.min(low, high) >= level;
      const never = Math.max(low, high) < level;
      let threshold: number;
      if (high >= low) {
        if (always) threshold = INT32_MIN;
        else if (never) threshold = INT32_MAX;
        else threshold = firstTrue(-bound, bound, reaches);
      } else if (always) {
        threshold = INT32_MAX;
      } else if (never) {
        threshold = INT32_MIN;
      } else {
        threshold = firstTrue(-bound, bound, (acc) => !reaches(acc)) - 1;
      }
      thresholds[c * levels + level - 1] = threshold;
    }
  }
  return { kind: 'codes', bits, thresholds, directions };
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

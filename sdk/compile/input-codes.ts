import { QnnError } from '../errors.js';
import { logQuantExponentRange } from '../quantizers/log-quant.js';
import type { Quantizer, QuantizerSpec } from '../quantizers/quantizer-spec.js';
import { roundHalfToEven } from '../quantizers/rounding.js';
import { type InputCoding, type QuantizedLayer, inputCoding, linearCode, linearSpec } from './kbit-operands.js';

/**
 * Unsigned integer codes of a k-bit activation quantizer: the quantized value
 * is (u + offset) * scale with u in [0, maxCode].
 */
export interface InputCodeMap {
  /** Bits per code, so maxCode < 2^bits. */
  bits: number;
  /** Largest code the quantizer outputs. Codes above it are unreachable. */
  maxCode: number;
  offset: number;
  scale: number;
  /**
   * Returns the code u of one float32 pre-activation v. It repeats the float
   * steps of the training graph's quantizer, so u equals that quantizer's
   * output divided by scale, minus offset, and it is non-decreasing in v.
   */
  code(v: number): number;
}

/** Largest code width that the byte-per-code activations and bitplaneGemmBits take. */
const MAX_CODE_BITS = 8;

/**
 * Returns the code map of a k-bit input quantizer spec:
 * - linear: u = c + 2^(bits-1) for the signed code c, scale = step (a power of two).
 * - ternary: u = q + 1 in {0, 1, 2}, 2 bits, scale 1.
 * - log: u = q / 2^min + 2^(max-min) for q in {0, ±2^e}, e in [min, max], so
 *   u spans 0..2^(max-min+1) and needs max - min + 2 = 2^bits + 1 bits, which
 *   fits 8 only for bits <= 2. The codes between powers of two never occur.
 * - dorefa: u = roundHalfToEven(n * clip(v, 0, 1)) with n = 2^bits - 1, scale 1/n.
 * `where` names the layer and field for the error message.
 */
export function inputCodeMap(spec: QuantizerSpec, where: string): InputCodeMap {
  switch (spec.kind) {
    case 'linear':
      return linearCodeMap(spec, where);
    case 'ternary':
      return ternaryCodeMap(spec.threshold ?? 0.5);
    case 'log':
      return logCodeMap(spec.bits, spec.fsr ?? 0, where);
    case 'dorefa':
      return dorefaCodeMap(spec.bits);
  }
}

function linearCodeMap(quantizer: QuantizerSpec & { kind: 'linear' }, where: string): InputCodeMap {
  const spec = linearSpec(quantizer)!;
  if (!Number.isInteger(Math.log2(spec.step))) {
    throw new QnnError(`${where} step ${spec.step} is not a power of two, so float32 sums in training are not exact; use a step of 2^k`);
  }
  const half = 2 ** (spec.bits - 1);
  return { bits: spec.bits, maxCode: 2 * half - 1, offset: -half, scale: spec.step, code: (v) => linearCode(v, spec) + half };
}

/** Mirrors ternarize: +1 above the threshold, -1 below minus it, 0 in between (ties included). */
function ternaryCodeMap(threshold: number): InputCodeMap {
  return {
    bits: 2,
    maxCode: 2,
    offset: -1,
    scale: 1,
    code: (v) => {
      if (v > threshold) return 2;
      return v < -threshold ? 0 : 1;
    },
  };
}

/** Mirrors logQuant, whose exponent below the range flushes to 0 and above it clips to max. */
function logCodeMap(bits: number, fsr: number, where: string): InputCodeMap {
  const { min, max } = logQuantExponentRange(bits, fsr);
  const largest = 2 ** (max - min);
  const codeBits = max - min + 2;
  if (codeBits > MAX_CODE_BITS) {
    throw new QnnError(
      `${where} { kind: 'log', bits: ${bits} } spans exponents ${min}..${max}, so its integer codes need ${codeBits} bits, ` +
        `more than the ${MAX_CODE_BITS} that the packed engine takes; use log bits <= 2 for layer inputs`,
    );
  }

  return {
    bits: codeBits,
    maxCode: 2 * largest,
    offset: -largest,
    scale: 2 ** min,
    code: (v) => {
      if (v === 0) return largest;
      const exponent = roundHalfToEven(Math.log2(Math.abs(v)));
      if (exponent < min) return largest;
      return largest + Math.sign(v) * 2 ** (Math.min(exponent, max) - min);
    },
  };
}

/** Mirrors dorefaActivations, quantize_k(clip(v, 0, 1)) = roundHalfToEven(n v) / n. */
function dorefaCodeMap(bits: number): InputCodeMap {
  const levels = 2 ** bits - 1;
  return { bits, maxCode: levels, offset: 0, scale: 1 / levels, code: (v) => roundHalfToEven(levels * Math.min(1, Math.max(0, v))) };
}

/**
 * Returns the integer form of a layer's input: the binarizers and linear specs
 * as inputCoding gives them, the other k-bit specs from their code map.
 */
export function layerInputCoding(layer: QuantizedLayer, first: boolean, inputScale: number): InputCoding {
  const quantizer = layer.inputQuantizer;
  if (first || !isNonLinearSpec(quantizer)) return inputCoding(layer, first, inputScale);

  const map = inputCodeMap(quantizer, `cannot compile layer '${layer.name}': inputQuantizer`);
  return { kind: 'codes', bits: map.bits, maxCode: map.maxCode, multiplier: 1, offset: map.offset, scale: map.scale };
}

/**
 * Returns the code map that a hidden layer's output must produce for the next
 * dense layer, or null when the next layer takes signs (a binarizer) or is not dense.
 */
export function nextLayerCodeMap(nextInputQuantizer: Quantizer | undefined, layerName: string): InputCodeMap | null {
  if (nextInputQuantizer === undefined || nextInputQuantizer === null || typeof nextInputQuantizer !== 'object') return null;
  return inputCodeMap(nextInputQuantizer, `cannot compile layer '${layerName}': the next layer's inputQuantizer`);
}

function isNonLinearSpec(quantizer: Quantizer): quantizer is QuantizerSpec {
  return quantizer !== null && typeof quantizer === 'object' && quantizer.kind !== 'linear';
}

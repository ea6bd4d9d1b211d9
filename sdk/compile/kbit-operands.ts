import { QnnError } from '../errors.js';
import { type Quantizer, type QuantizerSpec, isBinaryQuantizer } from '../quantizers/quantizer-spec.js';
import { roundHalfToEven } from '../quantizers/rounding.js';
import type { PackedKbitInputKind } from './graph.js';

/**
 * Integer form of a layer input: the real input is (multiplier * u + offset) * scale,
 * with u the unsigned code in [0, 2^bits) that bitplaneGemmBits reads.
 */
export interface InputCoding {
  kind: PackedKbitInputKind;
  bits: number;
  /** Largest code u that reaches the layer, at most 2^bits - 1. */
  maxCode: number;
  multiplier: number;
  offset: number;
  scale: number;
}

/**
 * Integer form of a kernel: the real weight is (w' + offset) * scale, with w'
 * an odd integer in [-(2^bits - 1), 2^bits - 1] stored as `bits` sign planes.
 */
export interface KernelCoding {
  bits: number;
  offset: number;
  scale: number;
  /** Largest |w' + offset| of any weight the coding can hold. */
  maxWeight: number;
}

/** The quantizers that the packed engine compiles, for error messages. */
export const SUPPORTED_KBIT_QUANTIZERS =
  "'ste_sign', 'stochastic_binary', { kind: 'linear', bits } with a power-of-two step, { kind: 'ternary' }, { kind: 'log', bits } or { kind: 'dorefa', bits }";

/** The parts of a Dense or QuantConv2D layer that its integer operand forms depend on. */
export interface QuantizedLayer {
  name: string;
  kernelQuantizer: Quantizer;
  inputQuantizer: Quantizer;
}

/** A linear quantizer spec with its step filled in. */
export interface LinearSpec {
  bits: number;
  step: number;
}

/** Returns the bits and step of a linear spec, or null for any other quantizer. */
export function linearSpec(quantizer: Quantizer): LinearSpec | null {
  if (quantizer === null || typeof quantizer !== 'object' || quantizer.kind !== 'linear') return null;
  return { bits: quantizer.bits, step: quantizer.step ?? 2 ** (1 - quantizer.bits) };
}

/**
 * Returns the signed linear code of v, clip(roundHalfToEven(v / step), -2^(bits-1), 2^(bits-1) - 1),
 * computed as linearQuant computes it, so the packed codes equal the training graph's.
 */
export function linearCode(v: number, spec: LinearSpec): number {
  const half = 2 ** (spec.bits - 1);
  return Math.min(half - 1, Math.max(-half, roundHalfToEven(v / spec.step)));
}

/**
 * Returns the integer form of the layer's kernel. A binarizer gives w = w' = ±1.
 * A linear code c gives w' = 2c + 1, so w = c * step = (w' - 1) * step / 2.
 * The ternary, log and DoReFa kernels depend on the trained weights, so
 * kernel-codes.ts codes them.
 */
export function kernelCoding(layer: QuantizedLayer): KernelCoding {
  if (isBinaryQuantizer(layer.kernelQuantizer)) return { bits: 1, offset: 0, scale: 1, maxWeight: 1 };

  const spec = linearSpec(layer.kernelQuantizer);
  if (spec === null) {
    throw new QnnError(
      `cannot compile layer '${layer.name}': kernelQuantizer ${describeQuantizer(layer.kernelQuantizer)} is not supported by the packed engine; ` +
        `use ${SUPPORTED_KBIT_QUANTIZERS}`,
    );
  }
  checkPowerOfTwoStep(layer.name, 'kernelQuantizer', spec.step);
  return { bits: spec.bits, offset: -1, scale: spec.step / 2, maxWeight: 2 ** spec.bits };
}

/**
 * Returns the integer form of the layer's input. The uint8 model input is u itself;
 * a sign x is 2u - 1 with u = 1 for +1; a linear code c is u - 2^(bits-1).
 * input-codes.ts adds the ternary, log and DoReFa inputs.
 */
export function inputCoding(layer: QuantizedLayer, first: boolean, inputScale: number): InputCoding {
  const quantizer = layer.inputQuantizer;
  if (first) {
    if (quantizer !== null) {
      throw new QnnError(`cannot compile layer '${layer.name}': the first layer must take the uint8 input unquantized (inputQuantizer: null)`);
    }
    return { kind: 'uint8', bits: 8, maxCode: 255, multiplier: 1, offset: 0, scale: inputScale };
  }
  if (isBinaryQuantizer(quantizer)) return { kind: 'signs', bits: 1, maxCode: 1, multiplier: 2, offset: -1, scale: 1 };

  const spec = linearSpec(quantizer);
  if (spec === null) {
    throw new QnnError(
      `cannot compile layer '${layer.name}': inputQuantizer ${describeQuantizer(quantizer)} is not supported by the packed engine; ` +
        `use ${SUPPORTED_KBIT_QUANTIZERS}`,
    );
  }
  checkPowerOfTwoStep(layer.name, 'inputQuantizer', spec.step);
  return { kind: 'codes', bits: spec.bits, maxCode: 2 ** spec.bits - 1, multiplier: 1, offset: -(2 ** (spec.bits - 1)), scale: spec.step };
}

/**
 * Throws unless step is a power of two. Only then are the training graph's
 * float32 products and sums of quantized values exact, which the integer
 * accumulator must reproduce.
 */
function checkPowerOfTwoStep(layer: string, field: string, step: number): void {
  if (!Number.isInteger(Math.log2(step))) {
    throw new QnnError(`cannot compile layer '${layer}': ${field} step ${step} is not a power of two, so float32 sums in training are not exact; use a step of 2^k`);
  }
}

/** Returns the odd weight w' of one latent weight, as the training graph quantizes it. */
export function oddWeight(latent: number, layer: QuantizedLayer): number {
  const spec = linearSpec(layer.kernelQuantizer);
  if (spec === null) return latent < 0 ? -1 : 1;
  return 2 * linearCode(latent, spec) + 1;
}

export function describeQuantizer(quantizer: Quantizer | QuantizerSpec): string {
  if (quantizer === null) return 'null';
  return typeof quantizer === 'object' ? JSON.stringify(quantizer) : `'${quantizer}'`;
}

import { QnnError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { roundHalfToEven } from './rounding.js';

/** Smallest bit width that the k-bit quantizers accept. */
export const MIN_BITS = 1;
/** Largest bit width that the k-bit quantizers accept. */
export const MAX_BITS = 8;

/** Throws a QnnError unless `bits` is an integer in [MIN_BITS, MAX_BITS]. */
export function checkBitWidth(op: string, bits: number): void {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new QnnError(`${op}: bits must be an integer from ${MIN_BITS} to ${MAX_BITS}, got ${bits}`);
  }
}

/**
 * Range [min, max] of a signed `bits`-bit linear quantizer with spacing `step`.
 * It is the two's complement range, [-2^(bits-1) * step, (2^(bits-1) - 1) * step],
 * so every level is one integer code of `bits` bits, 0 included. The price is
 * one more level below 0 than above it. For bits = 1 the levels are {-step, 0}.
 */
export function linearQuantRange(bits: number, step: number): { min: number; max: number } {
  checkBitWidth('linearQuant', bits);
  if (!Number.isFinite(step) || step <= 0) throw new QnnError(`linearQuant: step must be a finite number > 0, got ${step}`);
  const half = 2 ** (bits - 1);
  return { min: -half * step, max: (half - 1) * step };
}

/**
 * Linear (uniform) quantization with the straight-through estimator
 * (Hubara et al., "Quantized Neural Networks", arXiv 1609.07061, which takes
 * LinearQuant from Miyashita et al., arXiv 1603.01025):
 *   forward:  q = clip(roundHalfToEven(x / step) * step, min, max),
 *             with min = -2^(bits-1) * step and max = (2^(bits-1) - 1) * step
 *   backward: dq/dx = 1 if min <= x <= max (inclusive), else 0
 * Ties round to even, so x / step = 2.5 gives 2 and not 3. An x just beyond
 * max that still rounds to max gets no gradient, because it lies outside the
 * representable range.
 */
export function linearQuant(x: Tensor, bits: number, step: number): Tensor {
  const { min, max } = linearQuantRange(bits, step);
  const minCode = -(2 ** (bits - 1));
  const maxCode = 2 ** (bits - 1) - 1;

  const data = x.data;
  const out = new Float32Array(data.length);
  // Clipping the integer code and then scaling equals clipping the scaled value, because step > 0.
  for (let i = 0; i < out.length; i++) {
    const code = Math.min(maxCode, Math.max(minCode, roundHalfToEven(data[i] / step)));
    out[i] = code * step;
  }

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    if (!x.requiresGrad) return;
    const gx = x.gradBuffer();
    for (let i = 0; i < gx.length; i++) gx[i] += data[i] >= min && data[i] <= max ? grad[i] : 0;
  });
}

import { QnnError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { checkBitWidth } from './linear-quant.js';
import { roundHalfToEven } from './rounding.js';

/**
 * Exponent range [min, max] of a `bits`-bit logarithmic quantizer whose
 * largest magnitude is 2^fsr: [fsr - 2^bits + 1, fsr], which is 2^bits
 * exponents, so the exponent fits in `bits` bits and the sign is stored apart.
 */
export function logQuantExponentRange(bits: number, fsr: number): { min: number; max: number } {
  checkBitWidth('logQuant', bits);
  // 2^127 is the largest power of two in float32, and 2^-126 the smallest normal one.
  if (!Number.isInteger(fsr) || fsr < -126 || fsr > 127) {
    throw new QnnError(`logQuant: fsr must be an integer from -126 to 127 (a float32 exponent), got ${fsr}`);
  }
  return { min: fsr - 2 ** bits + 1, max: fsr };
}

/**
 * Logarithmic (power-of-two) quantization with the straight-through estimator
 * (Hubara et al., "Quantized Neural Networks", arXiv 1609.07061, which takes
 * LogQuant and AP2 from Miyashita et al., arXiv 1603.01025):
 *   forward:  e = roundHalfToEven(log2|x|)
 *             q = 0 if x = 0 or e < min
 *                 sign(x) * 2^min(e, fsr) otherwise
 *             with min = fsr - 2^bits + 1 (the full-scale range is 2^fsr)
 *   backward: dq/dx = 1 if |x| <= 2^fsr (inclusive), else 0
 * Rounding log2|x| puts the boundary between 2^n and 2^(n+1) at their
 * geometric mean 2^(n+0.5). Miyashita et al. clip the exponent to
 * [fsr - 2^bits, fsr], one level more than `bits` bits hold, and so send tiny
 * values to the smallest level. Here an exponent below the range flushes to 0
 * instead, which keeps 0 representable.
 */
export function logQuant(x: Tensor, bits: number, fsr: number): Tensor {
  const { min, max } = logQuantExponentRange(bits, fsr);
  const fullScale = 2 ** fsr;

  const data = x.data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < out.length; i++) {
    const value = data[i];
    if (value === 0) continue;

    // NOTE: 2^(n+0.5) is irrational, so no float input is an exact tie in log space.
    // Near a boundary the result relies on Math.log2 being accurate to within 1 ulp.
    const exponent = roundHalfToEven(Math.log2(Math.abs(value)));
    if (exponent < min) continue;
    out[i] = Math.sign(value) * 2 ** Math.min(exponent, max);
  }

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    if (!x.requiresGrad) return;
    const gx = x.gradBuffer();
    for (let i = 0; i < gx.length; i++) gx[i] += Math.abs(data[i]) <= fullScale ? grad[i] : 0;
  });
}

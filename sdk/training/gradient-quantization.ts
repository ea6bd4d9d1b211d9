import { QnnError } from '../errors.js';
import type { ForwardContext } from '../layers/layer.js';
import type { Random } from '../random.js';

/** Smallest gradient bit width: one sign bit and one magnitude bit. */
export const MIN_GRADIENT_BITS = 2;
/** Largest gradient bit width, so the offset codes fit the uint8 planes of bitplaneGemmBits. */
export const MAX_GRADIENT_BITS = 8;

/** A forward context that may ask layers to quantize their output gradients. */
export interface TrainingContext extends ForwardContext {
  /** Bit width of the output gradients that dense layers use for their kernel gradient. Undefined keeps float gradients. */
  gradientBits?: number;
}

/** A gradient as integer codes times one per-tensor scale: g ≈ scale * codes. */
export interface QuantizedGradient {
  /** Integers in [-maxCode, maxCode], with maxCode = 2^(bits-1) - 1. */
  codes: Int8Array;
  scale: number;
  maxCode: number;
}

/** Throws a QnnError naming `where` unless `bits` is an integer from 2 to 8. */
export function checkGradientBits(where: string, bits: number): void {
  if (!Number.isInteger(bits) || bits < MIN_GRADIENT_BITS || bits > MAX_GRADIENT_BITS) {
    throw new QnnError(`${where}: gradientBits must be an integer from ${MIN_GRADIENT_BITS} to ${MAX_GRADIENT_BITS}, got ${bits}`);
  }
}

/**
 * Quantizes a gradient to `bits` bits in sign-magnitude form with a per-tensor
 * max-abs scale and stochastic rounding:
 *   maxCode = 2^(bits-1) - 1, scale = max_i |g_i| / maxCode
 *   code_i = floor(g_i / scale + u_i), u_i uniform in [0, 1)
 * so E[scale * code_i] = g_i, and the largest |g_i| maps exactly to ±maxCode.
 * Hubara et al. ("Quantized Neural Networks", arXiv 1609.07061) quantize the
 * parameter gradients to 6 bits. Stochastic rounding is chosen over round to
 * nearest because most gradients of a batch are far below the largest one:
 * with 5 magnitude bits, every |g| under scale / 2 would round to 0, which
 * biases the update toward no change. DoReFa-Net (arXiv 1606.06160) makes the
 * same choice for its gradients. An all-zero gradient gets scale 0 and codes 0.
 */
export function quantizeGradient(grad: Float32Array, bits: number, random: Random): QuantizedGradient {
  checkGradientBits('quantizeGradient', bits);
  const maxCode = 2 ** (bits - 1) - 1;

  let maxAbs = 0;
  for (let i = 0; i < grad.length; i++) maxAbs = Math.max(maxAbs, Math.abs(grad[i]));
  if (!Number.isFinite(maxAbs)) throw new QnnError(`quantizeGradient: the gradient contains ${maxAbs}, so it has no finite scale`);
  const codes = new Int8Array(grad.length);
  if (maxAbs === 0) return { codes, scale: 0, maxCode };

  const scale = maxAbs / maxCode;
  for (let i = 0; i < grad.length; i++) {
    const code = Math.floor(grad[i] / scale + random.next());
    // Float error in grad / scale could step one past the largest code.
    codes[i] = Math.max(-maxCode, Math.min(maxCode, code));
  }
  return { codes, scale, maxCode };
}

/** Returns scale * codes as float32. */
export function dequantizeGradient(gradient: QuantizedGradient): Float32Array {
  const out = new Float32Array(gradient.codes.length);
  for (let i = 0; i < out.length; i++) out[i] = gradient.codes[i] * gradient.scale;
  return out;
}

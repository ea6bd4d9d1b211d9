import { getBackend } from '../backends/active-backend.js';
import { ShapeError } from '../errors.js';
import type { Random } from '../random.js';
import { Tensor, formatShape } from '../tensor/tensor.js';
import { bitwiseWeightGradient } from './bitwise-weight-gradient.js';
import { dequantizeGradient, quantizeGradient } from './gradient-quantization.js';

export interface QuantizedGradientOptions {
  /** Bit width of the output gradient, 2 to 8. */
  bits: number;
  /** Stream for the stochastic rounding of the gradient. */
  random: Random;
  /** Computes aᵀ · codes as a bit-plane GEMM, which needs an `a` of only ±1. */
  bitwise: boolean;
}

/**
 * c[M,N] = a[M,K] · b[K,N], like matmul, but b's gradient is aᵀ · Q(dC), with
 * Q the stochastic k-bit quantizer of quantizeGradient. The gradient of a
 * stays dC · bᵀ in float, because only the weight-gradient product is meant
 * to run on k-bit operands.
 */
export function matmulQuantizedGradient(a: Tensor, b: Tensor, options: QuantizedGradientOptions): Tensor {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0]) {
    throw new ShapeError(`matmulQuantizedGradient needs [M,K] x [K,N], got ${formatShape(a.shape)} x ${formatShape(b.shape)}`);
  }
  const [m, k] = a.shape;
  const n = b.shape[1];
  const backend = getBackend();
  const aData = toFloat32(a);
  const bData = toFloat32(b);
  const out = backend.matmul(aData, bData, m, k, n, false, false);

  return Tensor.fromOp(out, [m, n], [a, b], (grad) => {
    if (a.requiresGrad) a.accumulateOwnedGrad(backend.matmul(grad, bData, m, n, k, false, true));
    if (!b.requiresGrad) return;

    const quantized = quantizeGradient(grad, options.bits, options.random);
    if (!options.bitwise) {
      b.accumulateOwnedGrad(backend.matmul(aData, dequantizeGradient(quantized), k, m, n, true, false));
      return;
    }

    const integerGradient = bitwiseWeightGradient(backend, aData, quantized.codes, quantized.maxCode, options.bits, m, k, n);
    const gradient = new Float32Array(integerGradient.length);
    for (let i = 0; i < gradient.length; i++) gradient[i] = integerGradient[i] * quantized.scale;
    b.accumulateOwnedGrad(gradient);
  });
}

function toFloat32(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
}

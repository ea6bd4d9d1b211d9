import { Tensor } from '../tensor/tensor.js';

/**
 * Deterministic binarization with the straight-through estimator
 * (Hubara et al., "Quantized Neural Networks", arXiv 1609.07061):
 *   forward:  q = sign(x) = +1 if x >= 0 (also -0.0), else -1
 *   backward: dq/dx = 1 if |x| <= clip (inclusive), else 0
 */
export function steSign(x: Tensor, clip = 1): Tensor {
  const data = x.data;
  const out = new Float32Array(data.length);

  // Branch-free on purpose: latent weights have random signs, and a branch here mispredicts half the time.
  for (let i = 0; i < out.length; i++) out[i] = 1 - 2 * +(data[i] < 0);

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    if (!x.requiresGrad) return;
    const gx = x.gradBuffer();
    for (let i = 0; i < gx.length; i++) gx[i] += Math.abs(data[i]) <= clip ? grad[i] : 0;
  });
}

/** Upstream gradient passed where |x| <= clip and zeroed elsewhere. */
export function straightThroughGrad(x: ArrayLike<number>, grad: Float32Array, clip: number): Float32Array {
  const gx = new Float32Array(grad.length);
  for (let i = 0; i < gx.length; i++) gx[i] = Math.abs(x[i]) <= clip ? grad[i] : 0;
  return gx;
}

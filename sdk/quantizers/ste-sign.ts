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
  let largest = 0;

  // Branch-free on purpose: latent weights have random signs, and a branch here mispredicts half the time.
  for (let i = 0; i < out.length; i++) {
    const value = data[i];
    out[i] = 1 - 2 * +(value < 0);
    largest = Math.max(largest, Math.abs(value));
  }

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    if (!x.requiresGrad) return;

    // Clipped latent weights all lie inside the clip range, so their gradient passes whole,
    // which saves the masked loop over every weight at each step. NaN fails the test and takes the loop.
    if (largest <= clip) {
      x.accumulateGrad(grad);
      return;
    }
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

import { QnnError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { straightThroughGrad } from './ste-sign.js';

/**
 * Ternarization with a fixed threshold t and the straight-through estimator:
 *   forward:  q = +1 if x > t, -1 if x < -t, else 0 (so |x| = t maps to 0)
 *   backward: dq/dx = 1 if |x| <= clip (inclusive), else 0
 * The default t = 0.5 makes q equal roundHalfToEven(clip(x, -1, 1)), the
 * nearest level of {-1, 0, +1} with the ties at ±0.5 going to 0.
 */
export function ternarize(x: Tensor, threshold = 0.5, clip = 1): Tensor {
  if (!Number.isFinite(threshold) || threshold < 0) {
    throw new QnnError(`ternarize: threshold must be a finite number >= 0, got ${threshold}`);
  }
  if (!(clip >= 0)) throw new QnnError(`ternarize: clip must be >= 0, got ${clip}`);

  const data = x.data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < out.length; i++) {
    if (data[i] > threshold) out[i] = 1;
    else if (data[i] < -threshold) out[i] = -1;
  }

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    x.accumulateOwnedGrad(straightThroughGrad(data, grad, clip));
  });
}

import type { Random } from '../random.js';
import { Tensor } from '../tensor/tensor.js';
import { straightThroughGrad } from './ste-sign.js';

/**
 * Stochastic binarization (arXiv 1609.07061, eq. 2):
 *   forward:  q = +1 with probability p = hard_sigmoid(x) = clip((x + 1) / 2, 0, 1), else -1
 *   backward: straight-through, dq/dx = 1 if |x| <= 1, else 0
 * Draws come from `random`, so a seeded run repeats exactly.
 */
export function stochasticBinarize(x: Tensor, random: Random): Tensor {
  const out = new Float32Array(x.size);
  for (let i = 0; i < out.length; i++) {
    out[i] = random.next() < hardSigmoid(x.data[i]) ? 1 : -1;
  }

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    x.accumulateGrad(straightThroughGrad(x.data, grad, 1));
  });
}

export function hardSigmoid(x: number): number {
  return Math.min(1, Math.max(0, (x + 1) / 2));
}

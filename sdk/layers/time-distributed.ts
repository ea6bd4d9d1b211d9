import { ShapeError } from '../errors.js';
import { Tensor, formatShape } from '../tensor/tensor.js';
import type { Dense } from './dense.js';
import type { ForwardContext } from './layer.js';
import { reshape } from './reshape.js';

/**
 * Applies a Dense layer to every time step of x [batch, time, features] by
 * folding time into the batch: [batch * time, features] -> Dense -> [batch * time, units].
 * The result stays flat, which is what a per-token softmax cross-entropy takes.
 */
export function timeDistributedDense(dense: Dense, x: Tensor, context: ForwardContext): Tensor {
  if (x.rank !== 3) throw new ShapeError(`timeDistributedDense: expected [batch, time, features], got ${formatShape(x.shape)}`);
  const [batch, steps, features] = x.shape;
  return dense.forward(reshape(x, [batch * steps, features]), context);
}

/** Reshapes flat per-step scores [batch * time, units] back to [batch, time, units]. */
export function unfoldTime(scores: Tensor, batch: number, steps: number): Tensor {
  if (scores.rank !== 2 || scores.shape[0] !== batch * steps) {
    throw new ShapeError(`unfoldTime: expected [${batch * steps}, units], got ${formatShape(scores.shape)}`);
  }
  return reshape(scores, [batch, steps, scores.shape[1]]);
}

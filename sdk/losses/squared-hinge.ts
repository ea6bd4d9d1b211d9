import { ShapeError } from '../errors.js';
import { Tensor, formatShape } from '../tensor/tensor.js';

/**
 * Squared hinge loss on +-1 targets, the loss BinaryNet trains with:
 *   L = mean over batch and classes of max(0, 1 - t * y)^2
 *   dL/dy = -2 t max(0, 1 - t y) / (batch * classes)
 * `labels` are class indices; the target is +1 for the label and -1 elsewhere.
 */
export function squaredHinge(scores: Tensor, labels: ArrayLike<number>): Tensor {
  const [batch, classes] = checkScores(scores, labels, 'squaredHinge');
  const count = batch * classes;
  const margins = new Float32Array(count);
  let total = 0;

  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < classes; c++) {
      const i = b * classes + c;
      const target = labels[b] === c ? 1 : -1;
      const margin = Math.max(0, 1 - target * scores.data[i]);
      margins[i] = target * margin;
      total += margin * margin;
    }
  }

  return Tensor.fromOp(Float32Array.of(total / count), [], [scores], (grad) => {
    const gx = new Float32Array(count);
    for (let i = 0; i < count; i++) gx[i] = (-2 * margins[i] * grad[0]) / count;
    scores.accumulateGrad(gx);
  });
}

export function checkScores(scores: Tensor, labels: ArrayLike<number>, loss: string): [number, number] {
  if (scores.rank !== 2) throw new ShapeError(`${loss}: scores must be [batch, classes], got ${formatShape(scores.shape)}`);
  const [batch, classes] = scores.shape;
  if (labels.length !== batch) throw new ShapeError(`${loss}: ${labels.length} labels for a batch of ${batch} scores`);
  for (let b = 0; b < batch; b++) {
    const label = labels[b];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new ShapeError(`${loss}: label ${label} at index ${b} is outside 0..${classes - 1}`);
    }
  }
  return [batch, classes];
}

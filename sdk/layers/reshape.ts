import { ShapeError } from '../errors.js';
import { Tensor, formatShape, shapeSize } from '../tensor/tensor.js';

/** Returns x with a new shape of the same size over the same row-major data; the gradient passes through unchanged. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  if (shapeSize(shape) !== x.size) {
    throw new ShapeError(`cannot reshape ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(shape)} (${shapeSize(shape)} elements)`);
  }
  return Tensor.fromOp(x.data, shape, [x], (grad) => x.accumulateGrad(grad));
}

import { ShapeError } from '../errors.js';
import { formatShape, shapeSize } from '../tensor/tensor.js';

/** Output shape of a NumPy-style broadcast of two shapes; throws with both shapes when they do not fit. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);

  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`cannot broadcast shapes ${formatShape(a)} and ${formatShape(b)}: dimension ${i} is ${da} vs ${db}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * For each flat index of `outShape`, the flat index into an operand of `shape`
 * broadcast to it.
 */
export function broadcastIndex(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const size = shapeSize(outShape);
  const index = new Int32Array(size);
  const rank = outShape.length;
  const offset = rank - shape.length;

  // Strides of the operand, 0 along broadcast dimensions.
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i + offset] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i];
  }

  const counter = new Array<number>(rank).fill(0);
  let position = 0;
  for (let flat = 0; flat < size; flat++) {
    index[flat] = position;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]++;
      position += strides[d];
      if (counter[d] < outShape[d]) break;
      position -= strides[d] * counter[d];
      counter[d] = 0;
    }
  }
  return index;
}

/** Sums a gradient of `outShape` over the broadcast dimensions back to `shape`. */
export function reduceToShape(grad: Float32Array, outShape: readonly number[], shape: readonly number[]): Float32Array {
  if (shapeSize(shape) === grad.length) return grad;

  const reduced = new Float32Array(shapeSize(shape));
  const index = broadcastIndex(shape, outShape);
  for (let i = 0; i < grad.length; i++) reduced[index[i]] += grad[i];
  return reduced;
}

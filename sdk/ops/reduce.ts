import { ShapeError } from '../errors.js';
import { Tensor, formatShape } from '../tensor/tensor.js';

/** Sum of all elements, or along one axis (negative axes count from the end). */
export function sum(x: Tensor, axis?: number, keepDims = false): Tensor {
  if (axis === undefined) {
    let total = 0;
    for (let i = 0; i < x.size; i++) total += x.data[i];

    return Tensor.fromOp(Float32Array.of(total), keepDims ? x.shape.map(() => 1) : [], [x], (grad) => {
      x.accumulateGrad(new Float32Array(x.size).fill(grad[0]));
    });
  }

  const { outer, length, inner, shape } = axisLayout(x.shape, axis, keepDims);
  const out = new Float32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let a = 0; a < length; a++) {
      for (let i = 0; i < inner; i++) out[o * inner + i] += x.data[(o * length + a) * inner + i];
    }
  }

  return Tensor.fromOp(out, shape, [x], (grad) => {
    const gx = new Float32Array(x.size);
    for (let o = 0; o < outer; o++) {
      for (let a = 0; a < length; a++) {
        for (let i = 0; i < inner; i++) gx[(o * length + a) * inner + i] = grad[o * inner + i];
      }
    }
    x.accumulateGrad(gx);
  });
}

/** Mean of all elements, or along one axis. */
export function mean(x: Tensor, axis?: number, keepDims = false): Tensor {
  const count = axis === undefined ? x.size : x.shape[normalizeAxis(x.shape, axis)];
  const total = sum(x, axis, keepDims);
  const out = total.data.map((v) => v / count) as Float32Array;

  return Tensor.fromOp(out, total.shape, [total], (grad) => {
    total.accumulateGrad(grad.map((g) => g / count));
  });
}

export function normalizeAxis(shape: readonly number[], axis: number): number {
  const normalized = axis < 0 ? shape.length + axis : axis;
  if (!Number.isInteger(normalized) || normalized < 0 || normalized >= shape.length) {
    throw new ShapeError(`axis ${axis} is out of range for shape ${formatShape(shape)}`);
  }
  return normalized;
}

/** Splits a shape around `axis` into (outer, length, inner) element counts for strided loops. */
export function axisLayout(shape: readonly number[], axis: number, keepDims: boolean): { outer: number; length: number; inner: number; shape: number[] } {
  const a = normalizeAxis(shape, axis);
  const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const reduced = keepDims ? shape.map((d, i) => (i === a ? 1 : d)) : shape.filter((_d, i) => i !== a);
  return { outer, length: shape[a], inner, shape: reduced };
}

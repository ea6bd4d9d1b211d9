import { ShapeError } from '../errors.js';
import { Tensor, formatShape } from '../tensor/tensor.js';

/**
 * Looks up rows of `table` [rows, width] for integer `indices` of any shape,
 * giving [...indices.shape, width]. The backward pass scatter-adds each output
 * row's gradient into its table row, so a repeated index sums its gradients.
 */
export function gatherRows(table: Tensor, indices: Tensor): Tensor {
  if (table.rank !== 2) throw new ShapeError(`gatherRows: table must be [rows, width], got ${formatShape(table.shape)}`);
  const [rows, width] = table.shape;
  const count = indices.size;
  const out = new Float32Array(count * width);

  for (let n = 0; n < count; n++) {
    const row = indices.data[n];
    if (!Number.isInteger(row) || row < 0 || row >= rows) {
      throw new ShapeError(`gatherRows: index ${row} at position ${n} is outside the table's ${rows} rows`);
    }
    for (let j = 0; j < width; j++) out[n * width + j] = table.data[row * width + j];
  }

  return Tensor.fromOp(out, [...indices.shape, width], [table], (grad) => {
    if (!table.requiresGrad) return;
    const gt = table.gradBuffer();
    for (let n = 0; n < count; n++) {
      const base = indices.data[n] * width;
      for (let j = 0; j < width; j++) gt[base + j] += grad[n * width + j];
    }
  });
}

/** Returns x[:, t, :] of a [batch, time, features] tensor as [batch, features]. */
export function timeStep(x: Tensor, t: number): Tensor {
  if (x.rank !== 3 || t < 0 || t >= x.shape[1]) throw new ShapeError(`timeStep: cannot take step ${t} of ${formatShape(x.shape)}`);
  const [batch, steps, features] = x.shape;
  const out = new Float32Array(batch * features);
  for (let b = 0; b < batch; b++) out.set(x.data.subarray((b * steps + t) * features, (b * steps + t + 1) * features), b * features);

  return Tensor.fromOp(out, [batch, features], [x], (grad) => {
    if (!x.requiresGrad) return;
    const gx = x.gradBuffer();
    for (let b = 0; b < batch; b++) {
      const base = (b * steps + t) * features;
      for (let j = 0; j < features; j++) gx[base + j] += grad[b * features + j];
    }
  });
}

/** Stacks T tensors of [batch, features] into [batch, T, features]. */
export function stackSteps(steps: readonly Tensor[]): Tensor {
  if (steps.length === 0) throw new ShapeError('stackSteps: needs at least one time step');
  const [batch, features] = steps[0].shape;
  for (const s of steps) {
    if (s.rank !== 2 || s.shape[0] !== batch || s.shape[1] !== features) {
      throw new ShapeError(`stackSteps: every step must be [${batch}, ${features}], got ${formatShape(s.shape)}`);
    }
  }
  const count = steps.length;
  const out = new Float32Array(batch * count * features);
  steps.forEach((s, t) => {
    for (let b = 0; b < batch; b++) out.set(s.data.subarray(b * features, (b + 1) * features), (b * count + t) * features);
  });

  return Tensor.fromOp(out, [batch, count, features], steps, (grad) => {
    steps.forEach((s, t) => {
      if (!s.requiresGrad) return;
      const gs = s.gradBuffer();
      for (let b = 0; b < batch; b++) {
        const base = (b * count + t) * features;
        for (let j = 0; j < features; j++) gs[b * features + j] += grad[base + j];
      }
    });
  });
}

/** Returns columns [start, start + width) of a [rows, cols] tensor, the gate blocks of a fused gate matmul. */
export function sliceColumns(x: Tensor, start: number, width: number): Tensor {
  if (x.rank !== 2 || start < 0 || width <= 0 || start + width > x.shape[1]) {
    throw new ShapeError(`sliceColumns: cannot take columns [${start}, ${start + width}) of ${formatShape(x.shape)}`);
  }
  const [rows, cols] = x.shape;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(x.data.subarray(r * cols + start, r * cols + start + width), r * width);

  return Tensor.fromOp(out, [rows, width], [x], (grad) => {
    if (!x.requiresGrad) return;
    const gx = x.gradBuffer();
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < width; j++) gx[r * cols + start + j] += grad[r * width + j];
    }
  });
}

import { ShapeError } from '../errors.js';
import { Tensor, formatShape } from '../tensor/tensor.js';

/** log softmax along the last axis, x - logsumexp(x). Backward: dx = g - softmax * sum(g). */
export function logSoftmax(x: Tensor): Tensor {
  const { rows, cols } = lastAxisLayout(x);
  const out = new Float32Array(x.size);

  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const logTotal = logSumExpRow(x.data, base, cols);
    for (let c = 0; c < cols; c++) out[base + c] = x.data[base + c] - logTotal;
  }

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    const gx = new Float32Array(x.size);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let gradSum = 0;
      for (let c = 0; c < cols; c++) gradSum += grad[base + c];
      for (let c = 0; c < cols; c++) gx[base + c] = grad[base + c] - Math.exp(out[base + c]) * gradSum;
    }
    x.accumulateGrad(gx);
  });
}

/** softmax along the last axis. Backward: dx = y * (g - sum(g * y)). */
export function softmax(x: Tensor): Tensor {
  const { rows, cols } = lastAxisLayout(x);
  const out = new Float32Array(x.size);

  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const logTotal = logSumExpRow(x.data, base, cols);
    for (let c = 0; c < cols; c++) out[base + c] = Math.exp(x.data[base + c] - logTotal);
  }

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    const gx = new Float32Array(x.size);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let dot = 0;
      for (let c = 0; c < cols; c++) dot += grad[base + c] * out[base + c];
      for (let c = 0; c < cols; c++) gx[base + c] = out[base + c] * (grad[base + c] - dot);
    }
    x.accumulateGrad(gx);
  });
}

/** log(sum(exp(row))) of values[base .. base + cols), shifted by the row maximum so large scores cannot overflow. */
export function logSumExpRow(values: ArrayLike<number>, base: number, cols: number): number {
  let max = -Infinity;
  for (let c = 0; c < cols; c++) max = Math.max(max, values[base + c]);
  if (max === -Infinity) return -Infinity;
  let total = 0;
  for (let c = 0; c < cols; c++) total += Math.exp(values[base + c] - max);
  return Math.log(total) + max;
}

function lastAxisLayout(x: Tensor): { rows: number; cols: number } {
  if (x.rank === 0) throw new ShapeError(`softmax needs at least one axis, got shape ${formatShape(x.shape)}`);
  const cols = x.shape[x.rank - 1];
  return { rows: cols === 0 ? 0 : x.size / cols, cols };
}

import { Tensor, shapeSize } from '../tensor/tensor.js';
import { broadcastIndex, broadcastShapes, reduceToShape } from './broadcast.js';

type BinaryKernel = (a: number, b: number) => number;

/**
 * Applies `kernel` elementwise with broadcasting. Equal shapes and a trailing
 * row vector (bias-like [N] against [B, N]) take direct loops; other shapes go
 * through an index map.
 */
function broadcastBinary(a: Tensor, b: Tensor, kernel: BinaryKernel): { data: Float32Array; shape: number[]; ia: Int32Array | null; ib: Int32Array | null } {
  const shape = broadcastShapes(a.shape, b.shape);
  const out = new Float32Array(shapeSize(shape));
  const ad = a.data;
  const bd = b.data;

  if (a.size === out.length && b.size === out.length) {
    for (let i = 0; i < out.length; i++) out[i] = kernel(ad[i], bd[i]);
    return { data: out, shape, ia: null, ib: null };
  }

  const ia = a.size === out.length ? null : broadcastIndex(a.shape, shape);
  const ib = b.size === out.length ? null : broadcastIndex(b.shape, shape);
  for (let i = 0; i < out.length; i++) out[i] = kernel(ad[ia === null ? i : ia[i]], bd[ib === null ? i : ib[i]]);
  return { data: out, shape, ia, ib };
}

export function add(a: Tensor, b: Tensor): Tensor {
  const { data, shape } = broadcastBinary(a, b, (x, y) => x + y);

  return Tensor.fromOp(data, shape, [a, b], (grad) => {
    a.accumulateGrad(reduceToShape(grad, shape, a.shape));
    b.accumulateGrad(reduceToShape(grad, shape, b.shape));
  });
}

export function sub(a: Tensor, b: Tensor): Tensor {
  const { data, shape } = broadcastBinary(a, b, (x, y) => x - y);

  return Tensor.fromOp(data, shape, [a, b], (grad) => {
    a.accumulateGrad(reduceToShape(grad, shape, a.shape));
    b.accumulateGrad(reduceToShape(grad.map((g) => -g), shape, b.shape));
  });
}

export function mul(a: Tensor, b: Tensor): Tensor {
  const { data, shape, ia, ib } = broadcastBinary(a, b, (x, y) => x * y);

  return Tensor.fromOp(data, shape, [a, b], (grad) => {
    const ga = new Float32Array(grad.length);
    const gb = new Float32Array(grad.length);
    for (let i = 0; i < grad.length; i++) {
      ga[i] = grad[i] * b.data[ib === null ? i : ib[i]];
      gb[i] = grad[i] * a.data[ia === null ? i : ia[i]];
    }
    a.accumulateGrad(reduceToShape(ga, shape, a.shape));
    b.accumulateGrad(reduceToShape(gb, shape, b.shape));
  });
}

export function div(a: Tensor, b: Tensor): Tensor {
  const { data, shape, ia, ib } = broadcastBinary(a, b, (x, y) => x / y);

  return Tensor.fromOp(data, shape, [a, b], (grad) => {
    const ga = new Float32Array(grad.length);
    const gb = new Float32Array(grad.length);
    for (let i = 0; i < grad.length; i++) {
      const x = a.data[ia === null ? i : ia[i]];
      const y = b.data[ib === null ? i : ib[i]];
      ga[i] = grad[i] / y;
      gb[i] = (-grad[i] * x) / (y * y);
    }
    a.accumulateGrad(reduceToShape(ga, shape, a.shape));
    b.accumulateGrad(reduceToShape(gb, shape, b.shape));
  });
}

/** Elementwise unary op with its local derivative written beside it. */
function unary(x: Tensor, forward: (v: number) => number, derivative: (v: number, y: number) => number): Tensor {
  const out = new Float32Array(x.size);
  for (let i = 0; i < out.length; i++) out[i] = forward(x.data[i]);

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    const gx = new Float32Array(grad.length);
    for (let i = 0; i < grad.length; i++) gx[i] = grad[i] * derivative(x.data[i], out[i]);
    x.accumulateGrad(gx);
  });
}

export const neg = (x: Tensor): Tensor => unary(x, (v) => -v, () => -1);
export const exp = (x: Tensor): Tensor => unary(x, Math.exp, (_v, y) => y);
export const log = (x: Tensor): Tensor => unary(x, Math.log, (v) => 1 / v);
export const relu = (x: Tensor): Tensor => unary(x, (v) => (v > 0 ? v : 0), (v) => (v > 0 ? 1 : 0));
export const square = (x: Tensor): Tensor => unary(x, (v) => v * v, (v) => 2 * v);
export const sqrt = (x: Tensor): Tensor => unary(x, Math.sqrt, (_v, y) => 0.5 / y);
export const scale = (x: Tensor, factor: number): Tensor => unary(x, (v) => v * factor, () => factor);

import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import { FLOAT_ELEMENTWISE_WORKGROUP_SIZE, type FloatElementwiseOp, floatElementwiseWgsl } from '../shaders/float-elementwise-wgsl.js';

const wgslByOp = new Map<FloatElementwiseOp, string>();

async function encodeElementwise(
  gpu: GpuContext,
  op: FloatElementwiseOp,
  operands: GPUBuffer[],
  out: GPUBuffer,
  count: number,
  columns = 1,
): Promise<void> {
  if (count === 0) return;
  let wgsl = wgslByOp.get(op);
  if (wgsl === undefined) wgslByOp.set(op, (wgsl = floatElementwiseWgsl(op)));

  const grid = gpu.limits.flatGrid(op, Math.ceil(count / FLOAT_ELEMENTWISE_WORKGROUP_SIZE));
  const params = gpu.uniform(new UniformWriter(2).u32(count).u32(columns).bytes());
  await gpu.dispatch({ kernel: `float-${op}`, wgsl, bindings: [params, ...operands, out], workgroups: [grid.countX, grid.countY] });
}

/** Records out[i] = sign(x[i]) for `count` elements, with sign(0) = sign(-0.0) = +1. */
export function encodeSign(gpu: GpuContext, x: GPUBuffer, out: GPUBuffer, count: number): Promise<void> {
  return encodeElementwise(gpu, 'sign', [x], out, count);
}

/**
 * Records the straight-through gradient of sign: out[i] = grad[i] where |x[i]| <= 1
 * (inclusive) and 0 elsewhere, with x the value that was binarized.
 */
export function encodeStraightThroughGrad(gpu: GpuContext, x: GPUBuffer, grad: GPUBuffer, out: GPUBuffer, count: number): Promise<void> {
  return encodeElementwise(gpu, 'straight_through', [x, grad], out, count);
}

/** Records out[i] = x[i] * mask[i], the dropout mask applied to activations or to their gradient. */
export function encodeMultiply(gpu: GpuContext, x: GPUBuffer, mask: GPUBuffer, out: GPUBuffer, count: number): Promise<void> {
  return encodeElementwise(gpu, 'multiply', [x, mask], out, count);
}

/** Records out [rows, columns] = x [rows, columns] + bias [columns] broadcast over the rows. */
export function encodeAddBias(gpu: GpuContext, x: GPUBuffer, bias: GPUBuffer, out: GPUBuffer, rows: number, columns: number): Promise<void> {
  return encodeElementwise(gpu, 'add_bias', [x, bias], out, rows * columns, columns);
}

import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import {
  FLOAT_BATCH_NORM_BACKWARD_WGSL,
  FLOAT_BATCH_NORM_FORWARD_WGSL,
  FLOAT_BATCH_NORM_RUNNING_WGSL,
  FLOAT_BATCH_NORM_WORKGROUP_SIZE,
} from '../shaders/float-batch-norm-wgsl.js';

/** Buffers of one batch-norm layer in training; every f32 array is [batch, features] or [features]. */
export interface BatchNormBuffers {
  gamma: GPUBuffer;
  beta: GPUBuffer;
  /** xhat [batch, features], written by the forward pass for the backward pass. */
  normalized: GPUBuffer;
  /** Batch mean, variance and inverse standard deviation, [3, features]. */
  stats: GPUBuffer;
}

function featureGrid(gpu: GpuContext, operation: string, features: number): [number, number] {
  const grid = gpu.limits.flatGrid(operation, Math.ceil(features / FLOAT_BATCH_NORM_WORKGROUP_SIZE));
  return [grid.countX, grid.countY];
}

/** Records the training forward pass out = gamma * xhat + beta with the statistics of the batch x [batch, features]. */
export async function encodeBatchNormForward(
  gpu: GpuContext,
  x: GPUBuffer,
  layer: BatchNormBuffers,
  out: GPUBuffer,
  batch: number,
  features: number,
  epsilon: number,
): Promise<void> {
  const params = gpu.uniform(new UniformWriter(3).u32(batch).u32(features).f32(epsilon).bytes());
  await gpu.dispatch({
    kernel: 'float-batch-norm-forward',
    wgsl: FLOAT_BATCH_NORM_FORWARD_WGSL,
    bindings: [params, x, layer.gamma, layer.beta, out, layer.normalized, layer.stats],
    workgroups: featureGrid(gpu, 'batchNormForward', features),
  });
}

/** Records the training backward pass: gradInput [batch, features], gradGamma and gradBeta [features] from grad [batch, features]. */
export async function encodeBatchNormBackward(
  gpu: GpuContext,
  grad: GPUBuffer,
  layer: BatchNormBuffers,
  gradInput: GPUBuffer,
  gradGamma: GPUBuffer,
  gradBeta: GPUBuffer,
  batch: number,
  features: number,
): Promise<void> {
  const params = gpu.uniform(new UniformWriter(2).u32(batch).u32(features).bytes());
  await gpu.dispatch({
    kernel: 'float-batch-norm-backward',
    wgsl: FLOAT_BATCH_NORM_BACKWARD_WGSL,
    bindings: [params, grad, layer.normalized, layer.gamma, layer.stats, gradInput, gradGamma, gradBeta],
    workgroups: featureGrid(gpu, 'batchNormBackward', features),
  });
}

/**
 * Records the running-statistics update from the batch statistics of the last forward pass.
 * It leaves the running statistics unchanged when the step's non-finite flag (word 0 of `status`) is set.
 */
export async function encodeBatchNormRunningUpdate(
  gpu: GpuContext,
  layer: BatchNormBuffers,
  status: GPUBuffer,
  runningMean: GPUBuffer,
  runningVariance: GPUBuffer,
  batch: number,
  features: number,
  momentum: number,
): Promise<void> {
  // The running variance takes the unbiased estimate of the batch variance.
  const correction = batch > 1 ? batch / (batch - 1) : 1;
  const params = gpu.uniform(new UniformWriter(4).u32(features).f32(momentum).f32(1 - momentum).f32(correction).bytes());
  await gpu.dispatch({
    kernel: 'float-batch-norm-running',
    wgsl: FLOAT_BATCH_NORM_RUNNING_WGSL,
    bindings: [params, layer.stats, status, runningMean, runningVariance],
    workgroups: featureGrid(gpu, 'batchNormRunningUpdate', features),
  });
}

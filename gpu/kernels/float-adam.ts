import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import { FLOAT_ADAM_WGSL, FLOAT_ADAM_WORKGROUP_SIZE, FLOAT_GRADIENT_CHECK_WGSL } from '../shaders/float-adam-wgsl.js';

/** Settings of one Adam step for one parameter. */
export interface AdamStep {
  learningRate: number;
  learningRateScale: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1-based step count t of the bias correction. */
  step: number;
  clip: number | null;
}

/** Buffers of one parameter in training, all f32 [count]. */
export interface AdamParameterBuffers {
  weights: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
}

function elementGrid(gpu: GpuContext, operation: string, count: number): [number, number] {
  const grid = gpu.limits.flatGrid(operation, Math.ceil(count / FLOAT_ADAM_WORKGROUP_SIZE));
  return [grid.countX, grid.countY];
}

/** Records a check of grad [count] that sets the status flag, and lowers its first bad code to `badCode`, on a non-finite element. */
export async function encodeGradientCheck(gpu: GpuContext, grad: GPUBuffer, status: GPUBuffer, count: number, badCode: number): Promise<void> {
  if (count === 0) return;
  const params = gpu.uniform(new UniformWriter(2).u32(count).u32(badCode).bytes());
  await gpu.dispatch({
    kernel: 'float-gradient-check',
    wgsl: FLOAT_GRADIENT_CHECK_WGSL,
    bindings: [params, grad, status],
    workgroups: elementGrid(gpu, 'gradientCheck', count),
  });
}

/**
 * Records one Adam step on a parameter of `count` elements, with the bias
 * correction, learning-rate scale and clip of sdk/optimizers/adam.ts. The step
 * changes nothing when the status flag (word 0 of `status`) is set.
 */
export async function encodeAdamStep(gpu: GpuContext, parameter: AdamParameterBuffers, status: GPUBuffer, count: number, step: AdamStep): Promise<void> {
  if (count === 0) return;

  // Float64 on the host, as the CPU optimizer computes them, then rounded once to f32.
  const correction1 = 1 - Math.pow(step.beta1, step.step);
  const correction2 = 1 - Math.pow(step.beta2, step.step);
  const rate = (step.learningRate * step.learningRateScale) / correction1;
  const params = new UniformWriter(10)
    .u32(count)
    .f32(rate)
    .f32(correction2)
    .f32(step.beta1)
    .f32(1 - step.beta1)
    .f32(step.beta2)
    .f32(1 - step.beta2)
    .f32(step.epsilon)
    .f32(step.clip ?? 0)
    .u32(step.clip === null ? 0 : 1);

  await gpu.dispatch({
    kernel: 'float-adam',
    wgsl: FLOAT_ADAM_WGSL,
    bindings: [gpu.uniform(params.bytes()), parameter.grad, status, parameter.weights, parameter.m, parameter.v],
    workgroups: elementGrid(gpu, 'adamStep', count),
  });
}

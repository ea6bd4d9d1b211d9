import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import { FLOAT_GEMM_TILE, FLOAT_GEMM_WGSL } from '../shaders/float-gemm-wgsl.js';

/** Operands of one float GEMM: out [m, n] = opA(a) [m, k] · opB(b) [k, n]. */
export interface FloatGemmShape {
  m: number;
  k: number;
  n: number;
  /** a is stored as [k, m] and used transposed. */
  transposeA: boolean;
  /** b is stored as [n, k] and used transposed. */
  transposeB: boolean;
}

/**
 * Records out f32 [m, n] = opA(a) · opB(b) on buffers, with the layouts of
 * Backend.matmul. Grids over the per-dimension workgroup limit run as several
 * dispatches with tile offsets. With k = 0 the output is written as zeros.
 */
export async function encodeFloatGemm(gpu: GpuContext, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, shape: FloatGemmShape): Promise<void> {
  const { m, k, n } = shape;
  if (m === 0 || n === 0) return;

  // Workgroup x walks the columns (n) and y the rows (m).
  for (const chunk of gpu.limits.splitGrid(Math.ceil(n / FLOAT_GEMM_TILE), Math.ceil(m / FLOAT_GEMM_TILE))) {
    const params = new UniformWriter(7)
      .u32(m)
      .u32(n)
      .u32(k)
      .u32(shape.transposeA ? 1 : 0)
      .u32(shape.transposeB ? 1 : 0)
      .u32(chunk.offsetY)
      .u32(chunk.offsetX);
    await gpu.dispatch({
      kernel: 'float-gemm',
      wgsl: FLOAT_GEMM_WGSL,
      bindings: [gpu.uniform(params.bytes()), a, b, out],
      workgroups: [chunk.countX, chunk.countY],
    });
  }
}

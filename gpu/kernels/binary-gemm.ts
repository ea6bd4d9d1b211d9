import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import { BINARY_GEMM_WGSL, GEMM_TILE } from '../shaders/binary-gemm-wgsl.js';

/**
 * Records out i32 [m, n] = k - 2 * popcount(a[m,:] XOR b[n,:]) for packed a [m, ceil(k/32)]
 * and b [n, ceil(k/32)] (buffers whose pad bits are 0). Grids over the per-dimension
 * workgroup limit run as several dispatches with tile offsets.
 */
export async function encodeBinaryGemm(
  gpu: GpuContext,
  a: GPUBuffer,
  b: GPUBuffer,
  out: GPUBuffer,
  m: number,
  n: number,
  k: number,
): Promise<void> {
  const words = Math.ceil(k / 32);

  // Workgroup x walks the columns (n) and y the rows (m).
  for (const chunk of gpu.limits.splitGrid(Math.ceil(n / GEMM_TILE), Math.ceil(m / GEMM_TILE))) {
    const params = gpu.uniform(new UniformWriter(6).u32(m).u32(n).u32(k).u32(words).u32(chunk.offsetY).u32(chunk.offsetX).bytes());
    await gpu.dispatch({ kernel: 'binary-gemm', wgsl: BINARY_GEMM_WGSL, bindings: [params, a, b, out], workgroups: [chunk.countX, chunk.countY] });
  }
}

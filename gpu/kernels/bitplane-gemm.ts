import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import { bitplaneGemmWgsl, bitplanePackWgsl } from '../shaders/bitplane-gemm-wgsl.js';
import { flatChunks } from './flat-grid.js';
import { dispatchGemmTiles } from './gemm-tiles.js';

/**
 * Records the bit-plane pack of x uint8 [m, k] (a buffer of ceil(m*k/4) u32 words,
 * little-endian bytes) into planes u32 [m, activationBits, ceil(k/32)]: bit i of plane p
 * holds bit p of element i. Pad bits are 0.
 */
export async function encodeBitplanePack(
  gpu: GpuContext,
  x: GPUBuffer,
  planes: GPUBuffer,
  m: number,
  k: number,
  activationBits: number,
): Promise<void> {
  const wordsPerRow = Math.ceil(k / 32);
  for (const chunk of flatChunks(gpu.limits, 'bitplanePack', m * wordsPerRow)) {
    const params = gpu.uniform(new UniformWriter(5).u32(m).u32(k).u32(wordsPerRow).u32(chunk.firstItem).u32(chunk.endItem).bytes());
    await gpu.dispatch({
      kernel: `bitplane-pack-a${activationBits}`,
      wgsl: bitplanePackWgsl(activationBits),
      bindings: [params, x, planes],
      workgroups: [chunk.countX, chunk.countY],
    });
  }
}

/**
 * Records out i32 [m, n] = sum_i x[m, i] * w[n, i] from the activation planes of
 * encodeBitplanePack ([m, activationBits, ceil(k/32)]) and weightBits sign planes per
 * weight row (w [n, weightBits, ceil(k/32)], bit 1 = -1, plane j weighing 2^j).
 * Exact while |out| fits in i32; the callers check that.
 */
export async function encodeBitplaneGemm(
  gpu: GpuContext,
  planes: GPUBuffer,
  w: GPUBuffer,
  out: GPUBuffer,
  m: number,
  n: number,
  k: number,
  activationBits: number,
  weightBits: number,
): Promise<void> {
  await dispatchGemmTiles(gpu, {
    kernel: `bitplane-gemm-a${activationBits}-w${weightBits}`,
    wgsl: bitplaneGemmWgsl(activationBits, weightBits),
    m,
    n,
    wordsPerRow: Math.ceil(k / 32),
    extraParams: 0,
    writeParams: () => undefined,
    bindings: [planes, w, out],
  });
}

import { GpuContext } from '../host/gpu-context.js';
import { BINARY_GEMM_THRESHOLD_PACK_WGSL, BINARY_GEMM_WGSL } from '../shaders/binary-gemm-wgsl.js';
import { dispatchGemmTiles } from './gemm-tiles.js';

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
  await dispatchGemmTiles(gpu, {
    kernel: 'binary-gemm',
    wgsl: BINARY_GEMM_WGSL,
    m,
    n,
    wordsPerRow: Math.ceil(k / 32),
    extraParams: 1,
    writeParams: (params) => params.u32(k),
    bindings: [a, b, out],
  });
}

/**
 * Records the fused hidden layer: out u32 [m, ceil(n/32)] = the packed signs of
 * thresholdPack(binaryGemm(a, b), thresholds, directions), without writing the
 * accumulators. thresholds and directions are i32 buffers of n elements
 * (directions widened from Int8Array: >= 0 means +1 when acc >= threshold,
 * < 0 means +1 when acc <= threshold). Pad bits of out are 0.
 */
export async function encodeBinaryGemmThresholdPack(
  gpu: GpuContext,
  a: GPUBuffer,
  b: GPUBuffer,
  thresholds: GPUBuffer,
  directions: GPUBuffer,
  out: GPUBuffer,
  m: number,
  n: number,
  k: number,
): Promise<void> {
  await dispatchGemmTiles(gpu, {
    kernel: 'binary-gemm-threshold-pack',
    wgsl: BINARY_GEMM_THRESHOLD_PACK_WGSL,
    m,
    n,
    wordsPerRow: Math.ceil(k / 32),
    extraParams: 2,
    writeParams: (params) => params.u32(k).u32(Math.ceil(n / 32)),
    bindings: [a, b, thresholds, directions, out],
  });
}

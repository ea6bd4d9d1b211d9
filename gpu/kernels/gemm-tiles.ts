import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import { GEMM_TILE, GEMM_TILE_PARAMS } from '../shaders/gemm-tile-wgsl.js';

/** A kernel built on gemm-tile-wgsl.ts: its pipeline key, WGSL, and the Params members after the shared five. */
export interface GemmTileDispatch {
  kernel: string;
  wgsl: string;
  /** Output rows (M) and columns (N), and words per plane of an operand row. */
  m: number;
  n: number;
  wordsPerRow: number;
  /** How many Params members `writeParams` appends. */
  extraParams: number;
  writeParams: (params: UniformWriter) => void;
  /** Buffers from @binding(1) on: the reads, then the output. */
  bindings: GPUBuffer[];
}

/**
 * Records a tile kernel over its m x n outputs, one 64x64 tile per workgroup
 * (x walks the columns, y the rows). Grids over the per-dimension workgroup
 * limit run as several dispatches, each with its tile offsets.
 */
export async function dispatchGemmTiles(gpu: GpuContext, dispatch: GemmTileDispatch): Promise<void> {
  const { m, n, wordsPerRow } = dispatch;
  for (const chunk of gpu.limits.splitGrid(Math.ceil(n / GEMM_TILE), Math.ceil(m / GEMM_TILE))) {
    const params = new UniformWriter(GEMM_TILE_PARAMS + dispatch.extraParams).u32(m).u32(n).u32(wordsPerRow).u32(chunk.offsetY).u32(chunk.offsetX);
    dispatch.writeParams(params);
    await gpu.dispatch({
      kernel: dispatch.kernel,
      wgsl: dispatch.wgsl,
      bindings: [gpu.uniform(params.bytes()), ...dispatch.bindings],
      workgroups: [chunk.countX, chunk.countY],
    });
  }
}

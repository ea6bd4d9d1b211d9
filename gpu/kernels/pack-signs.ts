import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import { PACK_SIGNS_WGSL, PACK_SIGNS_WORKGROUP_SIZE } from '../shaders/pack-signs-wgsl.js';

/**
 * Records sign-and-pack of x f32 [rows, k] (a buffer) into words u32 [rows, ceil(k/32)].
 * Only x < 0 sets a bit, so -0.0 packs as +1 and pad bits stay 0.
 */
export async function encodePackSigns(gpu: GpuContext, x: GPUBuffer, words: GPUBuffer, rows: number, k: number): Promise<void> {
  const wordsPerRow = Math.ceil(k / 32);
  const totalWords = rows * wordsPerRow;
  if (totalWords === 0) return;

  const grid = gpu.limits.flatGrid('packSigns', Math.ceil(totalWords / PACK_SIGNS_WORKGROUP_SIZE));
  const params = gpu.uniform(new UniformWriter(4).u32(rows).u32(k).u32(wordsPerRow).u32(totalWords).bytes());
  await gpu.dispatch({ kernel: 'pack-signs', wgsl: PACK_SIGNS_WGSL, bindings: [params, x, words], workgroups: [grid.countX, grid.countY] });
}

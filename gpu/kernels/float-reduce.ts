import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import { FLOAT_COLUMN_SUM_WGSL, FLOAT_COLUMN_SUM_WORKGROUP_SIZE } from '../shaders/float-reduce-wgsl.js';

/** Records out [columns] = the sums over the rows of x [rows, columns], the bias gradient of a dense layer. */
export async function encodeColumnSums(gpu: GpuContext, x: GPUBuffer, out: GPUBuffer, rows: number, columns: number): Promise<void> {
  if (columns === 0) return;

  const grid = gpu.limits.flatGrid('columnSums', Math.ceil(columns / FLOAT_COLUMN_SUM_WORKGROUP_SIZE));
  const params = gpu.uniform(new UniformWriter(2).u32(rows).u32(columns).bytes());
  await gpu.dispatch({ kernel: 'float-column-sum', wgsl: FLOAT_COLUMN_SUM_WGSL, bindings: [params, x, out], workgroups: [grid.countX, grid.countY] });
}

import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import { FLOAT_LOSS_BATCH_WGSL, FLOAT_LOSS_ROW_WORKGROUP_SIZE, type LossKernelName, floatLossRowWgsl } from '../shaders/float-loss-wgsl.js';

/** Initial contents of a training status buffer: no non-finite step, first bad code at the u32 maximum. */
export const TRAINING_STATUS_INITIAL = Uint32Array.of(0, 0xffffffff);

const rowWgsl: Record<LossKernelName, string> = {
  softmax_cross_entropy: floatLossRowWgsl('softmax_cross_entropy'),
  squared_hinge: floatLossRowWgsl('squared_hinge'),
};

/** Destination of one batch's loss: the per-batch record slot, and the code a non-finite loss leaves in the status. */
export interface LossRecord {
  status: GPUBuffer;
  /** u32 [batches, 2]: bits of the f32 loss and the correct count of each batch. */
  records: GPUBuffer;
  recordIndex: number;
  badCode: number;
}

/**
 * Records the loss of scores [batch, classes] against labels u32 [batch]: the gradient
 * with respect to the scores into `grad`, the batch loss and correct count into the record,
 * and the status flag when the loss is not finite. `rowResults` is scratch of batch * 8 bytes.
 */
export async function encodeLoss(
  gpu: GpuContext,
  loss: LossKernelName,
  scores: GPUBuffer,
  labels: GPUBuffer,
  grad: GPUBuffer,
  rowResults: GPUBuffer,
  record: LossRecord,
  batch: number,
  classes: number,
): Promise<void> {
  const grid = gpu.limits.flatGrid(loss, Math.ceil(batch / FLOAT_LOSS_ROW_WORKGROUP_SIZE));
  const rowParams = gpu.uniform(new UniformWriter(2).u32(batch).u32(classes).bytes());
  await gpu.dispatch({
    kernel: `float-loss-${loss}`,
    wgsl: rowWgsl[loss],
    bindings: [rowParams, scores, labels, grad, rowResults],
    workgroups: [grid.countX, grid.countY],
  });

  const divisor = loss === 'softmax_cross_entropy' ? batch : batch * classes;
  const batchParams = gpu.uniform(new UniformWriter(4).u32(batch).f32(divisor).u32(record.recordIndex).u32(record.badCode).bytes());
  await gpu.dispatch({
    kernel: 'float-loss-batch',
    wgsl: FLOAT_LOSS_BATCH_WGSL,
    bindings: [batchParams, rowResults, record.status, record.records],
    workgroups: [1],
  });
}

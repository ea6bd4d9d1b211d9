import { BatchNorm } from '../layers/batch-norm.js';
import { QuantDense } from '../layers/dense.js';
import { Dropout } from '../layers/dropout.js';
import type { Layer } from '../layers/layer.js';
import { Sequential } from '../layers/sequential.js';
import { ShiftBatchNorm } from '../layers/shift-batch-norm.js';

export interface BinaryMlpOptions {
  inputs: number;
  hidden: number[];
  classes: number;
  /** Dropout rate after each hidden block; 0 leaves dropout out. */
  dropout?: number;
  seed: number;
  /** 'shift' uses the QNN paper's shift-based batch norm (AP2 in place of multiplications); default 'standard'. */
  batchNorm?: 'standard' | 'shift';
}

/**
 * Builds the binarized MLP of BinaryNet: QuantDense -> BatchNorm blocks, binary
 * kernels everywhere, the first layer on the real-valued input, every later
 * layer on the signs of the previous batch-norm output, and a batch-normalized
 * score layer.
 */
export function binaryMlp(options: BinaryMlpOptions): Sequential {
  const layers: Layer[] = [];
  const batchNorm = (name: string): BatchNorm => (options.batchNorm === 'shift' ? new ShiftBatchNorm({ name }) : new BatchNorm({ name }));

  options.hidden.forEach((units, index) => {
    layers.push(new QuantDense(units, { inputQuantizer: index === 0 ? null : 'ste_sign', name: `dense_${index}` }));
    layers.push(batchNorm(`batch_norm_${index}`));
    if ((options.dropout ?? 0) > 0) layers.push(new Dropout(options.dropout!, { name: `dropout_${index}` }));
  });
  layers.push(new QuantDense(options.classes, { inputQuantizer: options.hidden.length === 0 ? null : 'ste_sign', name: 'scores' }));
  layers.push(batchNorm('scores_batch_norm'));

  return new Sequential(layers).build([options.inputs], options.seed);
}

import { BatchNorm } from '../layers/batch-norm.js';
import { ShiftBatchNorm } from '../layers/shift-batch-norm.js';
import { QuantDense } from '../layers/dense.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten } from '../layers/flatten.js';
import type { Layer } from '../layers/layer.js';
import { MaxPool2D } from '../layers/max-pool2d.js';
import { QuantConv2D } from '../layers/quant-conv2d.js';
import { Sequential } from '../layers/sequential.js';

/** One convolution block: QuantConv2D, then a 2x2 max-pool when `pool` is set, then BatchNorm. */
export interface ConvBlockSpec {
  filters: number;
  /** Square kernel size. Default 3. */
  kernelSize?: number;
  /** Adds a 2x2 max-pool with stride 2 between the convolution and batch norm. Default false. */
  pool?: boolean;
}

export interface BinaryConvNetOptions {
  /** One NHWC sample, e.g. [28, 28, 1]. */
  inputShape: [number, number, number];
  convBlocks: ConvBlockSpec[];
  /** Widths of the hidden dense layers after Flatten. */
  hidden: number[];
  classes: number;
  /** Convolution padding. Default 'same'. */
  padding?: 'same' | 'valid';
  /** Value of padded taps: 1 ("one padding"), 0 or -1. Default 1. */
  padValue?: 1 | 0 | -1;
  /** 'shift' uses the QNN paper's shift-based batch norm everywhere. Default 'standard'. */
  batchNorm?: 'standard' | 'shift';
  /** Dropout rate after each hidden dense block; 0 leaves dropout out. */
  dropout?: number;
  seed: number;
}

/**
 * Builds a binarized ConvNet in the style of the QNN paper (Hubara et al.,
 * arXiv 1609.07061): QuantConv2D -> [MaxPool2D] -> BatchNorm blocks with the
 * first convolution on the real-valued input, then Flatten, QuantDense ->
 * BatchNorm blocks, and a batch-normalized score layer. Every layer after the
 * first binarizes its input with the straight-through sign.
 */
export function binaryConvNet(options: BinaryConvNetOptions): Sequential {
  const layers: Layer[] = [];
  const padding = options.padding ?? 'same';
  const padValue = options.padValue ?? 1;
  const batchNorm = (name: string): BatchNorm => (options.batchNorm === 'shift' ? new ShiftBatchNorm({ name }) : new BatchNorm({ name }));

  options.convBlocks.forEach((block, index) => {
    const inputQuantizer = index === 0 ? null : 'ste_sign';
    layers.push(new QuantConv2D(block.filters, block.kernelSize ?? 3, { padding, padValue, inputQuantizer, name: `conv_${index}` }));
    if (block.pool === true) layers.push(new MaxPool2D(2, { name: `max_pool_${index}` }));
    layers.push(batchNorm(`conv_batch_norm_${index}`));
  });
  layers.push(new Flatten({ name: 'flatten' }));

  const firstDenseQuantizer = options.convBlocks.length === 0 ? null : 'ste_sign';
  options.hidden.forEach((units, index) => {
    layers.push(new QuantDense(units, { inputQuantizer: index === 0 ? firstDenseQuantizer : 'ste_sign', name: `dense_${index}` }));
    layers.push(batchNorm(`batch_norm_${index}`));
    if ((options.dropout ?? 0) > 0) layers.push(new Dropout(options.dropout!, { name: `dropout_${index}` }));
  });
  const scoresQuantizer = options.convBlocks.length === 0 && options.hidden.length === 0 ? null : 'ste_sign';
  layers.push(new QuantDense(options.classes, { inputQuantizer: scoresQuantizer, name: 'scores' }));
  layers.push(batchNorm('scores_batch_norm'));

  return new Sequential(layers).build(options.inputShape, options.seed);
}

/**
 * Builds the `fast-mnist-convnet` preset: 32C3-MP2-64C3-MP2-FC256-10 on 28x28x1
 * MNIST images with VALID convolutions (28 -> 26 -> 13 -> 11 -> 5), the first
 * convolution on the real-valued input.
 */
export function fastMnistConvNet(seed: number): Sequential {
  return binaryConvNet({
    inputShape: [28, 28, 1],
    convBlocks: [
      { filters: 32, pool: true },
      { filters: 64, pool: true },
    ],
    padding: 'valid',
    hidden: [256],
    classes: 10,
    seed,
  });
}

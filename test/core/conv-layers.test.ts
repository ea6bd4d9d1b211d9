import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Flatten } from '../../sdk/layers/flatten.js';
import { GlobalAveragePooling2D } from '../../sdk/layers/global-average-pooling2d.js';
import type { ForwardContext, Layer } from '../../sdk/layers/layer.js';
import { MaxPool2D } from '../../sdk/layers/max-pool2d.js';
import { QuantConv2D } from '../../sdk/layers/quant-conv2d.js';
import { Random } from '../../sdk/random.js';
import { Tensor } from '../../sdk/tensor/tensor.js';
import { SeededRandom } from '../helpers/random.js';

const inference: ForwardContext = { training: false, random: new Random(0) };
const training: ForwardContext = { training: true, random: new Random(0) };

function randomTensor(random: SeededRandom, shape: number[], requiresGrad = true): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: size }, () => 2 * random.next() - 1), shape, requiresGrad);
}

/** loss = sum(layer(x) * weights), a linear read-out whose gradient is `weights`. */
function weightedLoss(layer: Layer, x: Tensor, weights: Float32Array, context: ForwardContext): number {
  const y = layer.forward(x, context);
  let loss = 0;
  for (let i = 0; i < y.size; i++) loss += y.data[i] * weights[i];
  return loss;
}

/**
 * Asserts that the autograd gradient of sum(layer(x) * weights) with respect to
 * `target` (x or a parameter) matches central finite differences at every element.
 */
function assertGradientMatches(layer: Layer, x: Tensor, target: Tensor, context: ForwardContext, step: number, tolerance: number): void {
  const probe = layer.forward(x, context);
  const random = new SeededRandom(99);
  const weights = Float32Array.from({ length: probe.size }, () => 2 * random.next() - 1);

  target.grad = null;
  const y = layer.forward(x, context);
  y.backward(weights);
  const analytic = Float32Array.from(target.grad!);

  const data = target.data as Float32Array;
  for (let i = 0; i < data.length; i++) {
    const saved = data[i];
    data[i] = saved + step;
    const plus = weightedLoss(layer, x, weights, context);
    data[i] = saved - step;
    const minus = weightedLoss(layer, x, weights, context);
    data[i] = saved;
    const numeric = (plus - minus) / (2 * step);
    assert.ok(Math.abs(numeric - analytic[i]) <= tolerance * Math.max(1, Math.abs(numeric)), `element ${i}: autograd ${analytic[i]}, finite difference ${numeric}`);
  }
}

describe('QuantConv2D', () => {
  for (const [padding, strides, padValue] of [
    ['same', 1, 1],
    ['same', 2, 0],
    ['valid', 1, 1],
    ['same', 1, -1],
  ] as const) {
    test(`float gradients ${padding} stride ${strides} pad ${padValue}`, () => {
      // Without quantizers the layer is a linear convolution, so central differences are exact up to float32 rounding.
      const conv = new QuantConv2D(3, 3, { padding, strides, padValue, kernelQuantizer: null, inputQuantizer: null, useBias: true });
      conv.build([5, 6, 2], new Random(1));
      const x = randomTensor(new SeededRandom(2), [2, 5, 6, 2]);

      assertGradientMatches(conv, x, x, inference, 0.25, 1e-3);
      assertGradientMatches(conv, x, conv.kernel, inference, 0.25, 1e-3);
      assertGradientMatches(conv, x, conv.bias!, inference, 0.25, 1e-3);
    });
  }

  test('output shape same and valid', () => {
    const same = new QuantConv2D(4, 3, { strides: 2 });
    const valid = new QuantConv2D(4, [3, 2], { padding: 'valid' });

    assert.deepEqual(same.outputShape([7, 8, 1]), [4, 4, 4]);
    assert.deepEqual(valid.outputShape([7, 8, 1]), [5, 7, 4]);
  });

  test('padding field case values', () => {
    // 1x3 input all +1, 1x3 kernel of latent 0.2 (sign +1), SAME, then a per-channel scale of 0.5.
    const expected = new Map([
      [0, [1.0, 1.5, 1.0]],
      [1, [1.5, 1.5, 1.5]],
      [-1, [0.5, 1.5, 0.5]],
    ]);
    for (const [padValue, values] of expected) {
      const conv = new QuantConv2D(1, [1, 3], { padValue: padValue as 1 | 0 | -1 });
      conv.build([1, 3, 1], new Random(1));
      conv.kernel.data.fill(0.2);
      const y = conv.forward(new Tensor(new Float32Array(3).fill(1), [1, 1, 3, 1]), inference);

      assert.deepEqual(Array.from(y.data, (v) => v * 0.5), values, `padValue ${padValue}`);
    }
  });

  test('straight-through gradients of latent kernel', () => {
    const conv = new QuantConv2D(2, 3);
    conv.build([4, 4, 2], new Random(3));
    conv.kernel.data[0] = 1.5;
    conv.kernel.data[1] = -1;
    const x = randomTensor(new SeededRandom(4), [1, 4, 4, 2]);
    conv.forward(x, training).backward(new Float32Array(32).fill(1));

    assert.equal(conv.kernel.grad![0], 0, 'latent weight 1.5 is outside the clip range');
    assert.notEqual(conv.kernel.grad![1], 0, 'latent weight -1 is on the inclusive clip edge');
  });

  test('Glorot learning-rate scale', () => {
    const conv = new QuantConv2D(8, 3);
    conv.build([6, 6, 4], new Random(1));

    assert.equal(conv.kernelLearningRateScale, Math.sqrt((9 * 4 + 9 * 8) / 1.5));
    assert.deepEqual(conv.parameters()[0].clip, 1);
  });

  test('rejects rank-1 input shape', () => {
    assert.throws(() => new QuantConv2D(2, 3).build([16], new Random(1)), /convolutions take NHWC images/);
  });
});

describe('MaxPool2D', () => {
  test('values and gradient to the maximum', () => {
    const pool = new MaxPool2D(2);
    const x = new Tensor(Float32Array.from([1, 5, 3, 2, 4, 0, 7, 8, 6, 9, -1, -2, 0, 0, 0, 0]), [1, 4, 4, 1], true);
    const y = pool.forward(x, inference);
    y.backward(Float32Array.from([1, 2, 3, 4]));

    assert.deepEqual(Array.from(y.data), [5, 8, 9, 0]);
    assert.deepEqual(Array.from(x.grad!), [0, 1, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 0, 4, 0]);
  });

  test('gradients match finite differences', () => {
    const pool = new MaxPool2D([2, 3], { strides: [1, 2] });
    const x = randomTensor(new SeededRandom(5), [2, 4, 7, 3]);

    // A small step, because this seed has two values 1e-4 apart in one window and a larger step would swap the maximum.
    assertGradientMatches(pool, x, x, inference, 1e-5, 2e-2);
  });
});

describe('Flatten and GlobalAveragePooling2D', () => {
  test('flatten keeps NHWC order', () => {
    const x = new Tensor(Float32Array.from({ length: 12 }, (_, i) => i), [1, 2, 3, 2]);
    const y = new Flatten().forward(x, inference);

    assert.deepEqual(y.shape, [1, 12]);
    assert.deepEqual(Array.from(y.data), Array.from({ length: 12 }, (_, i) => i));
  });

  test('global average pooling gradients', () => {
    const pool = new GlobalAveragePooling2D();
    const x = randomTensor(new SeededRandom(6), [2, 3, 2, 4]);
    const y = pool.forward(x, inference);

    assert.deepEqual(y.shape, [2, 4]);
    assert.ok(Math.abs(y.data[1] - (x.data[1] + x.data[5] + x.data[9] + x.data[13] + x.data[17] + x.data[21]) / 6) < 1e-6);
    assertGradientMatches(pool, x, x, inference, 1e-2, 1e-3);
  });
});

describe('BatchNorm over the last axis', () => {
  test('rank 4 equals rank 2 per channel', () => {
    const random = new SeededRandom(7);
    const image = randomTensor(random, [2, 3, 3, 4], false);
    const rows = new Tensor(image.data, [18, 4]);
    const normImage = new BatchNorm();
    const normRows = new BatchNorm();
    normImage.build([3, 3, 4], new Random(1));
    normRows.build([4], new Random(1));

    const fromImage = normImage.forward(image, training);
    const fromRows = normRows.forward(rows, training);

    assert.deepEqual(fromImage.shape, [2, 3, 3, 4]);
    assert.deepEqual(Array.from(fromImage.data), Array.from(fromRows.data));
    assert.deepEqual(Array.from(normImage.runningVariance), Array.from(normRows.runningVariance));
  });

  test('rank 4 training gradients', () => {
    const norm = new BatchNorm();
    norm.build([2, 3, 2], new Random(1));
    norm.gamma.data.set([0.7, -1.3]);
    const x = randomTensor(new SeededRandom(8), [2, 2, 3, 2]);

    assertGradientMatches(norm, x, x, training, 1e-2, 2e-2);
    assertGradientMatches(norm, x, norm.gamma, training, 1e-2, 2e-2);
  });
});

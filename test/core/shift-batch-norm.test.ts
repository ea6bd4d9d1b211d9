import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { compileModel } from '../../sdk/compile/compile-model.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { QuantDense } from '../../sdk/layers/dense.js';
import { Dropout } from '../../sdk/layers/dropout.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { ShiftBatchNorm } from '../../sdk/layers/shift-batch-norm.js';
import { ShiftAdaMax } from '../../sdk/optimizers/shift-adamax.js';
import { Random } from '../../sdk/random.js';
import { Tensor } from '../../sdk/tensor/tensor.js';
import { argmax } from '../../sdk/training/metrics.js';
import { fit } from '../../sdk/training/fit.js';
import { SeededRandom } from '../helpers/random.js';

const EPSILON = 1e-4;

function assertClose(actual: ArrayLike<number>, expected: number[], message: string, tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length, `${message}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${message}, element ${i}: got ${actual[i]}, expected ${expected[i]}`);
  }
}

/**
 * Two features over a batch of four, with gamma = [3, -0.3], beta = [0.5, 0]:
 *   feature 0: x = [1, 2, 3, 6], mean 3, c = [-2, -1, 0, 3], AP2(c) = [-2, -1, 0, 4],
 *     var = (4 + 1 + 0 + 12) / 4 = 4.25 (the exact variance is 3.5),
 *     AP2(1 / sqrt(4.2501)) = AP2(0.485) = 0.5, AP2(3) = 4
 *   feature 1: x = [0, 0, 0, 8], mean 2, c = [-2, -2, -2, 6], AP2(c) = [-2, -2, -2, 8],
 *     var = (4 + 4 + 4 + 48) / 4 = 15, AP2(1 / sqrt(15.0001)) = AP2(0.258) = 0.25, AP2(-0.3) = -0.25
 */
function tinyLayer(): { layer: ShiftBatchNorm; x: Tensor } {
  const layer = new ShiftBatchNorm({ momentum: 0.5, epsilon: EPSILON });
  layer.build([2], new Random(1));
  layer.gamma.data.set([3, -0.3]);
  layer.beta.data.set([0.5, 0]);
  const x = new Tensor(Float32Array.of(1, 0, 2, 0, 3, 0, 6, 8), [4, 2], true);
  return { layer, x };
}

describe('ShiftBatchNorm training forward', () => {
  test('tiny batch by hand', () => {
    const { layer, x } = tinyLayer();

    const y = layer.forward(x, { training: true, random: new Random(1) });

    // feature 0: 4 * 0.5 * c + 0.5; feature 1: -0.25 * 0.25 * c.
    assertClose(y.data, [-3.5, 0.125, -1.5, 0.125, 0.5, 0.125, 6.5, -0.375], 'output');
  });

  test('running statistics use the approximate variance', () => {
    const { layer, x } = tinyLayer();

    layer.forward(x, { training: true, random: new Random(1) });

    // momentum 0.5: mean 0.5 * 0 + 0.5 * [3, 2]; variance 0.5 * 1 + 0.5 * var * 4 / 3.
    assertClose(layer.runningMean, [1.5, 1], 'running mean');
    assertClose(layer.runningVariance, [0.5 + (0.5 * 4.25 * 4) / 3, 0.5 + (0.5 * 15 * 4) / 3], 'running variance', 1e-5);
  });
});

describe('ShiftBatchNorm on NHWC input', () => {
  test('channels normalize over batch and space', () => {
    // The tiny batch as [batch 2, height 1, width 2, channels 2]: each channel still has the same four values.
    const layer = new ShiftBatchNorm({ momentum: 0.5, epsilon: EPSILON });
    layer.build([1, 2, 2], new Random(1));
    layer.gamma.data.set([3, -0.3]);
    layer.beta.data.set([0.5, 0]);
    const x = new Tensor(Float32Array.of(1, 0, 2, 0, 3, 0, 6, 8), [2, 1, 2, 2]);

    const y = layer.forward(x, { training: true, random: new Random(1) });

    assert.deepEqual(y.shape, [2, 1, 2, 2]);
    assertClose(y.data, [-3.5, 0.125, -1.5, 0.125, 0.5, 0.125, 6.5, -0.375], 'output');
    assertClose(layer.runningMean, [1.5, 1], 'running mean');
  });
});

describe('ShiftBatchNorm backward', () => {
  test('tiny batch by hand', () => {
    const { layer, x } = tinyLayer();
    const y = layer.forward(x, { training: true, random: new Random(1) });

    // Seed gradient 1 on sample 0 of feature 0 and on sample 3 of feature 1.
    y.backward(Float32Array.of(1, 0, 0, 0, 0, 0, 0, 1));

    // dgamma = sum(g * xhat) with xhat = [-1, -0.5, 0, 1.5] and [-0.5, -0.5, -0.5, 1.5]; dbeta = sum(g).
    assertClose(layer.gamma.grad!, [-1, 1.5], 'dgamma');
    assertClose(layer.beta.grad!, [1, 1], 'dbeta');

    // dx = a * AP2(s) * (g - mean(g)) - a * s^3 * c * mean(g * c), s = 1 / sqrt(var + eps) before AP2.
    // Feature 0: a * AP2(s) = 2, mean(g) = 0.25, mean(g * c) = -0.5.
    // Feature 1: a * AP2(s) = -0.0625, mean(g) = 0.25, mean(g * c) = 1.5.
    const s0 = 1 / Math.sqrt(4.25 + EPSILON);
    const s1 = 1 / Math.sqrt(15 + EPSILON);
    const dx0 = [0.75, -0.25, -0.25, -0.25].map((g, i) => 2 * g - 4 * s0 ** 3 * [-2, -1, 0, 3][i] * -0.5);
    const dx1 = [-0.25, -0.25, -0.25, 0.75].map((g, i) => -0.0625 * g + 0.25 * s1 ** 3 * [-2, -2, -2, 6][i] * 1.5);
    assertClose(x.grad!, [dx0[0], dx1[0], dx0[1], dx1[1], dx0[2], dx1[2], dx0[3], dx1[3]], 'dx');

    // Feature 0 by number: s0^3 = 0.11413, dx = [1.5 - 0.45652, -0.5 - 0.22826, -0.5, -0.5 + 0.68478].
    assertClose(x.grad!.filter((_g, i) => i % 2 === 0), [1.04348, -0.72826, -0.5, 0.18478], 'dx of feature 0', 1e-4);
  });

  test('input gradient sums to zero', () => {
    // The output does not change when a constant is added to a feature, so neither may the loss.
    const { layer, x } = tinyLayer();
    const y = layer.forward(x, { training: true, random: new Random(1) });

    y.backward(Float32Array.of(0.3, -1, 2, 0.5, -0.7, 0.25, 1, -2));

    const grad = x.grad!;
    for (let f = 0; f < 2; f++) {
      const total = grad[f] + grad[f + 2] + grad[f + 4] + grad[f + 6];
      assert.ok(Math.abs(total) < 1e-6, `feature ${f}: input gradients sum to ${total}`);
    }
  });
});

describe('ShiftBatchNorm inference', () => {
  test('affine map uses shifts of running statistics', () => {
    const { layer, x } = tinyLayer();
    layer.forward(x, { training: true, random: new Random(1) });

    // running variance [3.3333, 10.5]: AP2(1 / sqrt(3.3334)) = AP2(0.548) = 0.5, AP2(1 / sqrt(10.5001)) = AP2(0.309) = 0.25.
    // scale = [4 * 0.5, -0.25 * 0.25]; shift = beta - running_mean * scale = [0.5 - 1.5 * 2, 0 + 1 * 0.0625].
    const { scale, shift } = layer.inferenceAffine();
    assert.deepEqual(Array.from(scale), [2, -0.0625]);
    assert.deepEqual(Array.from(shift), [-2.5, 0.0625]);

    const y = layer.forward(new Tensor(Float32Array.of(1, 8), [1, 2]), { training: false, random: new Random(1) });
    assert.deepEqual(Array.from(y.data), [-0.5, -0.4375]);
  });

  test('zero gamma gives constant beta', () => {
    const { layer } = tinyLayer();
    layer.gamma.data.set([0, 0]);
    layer.beta.data.set([0.5, -0.25]);

    const y = layer.forward(new Tensor(Float32Array.of(7, -3), [1, 2]), { training: false, random: new Random(1) });

    assert.deepEqual(Array.from(y.data), [0.5, -0.25]);
  });
});

describe('ShiftBatchNorm packed compile', () => {
  const FEATURES = 64;
  const CLASSES = 4;

  /** Seeded uint8 samples: noisy copies of one random prototype per class. */
  function syntheticUint8(seed: number, count: number): { samples: Uint8Array; labels: Int32Array } {
    const random = new SeededRandom(seed);
    const prototypes = Array.from({ length: CLASSES }, () => Float64Array.from({ length: FEATURES }, () => 256 * random.next()));
    const samples = new Uint8Array(count * FEATURES);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      labels[i] = i % CLASSES;
      for (let f = 0; f < FEATURES; f++) {
        const value = prototypes[labels[i]][f] + 120 * random.next() - 60;
        samples[i * FEATURES + f] = Math.min(255, Math.max(0, Math.floor(value)));
      }
    }
    return { samples, labels };
  }

  test('packed scores match predict', () => {
    const model = new Sequential([
      new QuantDense(32, { inputQuantizer: null, name: 'dense_input' }),
      new ShiftBatchNorm({ name: 'bn_input' }),
      new QuantDense(32, { name: 'dense_hidden' }),
      new ShiftBatchNorm({ name: 'bn_hidden' }),
      new Dropout(0.2, { name: 'dropout_hidden' }),
      new QuantDense(CLASSES, { name: 'dense_output' }),
      new ShiftBatchNorm({ name: 'bn_output' }),
    ]).build([FEATURES], 3);
    const train = syntheticUint8(41, 256);
    const heldOut = syntheticUint8(42, 64);
    const toInput = (samples: Uint8Array): Float32Array => Float32Array.from(samples, (v) => v / 256);

    fit(model, toInput(train.samples), train.labels, {
      epochs: 2,
      batchSize: 32,
      optimizer: new ShiftAdaMax({ learningRate: 2 ** -7 }),
      loss: 'squared_hinge',
      seed: 5,
    });

    for (const layer of model.layers) {
      if (!(layer instanceof ShiftBatchNorm)) continue;
      assert.ok(layer.runningMean.some((v) => v !== 0), `${layer.name} running mean is still 0`);
    }
    const packed = compileModel(model);
    for (const samples of [train.samples, heldOut.samples]) {
      const count = samples.length / FEATURES;
      const expected = model.predict(toInput(samples));
      const actual = runPacked(packed, new ReferenceBackend(), samples);
      for (let i = 0; i < expected.length; i++) {
        const tolerance = 1e-5 * Math.max(Math.abs(expected[i]), 1);
        assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `sample ${Math.floor(i / CLASSES)}, class ${i % CLASSES}: packed ${actual[i]}, predict ${expected[i]}`);
      }
      assert.deepEqual(Array.from(argmax(actual, count, CLASSES)), Array.from(argmax(expected, count, CLASSES)));
    }
  });
});

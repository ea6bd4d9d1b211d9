import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { setBackend } from '../../sdk/backends/active-backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { QnnError } from '../../sdk/errors.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense, QuantDense } from '../../sdk/layers/dense.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { Random } from '../../sdk/random.js';
import { Tensor } from '../../sdk/tensor/tensor.js';
import { fit } from '../../sdk/training/fit.js';
import { type TrainingContext, checkGradientBits, dequantizeGradient, quantizeGradient } from '../../sdk/training/gradient-quantization.js';

/** Returns a stream that always draws `value`, to pin the stochastic rounding. */
function constantRandom(value: number): Random {
  const random = new Random(1);
  random.next = () => value;
  return random;
}

describe('quantizeGradient', () => {
  test('rounding down and up by the draw', () => {
    // bits 3: maxCode 3, scale = 0.6 / 3 = 0.2; g / scale = 3, -1.5, 0.5, 0.
    const grad = Float32Array.of(0.6, -0.3, 0.1, 0);

    const low = quantizeGradient(grad, 3, constantRandom(0.4));
    assert.equal(low.maxCode, 3);
    assert.ok(Math.abs(low.scale - 0.2) < 1e-7, `scale ${low.scale}`);
    // floor(3.4) = 3, floor(-1.1) = -2, floor(0.9) = 0, floor(0.4) = 0.
    assert.deepEqual(Array.from(low.codes), [3, -2, 0, 0]);

    const high = quantizeGradient(grad, 3, constantRandom(0.6));
    // floor(3.6) = 3, floor(-0.9) = -1, floor(1.1) = 1, floor(0.6) = 0.
    assert.deepEqual(Array.from(high.codes), [3, -1, 1, 0]);
  });

  test('largest magnitude maps to max code', () => {
    const quantized = quantizeGradient(Float32Array.of(-0.5, 0.125, 0.25), 6, new Random(3));
    assert.equal(quantized.maxCode, 31);
    assert.equal(quantized.codes[0], -31);
    assert.equal(quantized.scale, 0.5 / 31);
  });

  test('mean of codes is unbiased', () => {
    // 0.1 / (1 / 31) = 3.1 steps: the code is 3 or 4 with probabilities 0.9 and 0.1.
    const draws = 20000;
    const grad = new Float32Array(draws).fill(0.1);
    grad[0] = 1;
    const quantized = quantizeGradient(grad, 6, new Random(7));
    const values = dequantizeGradient(quantized);
    let sum = 0;
    for (let i = 1; i < draws; i++) sum += values[i];
    const mean = sum / (draws - 1);
    // The standard deviation of the mean is sqrt(0.09 / 20000) * scale = 0.0021 * scale; 5 of them is 0.00034.
    assert.ok(Math.abs(mean - 0.1) < 0.00034, `mean ${mean}`);
  });

  test('zero gradient has zero scale', () => {
    const quantized = quantizeGradient(new Float32Array(4), 6, new Random(1));
    assert.equal(quantized.scale, 0);
    assert.deepEqual(Array.from(quantized.codes), [0, 0, 0, 0]);
  });

  test('bit width range', () => {
    assert.throws(() => checkGradientBits('layer_a', 1), /layer_a: gradientBits must be an integer from 2 to 8, got 1/);
    assert.throws(() => checkGradientBits('layer_a', 9), /got 9/);
    assert.throws(() => checkGradientBits('layer_a', 5.5), /got 5.5/);
    assert.doesNotThrow(() => checkGradientBits('layer_a', 2));
  });
});

describe('dense layer with quantized gradients', () => {
  setBackend(new ReferenceBackend());

  /** Runs forward and backward on a binary-input layer and returns the kernel and input gradients. */
  function gradients(bitwiseBackward: boolean, gradientBits: number | undefined): { kernel: Float32Array; input: Float32Array } {
    const layer = new QuantDense(5, { name: 'hidden', bitwiseBackward });
    layer.build([37], new Random(2));
    const x = new Tensor(Float32Array.from({ length: 4 * 37 }, (_v, i) => Math.sin(i)), [4, 37], true);
    const upstream = Float32Array.from({ length: 4 * 5 }, (_v, i) => Math.cos(3 * i) / 100);
    const context: TrainingContext = { training: true, random: new Random(9), gradientBits };
    layer.forward(x, context).backward(upstream);
    return { kernel: layer.kernel.grad!, input: x.grad! };
  }

  test('kernel gradient uses the quantized output gradient', () => {
    const quantizedGrad = gradients(true, 6);
    const floatGrad = gradients(true, undefined);

    // Reproduce the layer's rounding draws: the same seed and the same order of draws.
    const upstream = Float32Array.from({ length: 4 * 5 }, (_v, i) => Math.cos(3 * i) / 100);
    const expectedCodes = dequantizeGradient(quantizeGradient(upstream, 6, new Random(9)));
    const signs = Float32Array.from({ length: 4 * 37 }, (_v, i) => (Math.sin(i) < 0 ? -1 : 1));
    for (let k = 0; k < 37; k++) {
      for (let n = 0; n < 5; n++) {
        let expected = 0;
        for (let m = 0; m < 4; m++) expected += signs[m * 37 + k] * expectedCodes[m * 5 + n];
        const actual = quantizedGrad.kernel[k * 5 + n];
        // The straight-through mask of the sign keeps kernel entries with |w| <= 1, which is all of them after init.
        assert.ok(Math.abs(actual - expected) <= 1e-7, `dW[${k}, ${n}] = ${actual}, expected ${expected}`);
      }
    }
    assert.notDeepEqual(Array.from(quantizedGrad.kernel), Array.from(floatGrad.kernel));
  });

  test('input gradient stays float', () => {
    assert.deepEqual(Array.from(gradients(true, 6).input), Array.from(gradients(true, undefined).input));
  });

  test('bit-wise and float GEMM agree', () => {
    const bitwise = gradients(true, 6).kernel;
    const float = gradients(false, 6).kernel;
    for (let i = 0; i < bitwise.length; i++) assert.ok(Math.abs(bitwise[i] - float[i]) <= 1e-7, `dW[${i}]: ${bitwise[i]} vs ${float[i]}`);
  });

  test('float input falls back to float GEMM', () => {
    // A float input cannot take the bit-plane path, so the layer uses the float GEMM on the quantized gradient.
    const layer = new Dense(3, { name: 'float_input', bitwiseBackward: true });
    layer.build([4], new Random(1));
    const x = new Tensor(Float32Array.of(0.5, -0.25, 2, 1), [1, 4]);
    layer.forward(x, { training: true, random: new Random(1), gradientBits: 4 } as TrainingContext).backward(Float32Array.of(1, -1, 0.5));
    // maxCode 7, scale 1/7, codes exactly 7, -7, 3.5 -> 3 or 4; row 0 of dW is 0.5 * (1, -1, q).
    assert.equal(layer.kernel.grad![0], 0.5);
    assert.equal(layer.kernel.grad![1], -0.5);
  });

  test('fit rejects invalid gradient bits', () => {
    const model = new Sequential([new Dense(2, { name: 'scores' })]).build([3], 1);
    assert.throws(
      () => fit(model, new Float32Array(6), [0, 1], { epochs: 1, batchSize: 2, optimizer: new Adam(), loss: 'softmax_cross_entropy', seed: 1, gradientBits: 9 }),
      (error: Error) => error instanceof QnnError && /fit: gradientBits must be an integer from 2 to 8, got 9/.test(error.message),
    );
  });

  test('fit with 6-bit gradients learns', () => {
    // Two classes split by the sign of the first feature. With float gradients this model reaches 0.897
    // training accuracy in 6 epochs; 6-bit gradients must stay close, where chance is 0.5.
    const random = new Random(5);
    const count = 400;
    const inputs = new Float32Array(count * 8);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < 8; j++) inputs[i * 8 + j] = random.uniform(-1, 1);
      labels[i] = inputs[i * 8] < 0 ? 0 : 1;
    }
    const model = new Sequential([
      new QuantDense(32, { inputQuantizer: null, name: 'dense_input' }),
      new BatchNorm({ name: 'batch_norm_input' }),
      new QuantDense(2, { name: 'scores' }),
      new BatchNorm({ name: 'batch_norm_scores' }),
    ]).build([8], 1);
    const reports = fit(model, inputs, labels, { epochs: 6, batchSize: 50, optimizer: new Adam({ learningRate: 0.01 }), loss: 'softmax_cross_entropy', seed: 1, gradientBits: 6 });
    const final = reports[reports.length - 1];
    assert.ok(final.accuracy >= 0.85, `training accuracy ${final.accuracy} after 6 epochs`);
  });
});

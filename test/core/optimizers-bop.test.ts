import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { Parameter } from '../../sdk/layers/layer.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { Bop } from '../../sdk/optimizers/bop.js';
import { Tensor } from '../../sdk/tensor/tensor.js';

function parameter(name: string, values: number[], clip: number | null): Parameter {
  return { name, value: new Tensor(Float32Array.from(values), [values.length], true), learningRateScale: 1, clip };
}

describe('Bop', () => {
  test('Larq defaults', () => {
    const optimizer = new Bop();

    assert.equal(optimizer.gamma, 1e-4);
    assert.equal(optimizer.threshold, 1e-8);
    assert.ok(optimizer.otherOptimizer instanceof Adam);
  });

  test('two steps of flips by hand', () => {
    // gamma = 0.5 and tau = 0.125; every value is a sum of powers of two, so float32 represents it exactly.
    const optimizer = new Bop({ gamma: 0.5, threshold: 0.125 });
    const kernel = parameter('kernel', [0.3, -0.4, 0.5, -0.2, 0, -0, 0.7], 1);

    // m = 0.5 g = [0.25, -0.25, -0.25, 0.25, 0.25, 0.25, 0.125].
    // Same sign and |m| > tau: 0.3 and -0.4 flip; both zeros have sign +1 and flip to -clip.
    // Opposite sign: 0.5 and -0.2 stay. |m| = tau: 0.7 stays.
    kernel.value.grad = Float32Array.of(0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 0.25);
    optimizer.apply([kernel]);
    assert.deepEqual(Array.from(kernel.value.data), [-0.3, 0.4, 0.5, -0.2, -1, -1, 0.7].map(Math.fround));

    // m = 0.5 m + 0.5 g = [0.375, -0.125, -0.125, 0.125, 0.125, 0.125, 0.1875].
    // Only 0.7 flips: m = 0.1875 > tau with sign +1. Every other weight, the flipped -0.3 among them,
    // now has an m of the opposite sign, so the moving average remembers step 1.
    kernel.value.grad = Float32Array.of(0.5, 0, 0, 0, 0, 0, 0.25);
    optimizer.apply([kernel]);
    assert.deepEqual(Array.from(kernel.value.data), [-0.3, 0.4, 0.5, -0.2, -1, -1, -0.7].map(Math.fround));
  });

  test('zero flips to minus clip', () => {
    const optimizer = new Bop({ gamma: 1, threshold: 0 });
    const kernel = parameter('kernel', [0], 0.5);
    kernel.value.grad = Float32Array.of(1);

    optimizer.apply([kernel]);

    assert.equal(kernel.value.data[0], -0.5);
  });

  test('threshold zero flips any matching sign', () => {
    const optimizer = new Bop({ gamma: 1, threshold: 0 });
    const kernel = parameter('kernel', [0.5, -0.5, 0.5], 1);
    kernel.value.grad = Float32Array.of(1e-30, -1e-30, 0);

    optimizer.apply([kernel]);

    // m = 0 equals tau = 0 and does not flip.
    assert.deepEqual(Array.from(kernel.value.data), [-0.5, 0.5, 0.5]);
  });

  test('delegates other parameters', () => {
    // Adam's first step is learningRate * g / (|g| + eps'), almost exactly -0.01 for g = 2.
    const adam = new Adam({ learningRate: 0.01 });
    const optimizer = new Bop({ gamma: 1, threshold: 0, otherOptimizer: adam });
    const kernel = parameter('kernel', [0.5], 1);
    const bias = parameter('bias', [0], null);
    kernel.value.grad = Float32Array.of(2);
    bias.value.grad = Float32Array.of(2);

    optimizer.apply([kernel, bias]);

    assert.equal(kernel.value.data[0], -0.5);
    assert.ok(Math.abs(bias.value.data[0] + 0.01) < 1e-6, `bias moved to ${bias.value.data[0]}, expected -0.01`);
    assert.equal(kernel.value.grad, null);
    assert.equal(bias.value.grad, null);
  });

  test('learning rate is the other optimizer rate', () => {
    const adam = new Adam({ learningRate: 0.01 });
    const optimizer = new Bop({ otherOptimizer: adam });

    optimizer.learningRate = 0.05;

    assert.equal(adam.learningRate, 0.05);
    assert.equal(optimizer.learningRate, 0.05);
    assert.equal(optimizer.gamma, 1e-4);
  });

  test('rejects invalid gamma and threshold', () => {
    assert.throws(() => new Bop({ gamma: 0 }), /gamma must be in \(0, 1\], got 0/);
    assert.throws(() => new Bop({ gamma: 1.5 }), /gamma must be in \(0, 1\], got 1.5/);
    assert.throws(() => new Bop({ threshold: -1 }), /threshold must be a number >= 0, got -1/);
    assert.throws(() => new Bop({ threshold: NaN }), /threshold must be a number >= 0, got NaN/);
  });
});

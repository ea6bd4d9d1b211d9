import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { Parameter } from '../../sdk/layers/layer.js';
import { ShiftAdaMax } from '../../sdk/optimizers/shift-adamax.js';
import { Tensor } from '../../sdk/tensor/tensor.js';

function parameter(values: number[], options: { learningRateScale?: number; clip?: number | null } = {}): Parameter {
  return {
    name: 'w',
    value: new Tensor(Float32Array.from(values), [values.length], true),
    learningRateScale: options.learningRateScale ?? 1,
    clip: options.clip ?? null,
  };
}

function assertClose(actual: ArrayLike<number>, expected: number[], message: string): void {
  assert.equal(actual.length, expected.length, `${message}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-6, `${message}, element ${i}: got ${actual[i]}, expected ${expected[i]}`);
  }
}

describe('ShiftAdaMax', () => {
  test('default settings', () => {
    const optimizer = new ShiftAdaMax();

    assert.equal(optimizer.learningRate, 2 ** -10);
    assert.equal(optimizer.beta1, 1 - 2 ** -3);
    assert.equal(optimizer.beta2, 1 - 2 ** -10);
  });

  test('two steps by hand', () => {
    // alpha = 2^-4, beta1 = 0.75, beta2 = 0.5.
    const optimizer = new ShiftAdaMax({ learningRate: 2 ** -4, beta1: 0.75, beta2: 0.5 });
    const w = parameter([0.5, -0.25, 0.1, 0]);

    // Step 1: rate AP2(0.0625 / 0.25) = 0.25; m = 0.25 g = [0.05, -0.075, 0.0125, 0];
    // v = |g|; AP2(1/v) = AP2([5, 3.33, 20]) = [4, 4, 16]; v = 0 gives no step.
    w.value.grad = Float32Array.of(0.2, -0.3, 0.05, 0);
    optimizer.apply([w]);
    assertClose(w.value.data, [0.45, -0.175, 0.05, 0], 'after step 1');

    // Step 2: rate AP2(0.0625 / 0.4375 = 0.143) = 0.125;
    // m = 0.75 m + 0.25 g = [-0.0125, -0.13125, 0.009375, 0.1];
    // v = max(0.5 v, |g|) = [0.2, 0.3, 0.025, 0.4]; AP2(1/v) = [4, 4, 32, 2].
    w.value.grad = Float32Array.of(-0.2, -0.3, 0, 0.4);
    optimizer.apply([w]);
    assertClose(w.value.data, [0.45625, -0.109375, 0.0125, -0.025], 'after step 2');
  });

  test('clears the gradient', () => {
    const optimizer = new ShiftAdaMax();
    const w = parameter([0.5]);
    w.value.grad = Float32Array.of(1);

    optimizer.apply([w]);

    assert.equal(w.value.grad, null);
  });

  test('skips parameters without gradient', () => {
    const optimizer = new ShiftAdaMax();
    const w = parameter([0.5, -0.5]);

    optimizer.apply([w]);

    assert.deepEqual(Array.from(w.value.data), [0.5, -0.5]);
  });

  test('rounds the scaled rate to a power of two', () => {
    // alpha * scale / (1 - beta1) = 0.0625 * 3 / 0.25 = 0.75, and AP2(0.75) = 1.
    // m = 0.25 * 0.5 = 0.125, AP2(1 / 0.5) = 2, so the step is 1 * 0.125 * 2 = 0.25.
    // alpha * AP2(1 / (1 - beta1)) * scale would give 0.75 * 0.125 * 2 = 0.1875.
    const optimizer = new ShiftAdaMax({ learningRate: 2 ** -4, beta1: 0.75, beta2: 0.5 });
    const w = parameter([0.5], { learningRateScale: 3 });
    w.value.grad = Float32Array.of(0.5);

    optimizer.apply([w]);

    assertClose(w.value.data, [0.25], 'after one step');
  });

  test('clips latent weights', () => {
    // Same step of 0.25 as above, upward, from 0.9 and from -0.1: 1.15 is clipped to 1.
    const optimizer = new ShiftAdaMax({ learningRate: 2 ** -4, beta1: 0.75, beta2: 0.5 });
    const w = parameter([0.9, -0.1], { learningRateScale: 3, clip: 1 });
    w.value.grad = Float32Array.of(-0.5, -0.5);

    optimizer.apply([w]);

    assertClose(w.value.data, [1, 0.15], 'after one step');
  });

  test('rejects beta outside [0, 1)', () => {
    assert.throws(() => new ShiftAdaMax({ beta1: 1 }), /beta1 must be in \[0, 1\), got 1/);
    assert.throws(() => new ShiftAdaMax({ beta2: -0.5 }), /beta2 must be in \[0, 1\), got -0.5/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { roundHalfToEven } from '../../sdk/quantizers/rounding.js';
import { steSign } from '../../sdk/quantizers/ste-sign.js';
import { stochasticBinarize } from '../../sdk/quantizers/stochastic-binarize.js';
import { clipWeights } from '../../sdk/quantizers/weight-clip.js';
import { Random } from '../../sdk/random.js';
import { Tensor } from '../../sdk/tensor/tensor.js';

/** hard_sigmoid(x) = clip((x + 1) / 2, 0, 1), the probability of +1 in stochastic binarization. */
function hardSigmoid(x: number): number {
  return Math.min(1, Math.max(0, (x + 1) / 2));
}

/** Returns the gradient that reaches x when `quantize(x)` backpropagates `upstream`. */
function gradientThrough(quantize: (x: Tensor) => Tensor, values: number[], upstream: number[]): number[] {
  const x = new Tensor(Float32Array.from(values), [values.length], true);
  quantize(x).backward(Float32Array.from(upstream));
  return Array.from(x.grad!);
}

describe('steSign', () => {
  // sign(0) = +1, also for -0.0: a three-valued sign would turn the network ternary.
  const signedZeroInput = Float32Array.of(-2, -0.0, 0.0, 1e-8, 3);

  test('steSign of signed zeros', () => {
    assert.ok(Object.is(signedZeroInput[1], -0), 'the input must hold a float32 -0.0');
    assert.ok(signedZeroInput[3] > 0, '1e-8 must stay nonzero in float32');

    const output = steSign(new Tensor(signedZeroInput, [5])).toArray();

    assert.deepEqual(output, [-1, 1, 1, 1, 1]);
  });

  test('packSigns of signed zeros', () => {
    // Bit 1 means -1 and element i sits in bit i, so only element 0 (-2) sets a bit.
    const packed = new ReferenceBackend().packSigns(signedZeroInput, 1, 5);

    assert.deepEqual(Array.from(packed), [0b1]);
  });

  test('straight-through gradient at clip edge', () => {
    const grad = gradientThrough((x) => steSign(x), [-2, -1.5, -1, 0.1, 0.9, 1.5, 2], [1, 1, 1, 1, 1, 1, 1]);

    assert.deepEqual(grad, [0, 0, 1, 1, 1, 0, 0]);
  });

  test('straight-through gradient at ±1 exactly', () => {
    const grad = gradientThrough((x) => steSign(x), [-1, 1], [1, 1]);

    assert.deepEqual(grad, [1, 1]);
  });

  test('straight-through gradient just past ±1', () => {
    // The float32 neighbours of ±1 on the outside are ±(1 + 2^-23).
    const justOutside = 1 + 2 ** -23;

    const grad = gradientThrough((x) => steSign(x), [-justOutside, justOutside], [1, 1]);

    assert.deepEqual(grad, [0, 0]);
  });

  test('straight-through gradient keeps upstream value', () => {
    const grad = gradientThrough((x) => steSign(x), [-0.5, 0, 0.75, 3], [0.25, -2, 1.5, 4]);

    assert.deepEqual(grad, [0.25, -2, 1.5, 0]);
  });

  test('inside-clip gradient adds to existing', () => {
    // All |x| <= 1 takes the whole-gradient path; a second use of x must add, not replace.
    const x = new Tensor(Float32Array.of(-1, -0.25, 0, 0.5, 1), [5], true);
    steSign(x).backward(Float32Array.of(0.5, -1, 2, 3, -4));
    steSign(x).backward(Float32Array.of(1, 1, 1, 1, 1));

    assert.deepEqual(Array.from(x.grad!), [1.5, 0, 3, 4, -3]);
  });

  test('straight-through gradient of a NaN input is masked, not passed whole', () => {
    const grad = gradientThrough((x) => steSign(x), [0.5, Number.NaN], [2, 3]);

    assert.deepEqual(grad, [2, 0]);
  });

  test('steSign with custom clip', () => {
    const grad = gradientThrough((x) => steSign(x, 0.5), [-0.6, -0.5, 0.4, 0.5, 0.6], [1, 1, 1, 1, 1]);

    assert.deepEqual(grad, [0, 1, 1, 1, 0]);
  });
});

describe('roundHalfToEven', () => {
  const ties = [0.5, 1.5, 2.5, -0.5, -2.5];

  test('roundHalfToEven of ties', () => {
    assert.deepEqual(ties.map(roundHalfToEven), [0, 2, 2, 0, -2]);
  });

  test('Math.round differs on ties', () => {
    // A regression from roundHalfToEven to Math.round would turn [0, 2, 2, 0, -2] into this.
    assert.deepEqual(ties.map(Math.round), [1, 2, 3, -0, -2]);
    assert.notDeepEqual(ties.map(Math.round), [0, 2, 2, 0, -2]);
  });

  test('roundHalfToEven off ties', () => {
    const inputs = [0.49, 0.51, 1.2, 3.7, -0.4, -1.2, -1.7, -3.5, 7, -8];

    assert.deepEqual(inputs.map(roundHalfToEven), [0, 1, 1, 4, 0, -1, -2, -4, 7, -8]);
  });
});

describe('stochasticBinarize', () => {
  test('stochasticBinarize same seed repeats', () => {
    const x = new Tensor(Float32Array.from({ length: 64 }, (_v, i) => -1.2 + i * 0.04), [64]);

    const first = stochasticBinarize(x, new Random(5)).toArray();
    const second = stochasticBinarize(x, new Random(5)).toArray();

    assert.deepEqual(first, second);
  });

  test('stochasticBinarize other seed differs', () => {
    const x = new Tensor(new Float32Array(64), [64]);

    const first = stochasticBinarize(x, new Random(5)).toArray();
    const second = stochasticBinarize(x, new Random(6)).toArray();

    assert.notDeepEqual(first, second);
  });

  test('stochasticBinarize saturates beyond ±1', () => {
    const draws = 2000;
    const high = new Tensor(new Float32Array(draws).fill(1), [draws]);
    const farHigh = new Tensor(new Float32Array(draws).fill(7.5), [draws]);
    const low = new Tensor(new Float32Array(draws).fill(-1), [draws]);
    const farLow = new Tensor(new Float32Array(draws).fill(-7.5), [draws]);
    const random = new Random(11);

    assert.ok(stochasticBinarize(high, random).toArray().every((v) => v === 1), 'x = 1 gave a -1');
    assert.ok(stochasticBinarize(farHigh, random).toArray().every((v) => v === 1), 'x = 7.5 gave a -1');
    assert.ok(stochasticBinarize(low, random).toArray().every((v) => v === -1), 'x = -1 gave a +1');
    assert.ok(stochasticBinarize(farLow, random).toArray().every((v) => v === -1), 'x = -7.5 gave a +1');
  });

  test('stochasticBinarize frequency matches hard_sigmoid', () => {
    // 20000 draws give a standard error of sqrt(p (1 - p) / 20000) <= 0.0036, so 0.01 is about 3 sigma.
    const draws = 20000;
    for (const value of [0.5, 0, -0.6]) {
      const x = new Tensor(new Float32Array(draws).fill(value), [draws]);

      const output = stochasticBinarize(x, new Random(1234)).toArray();
      const frequency = output.filter((v) => v === 1).length / draws;

      assert.ok(output.every((v) => v === 1 || v === -1), `x = ${value} gave a value other than ±1`);
      assert.ok(
        Math.abs(frequency - hardSigmoid(value)) <= 0.01,
        `x = ${value}: +1 frequency ${frequency}, hard_sigmoid gives ${hardSigmoid(value)}`,
      );
    }
  });

  test('stochasticBinarize straight-through gradient', () => {
    const grad = gradientThrough((x) => stochasticBinarize(x, new Random(3)), [-2, -1, -0.3, 0.4, 1, 1.5], [1, 1, 1, 1, 1, 1]);

    assert.deepEqual(grad, [0, 1, 1, 1, 1, 0]);
  });
});

describe('clipWeights', () => {
  test('clipWeights default clip', () => {
    const weights = Float32Array.of(-3, -1, -0.5, -0.0, 0.5, 1, 1.0001, 3);

    clipWeights(weights);

    assert.deepEqual(Array.from(weights), [-1, -1, -0.5, -0, 0.5, 1, 1, 1]);
  });

  test('clipWeights custom clip', () => {
    const weights = Float32Array.of(-0.75, -0.25, 0.25, 0.5, 0.75);

    clipWeights(weights, 0.5);

    assert.deepEqual(Array.from(weights), [-0.5, -0.25, 0.25, 0.5, 0.5]);
  });
});

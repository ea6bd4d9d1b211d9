import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { QnnError } from '../../sdk/errors.js';
import { dorefaActivations, dorefaWeights, quantizeK } from '../../sdk/quantizers/dorefa.js';
import { linearQuant, linearQuantRange } from '../../sdk/quantizers/linear-quant.js';
import { logQuant, logQuantExponentRange } from '../../sdk/quantizers/log-quant.js';
import { ternarize } from '../../sdk/quantizers/ternary.js';
import { Tensor } from '../../sdk/tensor/tensor.js';

function quantizeValues(quantize: (x: Tensor) => Tensor, values: number[]): number[] {
  return quantize(new Tensor(Float32Array.from(values), [values.length])).toArray();
}

/** Returns the gradient that reaches x when `quantize(x)` backpropagates `upstream`. */
function gradientThrough(quantize: (x: Tensor) => Tensor, values: number[], upstream: number[]): number[] {
  const x = new Tensor(Float32Array.from(values), [values.length], true);
  quantize(x).backward(Float32Array.from(upstream));
  return Array.from(x.grad!);
}

/** Returns the next float32 above a positive float32 value. */
function nextFloat32Up(value: number): number {
  const buffer = Float32Array.of(value);
  new Uint32Array(buffer.buffer)[0]++;
  return buffer[0];
}

function assertClose(actual: number[], expected: number[], tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length, 'length differs');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `element ${i}: got ${actual[i]}, expected ${expected[i]}`);
  }
}

const f32 = (values: number[]): number[] => values.map(Math.fround);

describe('ternarize', () => {
  test('ternarize default threshold', () => {
    const output = quantizeValues((x) => ternarize(x), [-2, -1, -0.6, -0.5, 0, 0.5, 0.6, 1, 2]);

    assert.deepEqual(output, [-1, -1, -1, 0, 0, 0, 1, 1, 1]);
  });

  test('ternarize custom threshold', () => {
    const output = quantizeValues((x) => ternarize(x, 0.25), [-0.3, -0.25, 0.25, 0.3]);

    assert.deepEqual(output, [-1, 0, 0, 1]);
  });

  test('ternarize gradient at clip edge', () => {
    const grad = gradientThrough((x) => ternarize(x), [-2, -1, -0.5, 0, 0.5, 1, 2], [1, 1, 1, 1, 1, 1, 1]);

    assert.deepEqual(grad, [0, 1, 1, 1, 1, 1, 0]);
  });

  test('ternarize gradient just past clip', () => {
    const justOutside = nextFloat32Up(1);

    const grad = gradientThrough((x) => ternarize(x), [-justOutside, justOutside], [1, 1]);

    assert.deepEqual(grad, [0, 0]);
  });

  test('ternarize gradient keeps upstream value', () => {
    const grad = gradientThrough((x) => ternarize(x, 0.5, 0.5), [-0.6, -0.5, 0.2, 0.5, 0.6], [3, -2, 0.25, 4, 5]);

    assert.deepEqual(grad, [0, -2, 0.25, 4, 0]);
  });

  test('ternarize rejects negative threshold', () => {
    const x = new Tensor(Float32Array.of(0), [1]);

    assert.throws(() => ternarize(x, -0.1), (error: Error) => error instanceof QnnError && /-0\.1/.test(error.message));
  });
});

describe('linearQuant', () => {
  // Ties x / step = [0.5, 1.5, 2.5, -0.5, -2.5] with step = 0.25, all exact in float32.
  const step = 0.25;
  const ties = [0.125, 0.375, 0.625, -0.125, -0.625];

  test('linearQuant rounds ties to even', () => {
    const output = quantizeValues((x) => linearQuant(x, 4, step), ties);

    assert.deepEqual(output, [0, 2, 2, 0, -2].map((code) => code * step));
  });

  test('linearQuant differs from Math.round', () => {
    const mathRoundCodes = ties.map((value) => Math.round(value / step));
    const output = quantizeValues((x) => linearQuant(x, 4, step), ties);

    assert.deepEqual(mathRoundCodes, [1, 2, 3, -0, -2]);
    assert.notDeepEqual(output, mathRoundCodes.map((code) => code * step));
  });

  test('linearQuantRange is two\'s complement', () => {
    assert.deepEqual(linearQuantRange(3, 0.5), { min: -2, max: 1.5 });
    assert.deepEqual(linearQuantRange(8, 1), { min: -128, max: 127 });
    assert.deepEqual(linearQuantRange(1, 1), { min: -1, max: 0 });
  });

  test('linearQuant clips to range', () => {
    // bits = 3, step = 0.5: codes -4..3 and values -2..1.5. -1.75 / 0.5 = -3.5 ties to -4.
    const output = quantizeValues((x) => linearQuant(x, 3, 0.5), [-3, -2, -1.75, 0, 0.7, 1.5, 1.6, 2]);

    assert.deepEqual(output, [-2, -2, -2, 0, 0.5, 1.5, 1.5, 1.5]);
  });

  test('linearQuant one bit', () => {
    const output = quantizeValues((x) => linearQuant(x, 1, 1), [-2, -1, -0.5, 0, 0.5, 1]);

    assert.deepEqual(output, [-1, -1, 0, 0, 0, 0]);
  });

  test('linearQuant gradient at range edges', () => {
    const grad = gradientThrough((x) => linearQuant(x, 3, 0.5), [-3, -2, 0, 1.5, 2], [1, 1, 1, 1, 1]);

    assert.deepEqual(grad, [0, 1, 1, 1, 0]);
  });

  test('linearQuant gradient just past edges', () => {
    // Float32 neighbours outside -2 and 1.5; both still round to the edge level.
    const belowMin = -nextFloat32Up(2);
    const aboveMax = nextFloat32Up(1.5);

    const output = quantizeValues((x) => linearQuant(x, 3, 0.5), [belowMin, aboveMax]);
    const grad = gradientThrough((x) => linearQuant(x, 3, 0.5), [belowMin, aboveMax], [1, 1]);

    assert.deepEqual(output, [-2, 1.5]);
    assert.deepEqual(grad, [0, 0]);
  });

  test('linearQuant gradient keeps upstream value', () => {
    const grad = gradientThrough((x) => linearQuant(x, 3, 0.5), [-1, 0.2, 1.5, 3], [0.5, -3, 2, 7]);

    assert.deepEqual(grad, [0.5, -3, 2, 0]);
  });

  test('linearQuant rejects bit widths', () => {
    const x = new Tensor(Float32Array.of(0), [1]);

    for (const bits of [0, 9, 2.5]) {
      assert.throws(
        () => linearQuant(x, bits, 1),
        (error: Error) => error instanceof QnnError && error.message.includes(`got ${bits}`),
        `bits = ${bits} was accepted`,
      );
    }
  });

  test('linearQuant rejects step', () => {
    const x = new Tensor(Float32Array.of(0), [1]);

    assert.throws(() => linearQuant(x, 4, 0), (error: Error) => error instanceof QnnError && error.message.includes('got 0'));
    assert.throws(() => linearQuant(x, 4, -1), (error: Error) => error instanceof QnnError && error.message.includes('got -1'));
  });
});

describe('logQuant', () => {
  // bits = 3, fsr = 2: exponents -5..2, magnitudes 2^-5 = 0.03125 .. 4.
  const quantize = (x: Tensor): Tensor => logQuant(x, 3, 2);

  test('logQuantExponentRange of bits and fsr', () => {
    assert.deepEqual(logQuantExponentRange(3, 2), { min: -5, max: 2 });
    assert.deepEqual(logQuantExponentRange(1, 0), { min: -1, max: 0 });
  });

  test('logQuant of zero', () => {
    assert.deepEqual(quantizeValues(quantize, [0]), [0]);
    assert.deepEqual(quantizeValues(quantize, [-0]), [0]);
  });

  test('logQuant of exact powers of two', () => {
    const powers = [2 ** -5, 0.25, 0.5, 1, 2, 4];

    assert.deepEqual(quantizeValues(quantize, powers), powers);
  });

  test('logQuant of negative values', () => {
    const output = quantizeValues(quantize, [-1, -0.25, -3, -100]);

    assert.deepEqual(output, [-1, -0.25, -4, -4]);
  });

  test('logQuant halfway in log space', () => {
    // The boundary between 2^n and 2^(n+1) is 2^(n+0.5). The float32 nearest
    // sqrt(2) lies just below it, and the next float32 just above.
    const belowSqrt2 = Math.fround(Math.SQRT2);
    const belowTwoSqrt2 = Math.fround(2 * Math.SQRT2);
    assert.ok(belowSqrt2 < Math.SQRT2, 'float32(sqrt 2) must lie below sqrt 2');
    assert.ok(belowTwoSqrt2 < 2 * Math.SQRT2, 'float32(2 sqrt 2) must lie below 2 sqrt 2');

    const output = quantizeValues(quantize, [belowSqrt2, nextFloat32Up(belowSqrt2), belowTwoSqrt2, nextFloat32Up(belowTwoSqrt2)]);

    assert.deepEqual(output, [1, 2, 2, 4]);
  });

  test('logQuant rounds in log space', () => {
    // 3 is the linear midpoint of 2 and 4, but log2(3) = 1.585 rounds to 2.
    assert.deepEqual(quantizeValues(quantize, [3]), [4]);
  });

  test('logQuant clips large values', () => {
    // log2(6) = 2.58 rounds to 3, beyond fsr = 2.
    const output = quantizeValues(quantize, [5, 6, 100, Infinity]);

    assert.deepEqual(output, [4, 4, 4, 4]);
  });

  test('logQuant flushes small values', () => {
    // log2(0.025) = -5.32 rounds to -5, but log2(0.02) = -5.64 and log2(2^-6) round below -5.
    const output = quantizeValues(quantize, [0.025, 0.02, 2 ** -6, -(2 ** -6)]);

    assert.deepEqual(output, [Math.fround(2 ** -5), 0, 0, 0]);
  });

  test('logQuant gradient at full scale', () => {
    const grad = gradientThrough(quantize, [-5, -4, -1, 0, 0.01, 4, nextFloat32Up(4), 5], [1, 1, 1, 1, 1, 1, 1, 1]);

    assert.deepEqual(grad, [0, 1, 1, 1, 1, 1, 0, 0]);
  });

  test('logQuant gradient keeps upstream value', () => {
    const grad = gradientThrough(quantize, [-3, 0.5, 8], [0.5, -2, 3]);

    assert.deepEqual(grad, [0.5, -2, 0]);
  });

  test('logQuant rejects bits and fsr', () => {
    const x = new Tensor(Float32Array.of(1), [1]);

    assert.throws(() => logQuant(x, 0, 2), (error: Error) => error instanceof QnnError && error.message.includes('got 0'));
    assert.throws(() => logQuant(x, 9, 2), (error: Error) => error instanceof QnnError && error.message.includes('got 9'));
    assert.throws(() => logQuant(x, 3, 1.5), (error: Error) => error instanceof QnnError && error.message.includes('got 1.5'));
    assert.throws(() => logQuant(x, 3, 128), (error: Error) => error instanceof QnnError && error.message.includes('got 128'));
  });
});

describe('quantizeK', () => {
  test('quantizeK ties to even', () => {
    assert.equal(quantizeK(0.5, 1), 0);
    assert.equal(quantizeK(0.5, 2), 2 / 3);
    assert.equal(quantizeK(0.5, 8), 128 / 255);
  });
});

describe('dorefaActivations', () => {
  test('dorefaActivations one bit', () => {
    const output = quantizeValues((x) => dorefaActivations(x, 1), [-0.5, 0, 0.25, 0.5, 0.75, 1, 1.5]);

    assert.deepEqual(output, [0, 0, 0, 0, 1, 1, 1]);
  });

  test('dorefaActivations two bits', () => {
    // 3 * [0.25, 0.5, 0.75] = [0.75, 1.5, 2.25] round to [1, 2, 2].
    const output = quantizeValues((x) => dorefaActivations(x, 2), [-1, 0, 0.25, 0.5, 0.75, 1, 2]);

    assert.deepEqual(output, f32([0, 0, 1 / 3, 2 / 3, 2 / 3, 1, 1]));
  });

  test('dorefaActivations eight bits', () => {
    // 255 * [0.001, 0.002, 0.25, 0.5] = [0.255, 0.51, 63.75, 127.5] round to [0, 1, 64, 128].
    const output = quantizeValues((x) => dorefaActivations(x, 8), [0, 0.001, 0.002, 0.25, 0.5, 1]);

    assert.deepEqual(output, f32([0, 0, 1 / 255, 64 / 255, 128 / 255, 1]));
  });

  test('dorefaActivations gradient at clip edges', () => {
    const grad = gradientThrough((x) => dorefaActivations(x, 2), [-0.001, 0, 0.5, 1, nextFloat32Up(1), 2], [1, 1, 1, 1, 1, 1]);

    assert.deepEqual(grad, [0, 1, 1, 1, 0, 0]);
  });

  test('dorefaActivations gradient keeps upstream value', () => {
    const grad = gradientThrough((x) => dorefaActivations(x, 2), [-1, 0.3, 0.9], [4, -0.5, 2]);

    assert.deepEqual(grad, [0, -0.5, 2]);
  });

  test('dorefaActivations rejects bit widths', () => {
    const x = new Tensor(Float32Array.of(0), [1]);

    assert.throws(() => dorefaActivations(x, 0), (error: Error) => error instanceof QnnError && error.message.includes('got 0'));
    assert.throws(() => dorefaActivations(x, 9), (error: Error) => error instanceof QnnError && error.message.includes('got 9'));
  });
});

describe('dorefaWeights', () => {
  test('dorefaWeights one bit', () => {
    // mean |x| = (0.5 + 0 + 0 + 0.25 + 1) / 5 = 0.35, and sign(0) = sign(-0) = +1.
    const output = quantizeValues((x) => dorefaWeights(x, 1), [-0.5, 0, -0, 0.25, 1]);

    assert.deepEqual(output, f32([-0.35, 0.35, 0.35, 0.35, 0.35]));
  });

  test('dorefaWeights one bit gradient', () => {
    const grad = gradientThrough((x) => dorefaWeights(x, 1), [-0.5, 0, 2], [0.5, -1, 3]);

    assert.deepEqual(grad, [0.5, -1, 3]);
  });

  test('dorefaWeights two bits', () => {
    // tanh(±1) = ±0.7616 is the max, so v = [0, 0.5, 0.5 + 0.4621 / 1.5232, 1] = [0, 0.5, 0.8034, 1].
    // 3v = [0, 1.5, 2.41, 3] rounds to [0, 2, 2, 3], and 2 * code / 3 - 1 gives the output.
    const output = quantizeValues((x) => dorefaWeights(x, 2), [-1, 0, 0.5, 1]);

    assert.deepEqual(output, f32([-1, 1 / 3, 1 / 3, 1]));
  });

  test('dorefaWeights eight bits', () => {
    // v(-0.5) = 0.5 - 0.4621 / 1.5232 = 0.1966, and 255 * 0.1966 = 50.14 rounds to 50.
    // v(0) = 0.5, and 255 * 0.5 = 127.5 ties to 128.
    const output = quantizeValues((x) => dorefaWeights(x, 8), [-1, -0.5, 0, 1]);

    assert.deepEqual(output, f32([-1, (2 * 50) / 255 - 1, (2 * 128) / 255 - 1, 1]));
  });

  test('dorefaWeights of all zeros', () => {
    const output = quantizeValues((x) => dorefaWeights(x, 2), [0, 0]);
    const grad = gradientThrough((x) => dorefaWeights(x, 2), [0, 0], [1, -2]);

    assert.deepEqual(output, f32([1 / 3, 1 / 3]));
    assert.deepEqual(grad, [1, -2]);
  });

  test('dorefaWeights gradient with unique max', () => {
    // x = [1, 0.5] and upstream [1, 1] give m = t0 and dL/dt1 = 1/m. The max element gets
    // dL/dt0 = 1/m - (t0 + t1) / m^2 = -t1 / m^2, and each dL/dx is dL/dt * (1 - t^2).
    const t0 = Math.tanh(1);
    const t1 = Math.tanh(Math.fround(0.5));

    const grad = gradientThrough((x) => dorefaWeights(x, 2), [1, 0.5], [1, 1]);

    assertClose(grad, [(-t1 / (t0 * t0)) * (1 - t0 * t0), (1 / t0) * (1 - t1 * t1)]);
  });

  test('dorefaWeights gradient with tied max', () => {
    // x = [-1, 1, 0.25], upstream [2, 1, -1]: the max m = tanh(1) is attained twice.
    const m = Math.tanh(1);
    const t = [-m, m, Math.tanh(0.25)];
    const upstream = [2, 1, -1];
    const gradScale = -(upstream[0] * t[0] + upstream[1] * t[1] + upstream[2] * t[2]) / (m * m);
    const gradTanh = [upstream[0] / m - gradScale / 2, upstream[1] / m + gradScale / 2, upstream[2] / m];

    const grad = gradientThrough((x) => dorefaWeights(x, 4), [-1, 1, 0.25], upstream);

    assertClose(grad, gradTanh.map((g, i) => g * (1 - t[i] * t[i])));
  });

  test('dorefaWeights rejects bit widths', () => {
    const x = new Tensor(Float32Array.of(0), [1]);

    assert.throws(() => dorefaWeights(x, 0), (error: Error) => error instanceof QnnError && error.message.includes('got 0'));
    assert.throws(() => dorefaWeights(x, 9), (error: Error) => error instanceof QnnError && error.message.includes('got 9'));
  });
});

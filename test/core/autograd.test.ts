import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ShapeError } from '../../sdk/errors.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense } from '../../sdk/layers/dense.js';
import type { ForwardContext } from '../../sdk/layers/layer.js';
import { softmaxCrossEntropy } from '../../sdk/losses/softmax-cross-entropy.js';
import { squaredHinge } from '../../sdk/losses/squared-hinge.js';
import { add, div, exp, log, mul, neg, relu, scale, sqrt, square, sub } from '../../sdk/ops/elementwise.js';
import { matmul } from '../../sdk/ops/matmul.js';
import { mean, sum } from '../../sdk/ops/reduce.js';
import { logSoftmax, softmax } from '../../sdk/ops/softmax.js';
import { Random } from '../../sdk/random.js';
import { Tensor, shapeSize } from '../../sdk/tensor/tensor.js';
import { SeededRandom } from '../helpers/random.js';

// Central differences on float32 data. A step of 1e-2 keeps the rounding error of
// the float32 objective (about 1e-7 relative, divided by 2 * step) near 1e-5.
// The truncation error (step^2 * f''' / 6) stays near 1e-4 for the smooth ops used here.
const STEP = 1e-2;
const RELATIVE_TOLERANCE = 1e-2;
const ABSOLUTE_TOLERANCE = 1e-3;

/** Uniform values in [low, high), drawn from a seeded stream. */
function uniform(random: SeededRandom, count: number, low: number, high: number): Float32Array {
  return Float32Array.from({ length: count }, () => low + (high - low) * random.next());
}

/** Values in ±[minimum, minimum + 1), so kinks at 0 (relu) and poles (division) stay out of reach of the step. */
function awayFromZero(random: SeededRandom, count: number, minimum: number): Float32Array {
  return Float32Array.from({ length: count }, () => {
    const magnitude = minimum + random.next();
    return random.next() < 0.5 ? -magnitude : magnitude;
  });
}

function leaf(data: Float32Array, shape: number[]): Tensor {
  return new Tensor(data, shape, true);
}

/**
 * Asserts that backpropagating a random seed through `forward()` gives, for every
 * element of every named input, the central difference of the float64 objective
 * sum(seed * forward()). `forward` must rebuild the graph from the inputs' data.
 */
function checkGradients(forward: () => Tensor, inputs: Record<string, Tensor>, seed: number): void {
  for (const input of Object.values(inputs)) input.grad = null;
  const output = forward();
  const outputSeed = uniform(new SeededRandom(seed), output.size, -1, 1);
  output.backward(outputSeed);

  const objective = (): number => {
    const data = forward().data;
    let total = 0;
    for (let i = 0; i < data.length; i++) total += outputSeed[i] * data[i];
    return total;
  };

  for (const [name, input] of Object.entries(inputs)) {
    assert.ok(input.grad !== null, `${name} received no gradient`);
    const analytic = Float32Array.from(input.grad);
    const data = input.data as Float32Array;

    for (let j = 0; j < data.length; j++) {
      const original = data[j];
      data[j] = original + STEP;
      const up = data[j];
      const plus = objective();
      data[j] = original - STEP;
      const down = data[j];
      const minus = objective();
      data[j] = original;

      // Divide by the float32 step actually taken, not by the nominal 2 * STEP.
      const numeric = (plus - minus) / (up - down);
      const tolerance = ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * Math.abs(numeric);
      assert.ok(
        Math.abs(analytic[j] - numeric) <= tolerance,
        `d/d${name}[${j}]: backward gives ${analytic[j]}, central difference gives ${numeric}`,
      );
    }
  }
}

/** Returns the error `run` throws, failing the test when it throws nothing. */
function captureError(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an error, but none was thrown');
}

describe('elementwise binary gradients', () => {
  const ops: Array<[string, (a: Tensor, b: Tensor) => Tensor]> = [
    ['add', add],
    ['sub', sub],
    ['mul', mul],
    ['div', div],
  ];
  const shapePairs: Array<[number[], number[]]> = [
    [[3, 4], [3, 4]],
    [[3, 4], [4]],
    [[4], [3, 4]],
    [[3, 1], [1, 4]],
    [[], [3, 4]],
    [[3, 4], []],
    [[3, 4], [1]],
  ];

  ops.forEach(([name, op], opIndex) => {
    shapePairs.forEach(([shapeA, shapeB], pairIndex) => {
      test(`${name} gradient, [${shapeA}] and [${shapeB}]`, () => {
        const random = new SeededRandom(100 * opIndex + pairIndex);
        const a = leaf(uniform(random, shapeSize(shapeA), -2, 2), shapeA);
        // Divisors stay in ±[0.5, 1.5), where 1/b is smooth on the scale of the step.
        const b = leaf(name === 'div' ? awayFromZero(random, shapeSize(shapeB), 0.5) : uniform(random, shapeSize(shapeB), -2, 2), shapeB);

        checkGradients(() => op(a, b), { a, b }, 7);
      });
    });
  });
});

describe('elementwise unary gradients', () => {
  const cases: Array<[string, (x: Tensor) => Tensor, (random: SeededRandom, count: number) => Float32Array]> = [
    ['neg', neg, (random, count) => uniform(random, count, -2, 2)],
    ['exp', exp, (random, count) => uniform(random, count, -2, 2)],
    ['log', log, (random, count) => uniform(random, count, 0.5, 3)],
    ['relu', relu, (random, count) => awayFromZero(random, count, 0.1)],
    ['square', square, (random, count) => uniform(random, count, -2, 2)],
    ['sqrt', sqrt, (random, count) => uniform(random, count, 0.5, 3)],
    ['scale', (x) => scale(x, -1.5), (random, count) => uniform(random, count, -2, 2)],
  ];

  cases.forEach(([name, op, sample], index) => {
    test(`${name} gradient`, () => {
      const x = leaf(sample(new SeededRandom(200 + index), 6), [2, 3]);

      checkGradients(() => op(x), { x }, 11);
    });
  });
});

describe('matmul and reduction gradients', () => {
  test('matmul gradient of both operands', () => {
    const random = new SeededRandom(300);
    const a = leaf(uniform(random, 12, -1, 1), [3, 4]);
    const b = leaf(uniform(random, 8, -1, 1), [4, 2]);

    checkGradients(() => matmul(a, b), { a, b }, 13);
  });

  const reductions: Array<[string, (x: Tensor) => Tensor]> = [
    ['sum over all', (x) => sum(x)],
    ['sum over all, keepDims', (x) => sum(x, undefined, true)],
    ['sum over axis 0', (x) => sum(x, 0)],
    ['sum over axis 1, keepDims', (x) => sum(x, 1, true)],
    ['sum over axis -1', (x) => sum(x, -1)],
    ['mean over all', (x) => mean(x)],
    ['mean over all, keepDims', (x) => mean(x, undefined, true)],
    ['mean over axis 1', (x) => mean(x, 1)],
    ['mean over axis 2, keepDims', (x) => mean(x, 2, true)],
    ['mean over axis -3', (x) => mean(x, -3)],
  ];

  reductions.forEach(([name, reduce], index) => {
    test(`${name} gradient`, () => {
      const x = leaf(uniform(new SeededRandom(400 + index), 24, -2, 2), [2, 3, 4]);

      checkGradients(() => reduce(x), { x }, 17);
    });
  });

  test('mean gradient equals 1 / count', () => {
    const x = leaf(uniform(new SeededRandom(450), 12, -2, 2), [3, 4]);

    mean(x, 0).backward(new Float32Array(4).fill(1));

    assert.deepEqual(Array.from(x.grad!), new Array<number>(12).fill(Math.fround(1 / 3)));
  });
});

describe('softmax and loss gradients', () => {
  test('softmax gradient', () => {
    const x = leaf(uniform(new SeededRandom(500), 12, -3, 3), [3, 4]);

    checkGradients(() => softmax(x), { x }, 19);
  });

  test('logSoftmax gradient', () => {
    const x = leaf(uniform(new SeededRandom(501), 12, -3, 3), [3, 4]);

    checkGradients(() => logSoftmax(x), { x }, 23);
  });

  test('softmaxCrossEntropy gradient', () => {
    const scores = leaf(uniform(new SeededRandom(502), 12, -3, 3), [3, 4]);
    const labels = Int32Array.of(0, 3, 1);

    checkGradients(() => softmaxCrossEntropy(scores, labels), { scores }, 29);
  });

  test('squaredHinge gradient', () => {
    // Every target * score stays at least 0.1 from the kink at 1. The entries
    // with target * score > 1 check that a zero margin passes no gradient.
    const scores = leaf(
      Float32Array.of(0.3, -1.6, 0.5, 1.4, -0.2, 0.7, -0.4, 2.0, 1.3, -0.6, 0.1, -1.3),
      [3, 4],
    );
    const labels = Int32Array.of(0, 3, 1);

    checkGradients(() => squaredHinge(scores, labels), { scores }, 31);
  });
});

describe('layer gradients', () => {
  const context: ForwardContext = { training: true, random: new Random(0) };

  test('BatchNorm training gradients', () => {
    const layer = new BatchNorm({ name: 'bn_gradient' });
    layer.build([3], new Random(600));
    layer.gamma.data.set(Float32Array.of(1.5, -0.7, 0.4));
    layer.beta.data.set(Float32Array.of(0.2, -0.3, 0.9));
    const x = leaf(uniform(new SeededRandom(600), 15, -2, 2), [5, 3]);

    checkGradients(() => layer.forward(x, context), { x, gamma: layer.gamma, beta: layer.beta }, 37);
  });

  test('Dense with bias gradients', () => {
    const layer = new Dense(3, { useBias: true, name: 'dense_gradient' });
    layer.build([4], new Random(700));
    layer.bias!.data.set(Float32Array.of(0.1, -0.2, 0.3));
    const x = leaf(uniform(new SeededRandom(700), 8, -1, 1), [2, 4]);

    checkGradients(() => layer.forward(x, context), { x, kernel: layer.kernel, bias: layer.bias! }, 41);
  });
});

describe('gradient accumulation and errors', () => {
  test('mul(x, x) accumulates 2x', () => {
    const values = Float32Array.of(-1.5, 0.25, 2);
    const x = leaf(Float32Array.from(values), [3]);

    mul(x, x).backward(Float32Array.of(1, 1, 1));

    assert.deepEqual(Array.from(x.grad!), Array.from(values, (v) => 2 * v));
  });

  test('tensor in two branches accumulates', () => {
    // L = sum(x) + sum(x^2), so dL/dx = 1 + 2x.
    const values = Float32Array.of(-1.5, 0.25, 2);
    const x = leaf(Float32Array.from(values), [3]);

    add(sum(x), sum(square(x))).backward();

    assert.deepEqual(Array.from(x.grad!), Array.from(values, (v) => 1 + 2 * v));
  });

  test('shared intermediate accumulates', () => {
    // h = exp(x) feeds both operands of mul, so dL/dx = 2 * exp(x)^2.
    const values = Float32Array.of(-0.5, 0.3);
    const x = leaf(Float32Array.from(values), [2]);

    const h = exp(x);
    sum(mul(h, h)).backward();

    for (let i = 0; i < values.length; i++) {
      const expected = 2 * Math.exp(2 * values[i]);
      assert.ok(Math.abs(x.grad![i] - expected) <= 1e-6 * expected, `x.grad[${i}] = ${x.grad![i]}, expected ${expected}`);
    }
  });

  test('backward of non-scalar without seed', () => {
    const y = scale(leaf(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]), 2);

    const error = captureError(() => y.backward());

    assert.ok(error instanceof ShapeError, `expected ShapeError, got ${error.name}`);
    assert.ok(error.message.includes('[2, 3]'), `message does not name the shape: ${error.message}`);
  });

  const ops: Array<[string, (a: Tensor, b: Tensor) => Tensor]> = [
    ['add', add],
    ['sub', sub],
    ['mul', mul],
    ['div', div],
  ];
  for (const [name, op] of ops) {
    test(`${name} of incompatible shapes`, () => {
      const a = Tensor.zeros([2, 3]);
      const b = Tensor.zeros([3, 2]);

      const error = captureError(() => op(a, b));

      assert.ok(error instanceof ShapeError, `expected ShapeError, got ${error.name}`);
      assert.ok(error.message.includes('[2, 3]'), `message does not name the first shape: ${error.message}`);
      assert.ok(error.message.includes('[3, 2]'), `message does not name the second shape: ${error.message}`);
    });
  }
});

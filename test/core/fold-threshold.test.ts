import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { applyEpilogue } from '../../sdk/compile/epilogue.js';
import { foldThresholds } from '../../sdk/compile/fold-threshold.js';
import type { DenseEpilogue } from '../../sdk/compile/graph.js';
import { QnnError } from '../../sdk/errors.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Random } from '../../sdk/random.js';
import { Tensor } from '../../sdk/tensor/tensor.js';
import { SeededRandom } from '../helpers/random.js';

const backend = new ReferenceBackend();

/** Unpacks the signs (+1 or -1) of packed rows [rows, ceil(cols / 32)], where bit 1 means -1. */
function unpackSigns(packed: Uint32Array, rows: number, cols: number): number[][] {
  const words = Math.ceil(cols / 32);
  const signs: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row: number[] = [];
    for (let c = 0; c < cols; c++) row.push((packed[r * words + (c >>> 5)] >>> (c & 31)) & 1 ? -1 : 1);
    signs.push(row);
  }
  return signs;
}

/**
 * Folds `epilogue` over [minAcc, maxAcc], runs thresholdPack on every accumulator in
 * `accumulators` for every channel, and asserts each sign equals sign(applyEpilogue) with sign(0) = +1.
 */
function assertFoldMatchesEpilogue(epilogue: DenseEpilogue, units: number, minAcc: number, maxAcc: number, accumulators: number[]): void {
  const { thresholds, directions } = foldThresholds(epilogue, units, minAcc, maxAcc);
  const acc = new Int32Array(accumulators.length * units);
  accumulators.forEach((value, r) => acc.fill(value, r * units, (r + 1) * units));

  const signs = unpackSigns(backend.thresholdPack(acc, accumulators.length, units, thresholds, directions), accumulators.length, units);

  accumulators.forEach((value, r) => {
    for (let c = 0; c < units; c++) {
      const expected = applyEpilogue(epilogue, value, c) >= 0 ? 1 : -1;
      assert.equal(
        signs[r][c],
        expected,
        `channel ${c}, accumulator ${value}: folded sign ${signs[r][c]} (threshold ${thresholds[c]}, direction ${directions[c]}), epilogue gives ${applyEpilogue(epilogue, value, c)}`,
      );
    }
  });
}

/** Draws a uniform float in [low, high). */
function uniform(random: SeededRandom, low: number, high: number): number {
  return low + (high - low) * random.next();
}

/** Lists every integer in [low, high]. */
function integerRange(low: number, high: number): number[] {
  return Array.from({ length: high - low + 1 }, (_v, i) => low + i);
}

/** Builds a BatchNorm with the given per-channel parameters and running statistics. */
function batchNormWith(parameters: { gamma: number[]; beta: number[]; mean: number[]; variance: number[] }, epsilon?: number): BatchNorm {
  const layer = new BatchNorm({ name: 'bn_fold', ...(epsilon === undefined ? {} : { epsilon }) });
  layer.build([parameters.gamma.length], new Random(0));
  layer.gamma.data.set(parameters.gamma);
  layer.beta.data.set(parameters.beta);
  layer.runningMean.set(parameters.mean);
  layer.runningVariance.set(parameters.variance);
  return layer;
}

/** Builds a BatchNorm over `units` channels with random parameters, mixing in gamma < 0, gamma = 0 and integer means. */
function randomBatchNorm(random: SeededRandom, units: number, meanRange: number, varianceRange: [number, number]): BatchNorm {
  const gamma: number[] = [];
  const beta: number[] = [];
  const mean: number[] = [];
  const variance: number[] = [];

  for (let c = 0; c < units; c++) {
    // Channel c mod 6 picks the case: 0 and 1 negative gamma, 2 zero gamma, others positive.
    const kind = c % 6;
    gamma.push(kind <= 1 ? uniform(random, -2, -0.05) : kind === 2 ? 0 : uniform(random, 0.05, 2));
    beta.push(kind === 3 ? 0 : uniform(random, -1, 1));
    // Integer means with beta = 0 put the switching point exactly on an accumulator.
    const rawMean = uniform(random, -meanRange, meanRange);
    mean.push(kind === 3 ? Math.round(rawMean) : rawMean);
    variance.push(uniform(random, varianceRange[0], varianceRange[1]));
  }
  return batchNormWith({ gamma, beta, mean, variance });
}

describe('foldThresholds negative gamma', () => {
  // Accumulators {-3, -1, 1, 3} with gamma = -2, mu = 1, sigma = 1, beta = 0:
  // y = -2 (x - 1) = [8, 4, 0, -4], so the signs are [+1, +1, +1, -1] (x <= 1, tie included).
  const epilogue: DenseEpilogue = { inputScale: 1, bias: null, scale: Float32Array.of(-2), shift: Float32Array.of(2) };

  test('batch-norm affine gives scale and shift', () => {
    const layer = batchNormWith({ gamma: [-2], beta: [0], mean: [1], variance: [1] }, 0);

    const { scale, shift } = layer.inferenceAffine();

    assert.equal(scale[0], -2);
    assert.equal(shift[0], 2);
  });

  test('fold direction and threshold', () => {
    const { thresholds, directions } = foldThresholds(epilogue, 1, -3, 3);

    assert.equal(directions[0], -1);
    assert.equal(thresholds[0], 1);
  });

  test('thresholdPack gives hand-computed signs', () => {
    const { thresholds, directions } = foldThresholds(epilogue, 1, -3, 3);

    const packed = backend.thresholdPack(Int32Array.of(-3, -1, 1, 3), 4, 1, thresholds, directions);

    assert.deepEqual(unpackSigns(packed, 4, 1).flat(), [1, 1, 1, -1]);
  });
});

describe('foldThresholds zero gamma', () => {
  const K = 33;

  const cases: Array<[string, number, number]> = [
    ['positive beta', 0.5, 1],
    ['negative beta', -0.5, -1],
    ['zero beta', 0, 1],
  ];
  for (const [label, beta, expectedSign] of cases) {
    test(`zero gamma with ${label}`, () => {
      const layer = batchNormWith({ gamma: [0], beta: [beta], mean: [2.5], variance: [0.7] });
      const epilogue: DenseEpilogue = { inputScale: 1, bias: null, ...layer.inferenceAffine() };
      const accumulators = integerRange(-K, K);
      const { thresholds, directions } = foldThresholds(epilogue, 1, -K, K);

      const packed = backend.thresholdPack(Int32Array.from(accumulators), accumulators.length, 1, thresholds, directions);
      const signs = unpackSigns(packed, accumulators.length, 1).flat();

      assert.deepEqual(signs, new Array<number>(accumulators.length).fill(expectedSign));
    });
  }
});

describe('foldThresholds against the epilogue', () => {
  test('epilogue matches BatchNorm inference', () => {
    // The fold's oracle is applyEpilogue, so it must equal what the training graph computes in inference mode.
    const K = 33;
    const units = 12;
    const layer = randomBatchNorm(new SeededRandom(21), units, K + 4, [0.1, 4]);
    const epilogue: DenseEpilogue = { inputScale: 1, bias: null, ...layer.inferenceAffine() };
    const accumulators = integerRange(-K, K);
    const x = new Float32Array(accumulators.length * units);
    accumulators.forEach((value, r) => x.fill(value, r * units, (r + 1) * units));

    const y = layer.forward(new Tensor(x, [accumulators.length, units]), { training: false, random: new Random(0) }).data;

    accumulators.forEach((value, r) => {
      for (let c = 0; c < units; c++) {
        assert.equal(applyEpilogue(epilogue, value, c), y[r * units + c], `channel ${c}, accumulator ${value}`);
      }
    });
  });

  test('sign-input fold, exhaustive K = 33', () => {
    const K = 33;
    const units = 48;
    const layer = randomBatchNorm(new SeededRandom(22), units, K + 4, [0.1, 4]);
    const epilogue: DenseEpilogue = { inputScale: 1, bias: null, ...layer.inferenceAffine() };

    assertFoldMatchesEpilogue(epilogue, units, -K, K, integerRange(-K, K));
  });

  test('negative gamma folds to direction -1', () => {
    const K = 33;
    const units = 48;
    const layer = randomBatchNorm(new SeededRandom(22), units, K + 4, [0.1, 4]);
    const epilogue: DenseEpilogue = { inputScale: 1, bias: null, ...layer.inferenceAffine() };

    const { directions } = foldThresholds(epilogue, units, -K, K);

    for (let c = 0; c < units; c++) {
      assert.equal(directions[c], layer.gamma.data[c] < 0 ? -1 : 1, `channel ${c}, gamma ${layer.gamma.data[c]}`);
    }
  });

  test('uint8-input fold, sampled accumulators', () => {
    // First layer: 64 uint8 inputs against ±1 weights reach accumulators in [-255 * 64, 255 * 64].
    const K = 64;
    const bound = 255 * K;
    const units = 24;
    const random = new SeededRandom(23);
    const layer = randomBatchNorm(random, units, 20, [0.5, 60]);
    const bias = Float32Array.from({ length: units }, () => uniform(random, -0.5, 0.5));
    const epilogue: DenseEpilogue = { inputScale: 1 / 256, bias, ...layer.inferenceAffine() };

    // Samples: both ends, 2000 uniform draws, and every accumulator within 40 of each folded threshold.
    const samples = new Set<number>([-bound, -bound + 1, 0, bound - 1, bound]);
    for (let i = 0; i < 2000; i++) samples.add(random.int(-bound, bound));
    const { thresholds } = foldThresholds(epilogue, units, -bound, bound);
    for (const threshold of thresholds) {
      for (let d = -40; d <= 40; d++) {
        const value = threshold + d;
        if (value >= -bound && value <= bound) samples.add(value);
      }
    }

    assertFoldMatchesEpilogue(epilogue, units, -bound, bound, [...samples].sort((a, b) => a - b));
  });

  test('NaN batch-norm parameters throw', () => {
    // A negative running variance below -epsilon makes sqrt return NaN.
    const layer = batchNormWith({ gamma: [1, 1], beta: [0, 0], mean: [0, 0], variance: [1, -2] });
    const epilogue: DenseEpilogue = { inputScale: 1, bias: null, ...layer.inferenceAffine() };

    assert.throws(() => foldThresholds(epilogue, 2, -5, 5), (error: unknown) => {
      assert.ok(error instanceof QnnError, `expected QnnError, got ${String(error)}`);
      assert.match(error.message, /channel 1/);
      return true;
    });
  });
});

// Bit-exact resume: training that stops after a checkpoint and resumes in a freshly built model ends
// with the same float bits and the same batch losses as a run that was never interrupted.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { QuantDense } from '../../sdk/layers/dense.js';
import { Dropout } from '../../sdk/layers/dropout.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { Bop } from '../../sdk/optimizers/bop.js';
import type { Optimizer } from '../../sdk/optimizers/optimizer.js';
import { ShiftAdaMax } from '../../sdk/optimizers/shift-adamax.js';
import { decodeCheckpoint } from '../../sdk/training/checkpoint.js';
import { type FitOptions, fit } from '../../sdk/training/fit.js';
import { SeededRandom } from '../helpers/random.js';

const FEATURES = 12;
const CLASSES = 3;
const SAMPLES = 70;
const BATCH_SIZE = 16;
const BATCHES_PER_EPOCH = Math.ceil(SAMPLES / BATCH_SIZE);
const EPOCHS = 3;

function syntheticData(): { inputs: Float32Array; labels: Int32Array } {
  const random = new SeededRandom(7);
  const inputs = Float32Array.from({ length: SAMPLES * FEATURES }, () => random.next());
  const labels = Int32Array.from({ length: SAMPLES }, (_v, i) => i % CLASSES);
  return { inputs, labels };
}

/** Dropout and a stochastic input binarizer make the run depend on both random streams that a checkpoint must carry. */
function buildModel(seed: number): Sequential {
  return new Sequential([
    new QuantDense(20, { inputQuantizer: null }),
    new BatchNorm(),
    new Dropout(0.25),
    new QuantDense(16, { inputQuantizer: 'stochastic_binary' }),
    new BatchNorm(),
    new QuantDense(CLASSES),
    new BatchNorm(),
  ]).build([FEATURES], seed);
}

/** Optimizers, plus a run whose stochastic 6-bit gradient rounding draws on the epoch stream too. */
const RUNS: Record<string, { makeOptimizer: () => Optimizer; gradientBits?: number }> = {
  adam: { makeOptimizer: () => new Adam({ learningRate: 0.01 }) },
  'shift-adamax': { makeOptimizer: () => new ShiftAdaMax() },
  bop: { makeOptimizer: () => new Bop({ gamma: 0.01, threshold: 1e-6, otherOptimizer: new Adam({ learningRate: 0.01 }) }) },
  'adam and 6-bit gradients': { makeOptimizer: () => new Adam({ learningRate: 0.01 }), gradientBits: 6 },
};

function baseOptions(optimizer: Optimizer, losses: number[], extra: Partial<FitOptions> = {}): FitOptions {
  return {
    epochs: EPOCHS,
    batchSize: BATCH_SIZE,
    optimizer,
    loss: 'squared_hinge',
    seed: 11,
    learningRateSchedule: (epoch) => 0.01 * 0.5 ** epoch,
    onBatchEnd: (report) => losses.push(report.loss),
    ...extra,
  };
}

/** Returns every parameter and running statistic as raw 32-bit patterns, so -0 versus 0 and the last ulp count. */
function bitsOf(model: Sequential): Uint32Array[] {
  const arrays = [...model.parameters().map((p) => p.value.data as Float32Array), ...model.trainingState()];
  return arrays.map((a) => new Uint32Array(a.slice().buffer));
}

class Interrupted extends Error {}

for (const [name, { makeOptimizer: makeBase, gradientBits }] of Object.entries(RUNS)) {
  describe(`bit-exact resume with ${name}`, () => {
    const makeOptimizer = makeBase;
    const options = (optimizer: Optimizer, losses: number[], extra: Partial<FitOptions> = {}): FitOptions => baseOptions(optimizer, losses, { ...(gradientBits === undefined ? {} : { gradientBits }), ...extra });
    const { inputs, labels } = syntheticData();
    const fullLosses: number[] = [];
    const full = buildModel(3);
    fit(full, inputs, labels, options(makeOptimizer(), fullLosses));

    // The last checkpoints before the stops fall inside an epoch (after batches 8 and 6) and at an epoch's end (after batch 10).
    for (const { every, stopAfter } of [
      { every: 4, stopAfter: 10 },
      { every: 3, stopAfter: 7 },
      { every: 5, stopAfter: 12 },
    ]) {
      test(`every ${every} batches, stop after ${stopAfter}`, () => {
        const folder = mkdtempSync(join(tmpdir(), 'qnn-resume-'));
        const path = join(folder, 'run.ckpt');
        try {
          const firstLosses: number[] = [];
          const first = buildModel(3);
          let done = 0;
          const firstOptions = options(makeOptimizer(), firstLosses, { checkpoint: { path, everyBatches: every } });
          firstOptions.onBatchEnd = (report) => {
            firstLosses.push(report.loss);
            if (++done === stopAfter) throw new Interrupted('simulated crash');
          };
          assert.throws(() => fit(first, inputs, labels, firstOptions), Interrupted);

          const saved = decodeCheckpoint(readFileSync(path), path);
          const savedStep = Math.floor(stopAfter / every) * every;
          assert.equal(saved.position!.epoch * BATCHES_PER_EPOCH + saved.position!.batch, savedStep);

          // Another build seed gives other initial weights, so equality below proves the checkpoint overwrote them.
          const resumedLosses: number[] = [];
          const resumed = buildModel(99);
          fit(resumed, inputs, labels, options(makeOptimizer(), resumedLosses, { resumeFrom: path }));

          assert.deepEqual(firstLosses.slice(0, stopAfter), fullLosses.slice(0, stopAfter));
          assert.deepEqual(resumedLosses, fullLosses.slice(savedStep));
          assert.deepEqual(bitsOf(resumed), bitsOf(full));
          assert.deepEqual(readdirSync(folder), ['run.ckpt']);
        } finally {
          rmSync(folder, { recursive: true, force: true });
        }
      });
    }

    test('saving leaves the run unchanged', () => {
      const losses: number[] = [];
      const model = buildModel(3);
      const saves: number[] = [];
      fit(model, inputs, labels, options(makeOptimizer(), losses, { checkpoint: { write: (_bytes, position) => saves.push(position.epoch * BATCHES_PER_EPOCH + position.batch), everyBatches: 2 } }));
      assert.deepEqual(losses, fullLosses);
      assert.deepEqual(bitsOf(model), bitsOf(full));
      assert.deepEqual(saves, [2, 4, 6, 8, 10, 12, 14]);
    });
  });
}

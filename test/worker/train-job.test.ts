// The training run behind the worker, called directly in Node: it must train, compile and report the packed model truthfully.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { runPacked } from '../../sdk/compile/run-packed.js';
import { ShapeError, QnnError } from '../../sdk/errors.js';
import { decodeQnnNetwork } from '../../sdk/format/qnn-decode.js';
import { argmax } from '../../sdk/training/metrics.js';
import type { TrainConfig } from '../../sdk/worker/protocol.js';
import { type BatchProgress, type EpochProgress, runTrainJob } from '../../sdk/worker/train-job.js';
import { syntheticTask } from './synthetic-task.js';

function config(overrides: Partial<TrainConfig> = {}): TrainConfig {
  const train = syntheticTask(240, 5);
  const test = syntheticTask(90, 6);
  return {
    model: { kind: 'mlp', hidden: [32] },
    classes: 3,
    epochs: 3,
    batchSize: 40,
    optimizer: 'adam',
    learningRate: 0.01,
    seed: 4,
    train: { inputs: train.pixels, labels: train.labels, features: train.features },
    test: { inputs: test.pixels, labels: test.labels, features: test.features },
    ...overrides,
  };
}

test('runTrainJob reports the trained file truthfully', async () => {
  const batches: BatchProgress[] = [];
  const epochs: EpochProgress[] = [];
  const job = config();
  const result = await runTrainJob(job, { onBatch: (b) => batches.push(b), onEpoch: (e) => epochs.push(e) });

  // 240 samples in batches of 40: 6 batches in each of 3 epochs.
  assert.deepEqual(batches.map((b) => `${b.epoch}:${b.batch}`), [0, 1, 2].flatMap((e) => [0, 1, 2, 3, 4, 5].map((b) => `${e}:${b}`)));
  assert.deepEqual(epochs.map((e) => e.epoch), [0, 1, 2]);
  for (const epoch of epochs) {
    assert.equal(typeof epoch.testAccuracy, 'number', `epoch ${epoch.epoch} has a test accuracy`);
    assert.ok(Number.isFinite(epoch.loss), `epoch ${epoch.epoch} loss ${epoch.loss}`);
  }
  assert.deepEqual(result.report.epochs, epochs);
  assert.equal(result.report.architecture, '48-32-3');
  assert.equal(result.report.backend, 'wasm-simd');

  // Separable data: far above the 1/3 of chance.
  assert.ok(result.report.packedTestAccuracy! > 0.9, `packed test accuracy ${result.report.packedTestAccuracy}`);
  assert.ok(result.report.packedAgreement > 0.95, `packed agreement ${result.report.packedAgreement}`);

  // The file alone reproduces the reported packed test accuracy.
  const test = syntheticTask(90, 6);
  const scores = runPacked(decodeQnnNetwork(result.qnn), result.cpu, test.pixels);
  const predicted = argmax(scores, 90, 3);
  const correct = predicted.filter((label, i) => label === test.labels[i]).length;
  assert.equal(correct / 90, result.report.packedTestAccuracy);
});

test('runTrainJob spaces batch events', async () => {
  const batches: BatchProgress[] = [];
  await runTrainJob(config({ epochs: 1, batchSize: 50, batchEventEvery: 2, test: undefined }), { onBatch: (b) => batches.push(b) });

  // 240 samples in batches of 50: batches 0..4; events after the 2nd, the 4th and the last.
  assert.deepEqual(batches.map((b) => b.batch), [1, 3, 4]);
});

test('runTrainJob rounds float inputs to bytes', async () => {
  const train = syntheticTask(240, 5);
  const floats = Float32Array.from(train.pixels, (p) => p / 256);
  const fromBytes = await runTrainJob(config({ epochs: 1, test: undefined }));
  const fromFloats = await runTrainJob(config({ epochs: 1, test: undefined, train: { inputs: floats, labels: train.labels, features: 48 } }));

  assert.deepEqual(fromFloats.qnn, fromBytes.qnn);
});

test('runTrainJob rejects invalid config fields', async () => {
  const train = syntheticTask(30, 1);
  const badLabels = Uint8Array.from(train.labels, (label, i) => (i === 7 ? 3 : label));

  await assert.rejects(runTrainJob(config({ train: { inputs: train.pixels, labels: badLabels, features: 48 } })), (error: Error) => {
    return error instanceof ShapeError && error.message.includes('train.labels[7] is 3');
  });
  await assert.rejects(runTrainJob(config({ train: { inputs: train.pixels, labels: train.labels, features: 47 } })), ShapeError);
  await assert.rejects(runTrainJob(config({ train: { inputs: new Float32Array(48 * 30).fill(1), labels: train.labels, features: 48 } })), /float inputs must lie in \[0, 1\)/);
  await assert.rejects(runTrainJob(config({ batchSize: 0 })), (error: Error) => error instanceof QnnError && error.message.includes('batchSize'));
  await assert.rejects(runTrainJob(config({ optimizer: 'sgd' as 'adam' })), /optimizer must be/);
});

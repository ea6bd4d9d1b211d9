import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { compileNetwork } from '../../sdk/compile/compile-model.js';
import type { PackedNetwork } from '../../sdk/compile/graph.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense } from '../../sdk/layers/dense.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { exportOnnx } from '../../sdk/onnx/export-onnx.js';
import { fit } from '../../sdk/training/fit.js';
import { SeededRandom } from '../helpers/random.js';
import { argmaxRows, maxAbsDifference, runInOnnxRuntime } from './onnx-fixtures.js';

const FEATURES = 40;
const CLASSES = 3;

function randomSamples(seed: number, count: number): { samples: Uint8Array; labels: Int32Array } {
  const random = new SeededRandom(seed);
  const samples = Uint8Array.from({ length: count * FEATURES }, () => random.int(0, 255));
  const labels = Int32Array.from({ length: count }, () => random.int(0, CLASSES - 1));
  return { samples, labels };
}

/** log 2-bit kernel -> BN -> ternary kernel on DoReFa 2-bit codes -> BN -> DoReFa 2-bit kernel on log 1-bit codes -> BN, trained a few steps. */
function trainedQuantizerNetwork(train: { samples: Uint8Array; labels: Int32Array }): PackedNetwork {
  const model = new Sequential([
    new Dense(16, { kernelQuantizer: { kind: 'log', bits: 2 }, inputQuantizer: null, kernelClip: 1, name: 'log_input' }),
    new BatchNorm({ name: 'bn_log' }),
    new Dense(12, { kernelQuantizer: { kind: 'ternary' }, inputQuantizer: { kind: 'dorefa', bits: 2 }, kernelClip: 1, name: 'ternary_hidden' }),
    new BatchNorm({ name: 'bn_ternary' }),
    new Dense(CLASSES, { kernelQuantizer: { kind: 'dorefa', bits: 2 }, inputQuantizer: { kind: 'log', bits: 1 }, kernelClip: 1, name: 'dorefa_output' }),
    new BatchNorm({ name: 'bn_output' }),
  ]).build([FEATURES], 6);
  const inputs = Float32Array.from(train.samples, (v) => v / 256);
  fit(model, inputs, train.labels, { epochs: 2, batchSize: 16, optimizer: new Adam({ learningRate: 0.01 }), loss: 'squared_hinge', seed: 5 });
  return compileNetwork(model);
}

describe('ONNX export of ternary, log and DoReFa layers', () => {
  // QONNX files use the QONNX custom operators, which ONNX Runtime does not run, so only plain ONNX is checked here.
  test('ONNX Runtime matches the packed engine', async () => {
    const train = randomSamples(61, 64);
    const heldOut = randomSamples(62, 300);
    const network = trainedQuantizerNetwork(train);

    const packed = runPacked(network, new ReferenceBackend(), heldOut.samples, 50);
    const onnx = await runInOnnxRuntime(exportOnnx(network, { format: 'onnx' }), heldOut.samples, [FEATURES]);

    // The codes pass through integer thresholds exactly; only the float32 epilogue constants may round.
    assert.ok(maxAbsDifference(onnx, packed) <= 1e-5, `max score difference ${maxAbsDifference(onnx, packed)}`);
    assert.deepEqual(argmaxRows(onnx, CLASSES), argmaxRows(packed, CLASSES));
  });
});

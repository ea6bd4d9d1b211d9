import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { compileNetwork } from '../../sdk/compile/compile-model.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { ShiftBatchNorm } from '../../sdk/layers/shift-batch-norm.js';
import { ShiftAdaMax } from '../../sdk/optimizers/shift-adamax.js';
import { binaryConvNet, fastMnistConvNet } from '../../sdk/models/binary-convnet.js';
import { SeededRandom } from '../helpers/random.js';

describe('binaryConvNet', () => {
  test('fast-mnist-convnet shapes', () => {
    const model = fastMnistConvNet(1);
    const kernels = model.parameters().filter((p) => p.name.endsWith('/kernel'));

    assert.deepEqual(model.outputShape, [10]);
    assert.deepEqual(kernels.map((p) => [p.name, p.value.shape]), [
      ['conv_0/kernel', [3, 3, 1, 32]],
      ['conv_1/kernel', [3, 3, 32, 64]],
      // VALID 3x3 convolutions and 2x2 pools: 28 -> 26 -> 13 -> 11 -> 5.
      ['dense_0/kernel', [5 * 5 * 64, 256]],
      ['scores/kernel', [256, 10]],
    ]);
    assert.deepEqual(model.layers.map((l) => l.constructor.name), [
      'QuantConv2D', 'MaxPool2D', 'BatchNorm', 'QuantConv2D', 'MaxPool2D', 'BatchNorm', 'Flatten', 'QuantDense', 'BatchNorm', 'QuantDense', 'BatchNorm',
    ]);
  });

  test('fast-mnist-convnet compiles to matching scores', async () => {
    const model = fastMnistConvNet(2);
    // Moved running statistics, so the thresholds are not all at zero.
    const random = new SeededRandom(8);
    for (const layer of model.layers) {
      if (!(layer instanceof BatchNorm)) continue;
      for (let c = 0; c < layer.features; c++) {
        layer.runningMean[c] = layer.name === 'conv_batch_norm_0' ? 0.3 * random.next() - 0.15 : 4 * random.next() - 2;
        layer.gamma.data[c] = random.next() < 0.2 ? -0.5 : 1;
      }
    }
    const samples = Uint8Array.from({ length: 3 * 784 }, () => random.int(0, 255));
    const expected = model.predict(Float32Array.from(samples, (v) => v / 256));
    const actual = runPacked(compileNetwork(model), await createWasmBackend(), samples);

    for (let i = 0; i < expected.length; i++) {
      assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-5 * Math.max(Math.abs(expected[i]), 1), `score ${i}: packed ${actual[i]}, predict ${expected[i]}`);
    }
  });

  test('shift-based batch norm compiles to matching scores', async () => {
    const model = binaryConvNet({ inputShape: [12, 12, 1], convBlocks: [{ filters: 6, pool: true }, { filters: 8, pool: true }], hidden: [16], classes: 10, batchNorm: 'shift', seed: 3 });
    const random = new SeededRandom(9);
    const samples = Uint8Array.from({ length: 48 * 144 }, () => random.int(0, 255));
    const labels = Int32Array.from({ length: 48 }, (_v, i) => i % 10);
    const inputs = Float32Array.from(samples, (v) => v / 256);
    model.fit(inputs, labels, { epochs: 2, batchSize: 16, optimizer: new ShiftAdaMax({ learningRate: 0.01 }), loss: 'squared_hinge', seed: 1 });

    const norms = model.layers.filter((layer) => layer instanceof BatchNorm);
    assert.equal(norms.length, 4);
    assert.ok(norms.every((layer) => layer instanceof ShiftBatchNorm), 'every batch norm is shift-based');
    const actual = runPacked(compileNetwork(model), await createWasmBackend(), samples);
    assert.deepEqual(Array.from(actual), Array.from(model.predict(inputs)));
  });

  test('zero padding and no pooling', () => {
    const model = binaryConvNet({ inputShape: [6, 6, 2], convBlocks: [{ filters: 3, kernelSize: 5 }], hidden: [], classes: 4, padValue: 0, padding: 'valid', seed: 1 });
    const conv = model.layers[0] as unknown as { padValue: number; padding: string; inputQuantizer: unknown };

    assert.deepEqual(model.layers.map((l) => l.constructor.name), ['QuantConv2D', 'BatchNorm', 'Flatten', 'QuantDense', 'BatchNorm']);
    assert.deepEqual([conv.padValue, conv.padding, conv.inputQuantizer], [0, 'valid', null]);
    assert.deepEqual(model.layers[2].outputShape([2, 2, 3]), [12]);
  });
});

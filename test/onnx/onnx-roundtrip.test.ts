import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import type { WasmBackend } from '../../sdk/backends/wasm-backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import type { PackedNetwork } from '../../sdk/compile/graph.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { loadMnistTest } from '../../sdk/data/mnist.js';
import { loadQnnNetwork } from '../../sdk/format/qnn-file.js';
import { exportOnnx } from '../../sdk/onnx/export-onnx.js';
import { importOnnx } from '../../sdk/onnx/import-onnx.js';
import { randomConvNetwork } from './onnx-fixtures.js';

const MODEL_PATH = fileURLToPath(new URL('../../../pretrained/mnist-bnn.qnn', import.meta.url));

describe('ONNX export then import', () => {
  let backend: WasmBackend;
  let images: Uint8Array;

  before(async () => {
    backend = await createWasmBackend();
    images = (await loadMnistTest({ testLimit: 1000 })).images;
  });
  after(async () => {
    await backend.dispose();
  });

  /** Asserts that the imported network gives bit-identical scores to the original on the test images. */
  function assertSameScores(original: PackedNetwork, imported: PackedNetwork, count: number): void {
    const samples = images.subarray(0, count * 784);
    assert.deepEqual(imported.inputShape, original.inputShape);
    assert.deepEqual(imported.layers.map((layer) => layer.kind), original.layers.map((layer) => layer.kind));
    assert.deepEqual(runPacked(imported, backend, samples), runPacked(original, backend, samples));
  }

  for (const format of ['qonnx', 'onnx'] as const) {
    test(`mnist-bnn.qnn through ${format}`, async () => {
      const network = await loadQnnNetwork(MODEL_PATH);
      const imported = importOnnx(exportOnnx(network, { format }), { source: `mnist-bnn.${format}` });

      assertSameScores(network, imported, 1000);
      const first = imported.layers[0];
      assert.equal(first.kind, 'dense');
      assert.deepEqual(first.weights, (network.layers[0] as typeof first).weights);
    });

    for (const padValue of [1, 0, -1] as const) {
      test(`conv network through ${format}, pad value ${padValue}`, () => {
        const network = randomConvNetwork(20 + padValue, padValue);
        const imported = importOnnx(exportOnnx(network, { format }));

        // The packed first convolution is slow on WASM (about 2 ms per image), so 200 images keep the suite short.
        assertSameScores(network, imported, 200);
      });
    }
  }
});

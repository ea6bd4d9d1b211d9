// The Node bundle built by rollup: one file that trains, compiles and runs packed inference on WASM.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type * as Sdk from '../../sdk/index.js';

const bundleUrl = new URL('../../bundles/node/qnn-sdk.mjs', import.meta.url);

test('node bundle trains and runs packed', async () => {
  const sdk = (await import(bundleUrl.href)) as typeof Sdk;
  const backend = await sdk.createWasmBackend();
  sdk.setBackend(backend);

  // Three classes, distinguished by which third of the 48 pixels is bright.
  const count = 300;
  const features = 48;
  const random = new sdk.Random(3);
  const pixels = new Uint8Array(count * features);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 3;
    for (let j = 0; j < features; j++) pixels[i * features + j] = Math.floor(random.next() * 100) + (Math.floor(j / 16) === labels[i] ? 150 : 0);
  }
  const inputs = Float32Array.from(pixels, (p) => p / 256);
  const model = new sdk.Sequential([
    new sdk.QuantDense(32, { inputQuantizer: null }),
    new sdk.BatchNorm(),
    new sdk.QuantDense(3),
    new sdk.BatchNorm(),
  ]).build([features], 1);

  model.fit(inputs, labels, { epochs: 3, batchSize: 30, optimizer: new sdk.Adam({ learningRate: 0.01 }), loss: 'softmax_cross_entropy', seed: 2 });
  const { error, scores } = model.evaluate(inputs, labels);
  const packedScores = sdk.runPacked(sdk.decodeQnn(sdk.encodeQnn(sdk.compileModel(model))), backend, pixels);

  assert.equal(backend.name, 'wasm-simd');
  assert.ok(error < 0.1, `training error ${error} on separable data`);
  assert.deepEqual(Array.from(packedScores), Array.from(scores));
});

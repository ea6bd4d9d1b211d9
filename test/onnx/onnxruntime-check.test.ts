import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import type { WasmBackend } from '../../sdk/backends/wasm-backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import type { PackedNetwork } from '../../sdk/compile/graph.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { type MnistSplit, MNIST_CLASSES, loadMnistTest } from '../../sdk/data/mnist.js';
import { loadQnnNetwork } from '../../sdk/format/qnn-file.js';
import { exportOnnx } from '../../sdk/onnx/export-onnx.js';
import { argmaxRows, maxAbsDifference, randomConvNetwork, randomKbitNetwork, runInOnnxRuntime } from './onnx-fixtures.js';

const MODEL_PATH = fileURLToPath(new URL('../../../pretrained/mnist-bnn.qnn', import.meta.url));

/** Exports `network`, runs it in ONNX Runtime on every test image and compares with the packed engine. */
async function checkInOnnxRuntime(network: PackedNetwork, format: 'onnx' | 'qonnx', mnist: MnistSplit, backend: WasmBackend): Promise<number> {
  const packedScores = runPacked(network, backend, mnist.images);
  const onnxScores = await runInOnnxRuntime(exportOnnx(network, { format }), mnist.images, network.inputShape);

  assert.equal(onnxScores.length, mnist.count * MNIST_CLASSES);
  assert.deepEqual(argmaxRows(onnxScores, MNIST_CLASSES), argmaxRows(packedScores, MNIST_CLASSES));
  return maxAbsDifference(onnxScores, packedScores);
}

function firstImages(split: MnistSplit, count: number): MnistSplit {
  return { ...split, images: split.images.subarray(0, count * 784), labels: split.labels.subarray(0, count), count };
}

describe('ONNX Runtime runs exported models', () => {
  let mnist: MnistSplit;
  let backend: WasmBackend;

  before(async () => {
    mnist = await loadMnistTest();
    backend = await createWasmBackend();
  });
  after(async () => {
    await backend.dispose();
  });

  test('mnist-bnn.qnn predictions on 10,000 images', async (context) => {
    const network = await loadQnnNetwork(MODEL_PATH);
    const difference = await checkInOnnxRuntime(network, 'onnx', mnist, backend);

    assert.equal(mnist.count, 10_000);
    context.diagnostic(`mnist-bnn.qnn: ONNX Runtime vs packed engine, max score difference ${difference} on ${mnist.count} images`);
    assert.equal(difference, 0, 'the score epilogue is the same float32 steps, so scores match bit for bit');
  });

  // The packed engine needs about 20 s for this network on all 10,000 images on 2 shared cores, so it checks the first 2,000.
  test('conv network predictions on 2,000 images', async (context) => {
    const network = randomConvNetwork(7);
    const images = firstImages(mnist, 2000);
    const difference = await checkInOnnxRuntime(network, 'onnx', images, backend);

    context.diagnostic(`conv network: ONNX Runtime vs packed engine, max score difference ${difference} on ${images.count} images`);
    assert.ok(difference <= 1e-5, `max score difference ${difference}`);
  });

  test('conv network with zero padding', async () => {
    const network = randomConvNetwork(11, 0);
    const images = firstImages(mnist, 1000);
    const difference = await checkInOnnxRuntime(network, 'onnx', images, backend);

    assert.ok(difference <= 1e-5, `max score difference ${difference}`);
  });

  test('k-bit network predictions on 10,000 images', async (context) => {
    const network = randomKbitNetwork(5);
    assert.deepEqual(network.layers.map((layer) => (layer.kind === 'dense-kbit' ? `${layer.kind}:${layer.output.kind}` : layer.kind)), ['dense-kbit:codes', 'dense-kbit:signs', 'dense']);
    const difference = await checkInOnnxRuntime(network, 'onnx', mnist, backend);

    context.diagnostic(`k-bit network: ONNX Runtime vs packed engine, max score difference ${difference} on ${mnist.count} images`);
    assert.ok(difference <= 1e-5, `max score difference ${difference}`);
  });
});

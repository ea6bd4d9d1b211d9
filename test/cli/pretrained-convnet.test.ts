// The shipped binarized ConvNet (pretrained/mnist-convnet.qnn, the mnist-convnet preset after 15 epochs) on all
// 10,000 MNIST test images: its recorded test error, so a change to the packed engine or the .qnn reader that
// alters any of its predictions fails here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { MNIST_CLASSES, loadMnistTest } from '../../sdk/data/mnist.js';
import { loadQnnNetwork } from '../../sdk/format/qnn-file.js';
import { argmax } from '../../sdk/training/metrics.js';

const MODEL_PATH = fileURLToPath(new URL('../../../pretrained/mnist-convnet.qnn', import.meta.url));

test('pretrained ConvNet keeps 0.96% test error', async () => {
  const [network, mnist, backend] = await Promise.all([loadQnnNetwork(MODEL_PATH), loadMnistTest(), createWasmBackend()]);

  const predicted = argmax(runPacked(network, backend, mnist.images), mnist.count, MNIST_CLASSES);
  const wrong = predicted.filter((label, i) => label !== mnist.labels[i]).length;

  assert.equal(mnist.count, 10000);
  assert.equal(wrong, 96);
});

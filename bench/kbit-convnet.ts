// k-bit ConvNet on real MNIST, compiled to the packed graph: 28x28x1 - 16C3 (2-bit
// weights) - MP2 - BN - 32C3 (2-bit weights, 2-bit inputs) - BN - MP2 - GlobalAveragePooling2D
// - 10 (2-bit weights, inputs of --dense-input-bits bits, default 2) - BN, SAME one padding, Adam, squared hinge, seed 1,
// WASM backend. Prints the test error of the training graph and of the packed graph,
// whether their scores are bit-identical, and the packed throughput.
//   node dist/bench/kbit-convnet.js [--train-limit N] [--test-limit N] [--epochs E] [--dense-input-bits B]
import { parseArgs } from 'node:util';

import { setBackend } from '../sdk/backends/active-backend.js';
import { createWasmBackend } from '../sdk/backends/create-wasm-backend.js';
import { compileNetwork } from '../sdk/compile/compile-model.js';
import { runPacked } from '../sdk/compile/run-packed.js';
import { loadMnist } from '../sdk/data/mnist.js';
import { encodeQnn } from '../sdk/format/qnn-encode.js';
import { BatchNorm } from '../sdk/layers/batch-norm.js';
import { Dense } from '../sdk/layers/dense.js';
import { GlobalAveragePooling2D } from '../sdk/layers/global-average-pooling2d.js';
import { MaxPool2D } from '../sdk/layers/max-pool2d.js';
import { QuantConv2D } from '../sdk/layers/quant-conv2d.js';
import { Sequential } from '../sdk/layers/sequential.js';
import { Adam } from '../sdk/optimizers/adam.js';
import { fit } from '../sdk/training/fit.js';
import { classificationError, compareScores } from '../sdk/training/metrics.js';

const CLASSES = 10;
const TWO_BITS = { kind: 'linear', bits: 2 } as const;

function kbitConvNet(denseInputBits: number): Sequential {
  return new Sequential([
    new QuantConv2D(16, 3, { kernelQuantizer: TWO_BITS, inputQuantizer: null, name: 'conv_input' }),
    new MaxPool2D(2),
    new BatchNorm(),
    new QuantConv2D(32, 3, { kernelQuantizer: TWO_BITS, inputQuantizer: TWO_BITS, name: 'conv_hidden' }),
    new BatchNorm(),
    new MaxPool2D(2),
    new GlobalAveragePooling2D(),
    new Dense(CLASSES, { kernelQuantizer: TWO_BITS, inputQuantizer: { kind: 'linear', bits: denseInputBits }, name: 'scores' }),
    new BatchNorm(),
  ]).build([28, 28, 1], 1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'train-limit': { type: 'string' }, 'test-limit': { type: 'string' }, epochs: { type: 'string' }, 'dense-input-bits': { type: 'string' } } });
  const trainLimit = Number(values['train-limit'] ?? 10000);
  const testLimit = Number(values['test-limit'] ?? 10000);
  const epochs = Number(values.epochs ?? 1);
  const denseInputBits = Number(values['dense-input-bits'] ?? 2);
  const backend = await createWasmBackend();
  setBackend(backend);

  const { train, test } = await loadMnist({ trainLimit, testLimit });
  const model = kbitConvNet(denseInputBits);
  const started = performance.now();
  fit(model, Float32Array.from(train.images, (v) => v / 256), train.labels, { epochs, batchSize: 100, optimizer: new Adam({ learningRate: 0.01 }), loss: 'squared_hinge', seed: 1 });
  const trainSeconds = (performance.now() - started) / 1000;

  const expected = model.predict(Float32Array.from(test.images, (v) => v / 256));
  const network = compileNetwork(model);
  const packedStarted = performance.now();
  const scores = runPacked(network, backend, test.images, 500);
  const packedSeconds = (performance.now() - packedStarted) / 1000;
  const bitIdentical = scores.every((score, i) => Object.is(score, expected[i]));

  console.log(
    JSON.stringify({
      trainLimit,
      testLimit,
      epochs,
      denseInputBits,
      layers: network.layers.map((layer) => layer.kind),
      trainingGraphError: classificationError(expected, test.labels, CLASSES),
      packedGraphError: classificationError(scores, test.labels, CLASSES),
      ...compareScores(scores, expected, test.count, CLASSES),
      bitIdentical,
      qnnBytes: encodeQnn(network).length,
      packedImagesPerSecond: Math.round(test.count / packedSeconds),
      trainSeconds: Math.round(trainSeconds),
    }),
  );
}

await main();

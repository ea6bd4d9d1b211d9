// Agreement of the packed engine with the training graph for ternary, log,
// DoReFa and linear quantizers on real MNIST. A 784-64-64-10 MLP with batch
// norm is trained briefly (Adam, squared hinge, seed 1) and compiled with
// compileNetwork, and both graphs score the first test images. --backend picks
// the backend of training, of the training graph's scores and of runPacked:
// the reference backend sums float products in float64, WASM in float32.
//   node dist/bench/kbit-quantizer-agreement.js [--train-limit N] [--test-limit N] [--backend reference|wasm] [--json]
import { parseArgs } from 'node:util';

import { setBackend } from '../sdk/backends/active-backend.js';
import type { Backend } from '../sdk/backends/backend.js';
import { createWasmBackend } from '../sdk/backends/create-wasm-backend.js';
import { ReferenceBackend } from '../sdk/backends/reference-backend.js';
import { compileNetwork } from '../sdk/compile/compile-model.js';
import type { PackedDenseKbitLayer } from '../sdk/compile/graph.js';
import { runPacked } from '../sdk/compile/run-packed.js';
import { loadMnist } from '../sdk/data/mnist.js';
import { BatchNorm } from '../sdk/layers/batch-norm.js';
import { Dense } from '../sdk/layers/dense.js';
import { Sequential } from '../sdk/layers/sequential.js';
import { Adam } from '../sdk/optimizers/adam.js';
import type { Quantizer } from '../sdk/quantizers/quantizer-spec.js';
import { fit } from '../sdk/training/fit.js';
import { argmax } from '../sdk/training/metrics.js';

const CLASSES = 10;
const FEATURES = 784;

interface Variant {
  name: string;
  kernel: Quantizer;
  input: Quantizer;
}

const VARIANTS: Variant[] = [
  { name: 'ternary / ternary', kernel: { kind: 'ternary' }, input: { kind: 'ternary' } },
  { name: 'log 2-bit / log 1-bit', kernel: { kind: 'log', bits: 2 }, input: { kind: 'log', bits: 1 } },
  { name: 'log 1-bit / log 2-bit', kernel: { kind: 'log', bits: 1 }, input: { kind: 'log', bits: 2 } },
  { name: 'linear 2-bit / linear 2-bit', kernel: { kind: 'linear', bits: 2 }, input: { kind: 'linear', bits: 2 } },
  { name: 'DoReFa 1-bit / DoReFa 1-bit', kernel: { kind: 'dorefa', bits: 1 }, input: { kind: 'dorefa', bits: 1 } },
  { name: 'DoReFa 2-bit / DoReFa 2-bit', kernel: { kind: 'dorefa', bits: 2 }, input: { kind: 'dorefa', bits: 2 } },
  { name: 'DoReFa 4-bit / DoReFa 4-bit', kernel: { kind: 'dorefa', bits: 4 }, input: { kind: 'dorefa', bits: 4 } },
  { name: 'DoReFa 3-bit / DoReFa 4-bit', kernel: { kind: 'dorefa', bits: 3 }, input: { kind: 'dorefa', bits: 4 } },
];

interface Row {
  variant: string;
  weightPlanes: number[];
  accuracy: number;
  equalPredictions: number;
  identicalScores: number;
  /** Fraction of rows with a score more than 1e-4 away, the mark of a hidden code or sign that flipped. */
  flippedRows: number;
  maxScoreDifference: number;
}

/** Score difference above which a row counts as flipped: far above float32 rounding of O(1) scores, far below one code step. */
const FLIP_DIFFERENCE = 1e-4;

function mlp(kernelQuantizer: Quantizer, inputQuantizer: Quantizer): Sequential {
  return new Sequential([
    new Dense(64, { kernelQuantizer, inputQuantizer: null, kernelClip: 1 }),
    new BatchNorm(),
    new Dense(64, { kernelQuantizer, inputQuantizer, kernelClip: 1 }),
    new BatchNorm(),
    new Dense(CLASSES, { kernelQuantizer, inputQuantizer, kernelClip: 1, useBias: false }),
    new BatchNorm(),
  ]).build([FEATURES], 1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'train-limit': { type: 'string', default: '5000' },
      'test-limit': { type: 'string', default: '2000' },
      backend: { type: 'string', default: 'reference' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.backend !== 'reference' && values.backend !== 'wasm') throw new Error(`--backend must be 'reference' or 'wasm', got '${values.backend}'`);
  const backend: Backend = values.backend === 'wasm' ? await createWasmBackend() : new ReferenceBackend();
  setBackend(backend);

  const mnist = await loadMnist({ trainLimit: Number(values['train-limit']), testLimit: Number(values['test-limit']) });
  const trainInputs = Float32Array.from(mnist.train.images, (v) => v / 256);
  const trainLabels = Int32Array.from(mnist.train.labels);
  const testInputs = Float32Array.from(mnist.test.images, (v) => v / 256);
  const count = mnist.test.count;
  const rows: Row[] = [];

  for (const variant of VARIANTS) {
    const model = mlp(variant.kernel, variant.input);
    fit(model, trainInputs, trainLabels, { epochs: 1, batchSize: 100, optimizer: new Adam({ learningRate: 0.003 }), loss: 'squared_hinge', seed: 1 });

    const network = compileNetwork(model);
    const expected = model.predict(testInputs);
    const packed = runPacked(network, backend, mnist.test.images, 250);
    const expectedClasses = argmax(expected, count, CLASSES);
    const packedClasses = argmax(packed, count, CLASSES);

    let equal = 0;
    let correct = 0;
    let identical = 0;
    let flipped = 0;
    let maxDifference = 0;
    for (let s = 0; s < count; s++) {
      if (expectedClasses[s] === packedClasses[s]) equal++;
      if (packedClasses[s] === mnist.test.labels[s]) correct++;
      let same = true;
      let rowDifference = 0;
      for (let c = 0; c < CLASSES; c++) {
        const i = s * CLASSES + c;
        if (!Object.is(packed[i] + 0, expected[i] + 0)) same = false;
        rowDifference = Math.max(rowDifference, Math.abs(packed[i] - expected[i]));
      }
      if (same) identical++;
      if (rowDifference > FLIP_DIFFERENCE) flipped++;
      maxDifference = Math.max(maxDifference, rowDifference);
    }
    rows.push({
      variant: variant.name,
      weightPlanes: network.layers.map((layer) => (layer as PackedDenseKbitLayer).weightBits),
      accuracy: correct / count,
      equalPredictions: equal / count,
      identicalScores: identical / count,
      flippedRows: flipped / count,
      maxScoreDifference: maxDifference,
    });
  }

  if (values.json) {
    console.log(JSON.stringify({ backend: backend.name, trainImages: mnist.train.count, testImages: count, rows }, null, 2));
    return;
  }
  console.log(`MNIST 784-64-64-10, 1 epoch on ${mnist.train.count} images, scored on ${count} test images (${backend.name} backend)`);
  console.log('| kernel / input | weight planes | packed accuracy | equal predictions | bit-identical score rows | rows off by > 1e-4 | max score difference |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) {
    const percent = (x: number) => `${(100 * x).toFixed(2)} %`;
    console.log(`| ${row.variant} | ${row.weightPlanes.join(', ')} | ${percent(row.accuracy)} | ${percent(row.equalPredictions)} | ${percent(row.identicalScores)} | ${percent(row.flippedRows)} | ${row.maxScoreDifference.toExponential(2)} |`);
  }
}

await main();

// Compares two .qnn models on the MNIST test set: how many packed predictions agree and how many packed
// weight words differ. Used to compare a model trained on WebGPU with one trained on WASM.
// Usage: node dist/bench/compare-models.js A.qnn B.qnn
import { createWasmBackend } from '../sdk/backends/create-wasm-backend.js';
import { runPacked } from '../sdk/compile/run-packed.js';
import { loadMnistTest, MNIST_CLASSES } from '../sdk/data/mnist.js';
import { loadQnnNetwork } from '../sdk/format/qnn-file.js';
import { compareScores } from '../sdk/training/metrics.js';

const [pathA, pathB] = process.argv.slice(2);
if (pathA === undefined || pathB === undefined) {
  console.error('usage: node dist/bench/compare-models.js A.qnn B.qnn');
  process.exit(2);
}

const backend = await createWasmBackend();
const test = await loadMnistTest();
const [a, b] = await Promise.all([loadQnnNetwork(pathA), loadQnnNetwork(pathB)]);
const scoresA = runPacked(a, backend, test.images);
const scoresB = runPacked(b, backend, test.images);
const { predictionMatch } = compareScores(scoresA, scoresB, test.count, MNIST_CLASSES);

// Layers without weights (pooling, flatten) count no words.
let differingWeightWords = 0;
let weightWords = 0;
a.layers.forEach((layer, index) => {
  const wordsA = 'weights' in layer ? layer.weights : new Uint32Array(0);
  const other = b.layers[index];
  const wordsB = other !== undefined && 'weights' in other ? other.weights : new Uint32Array(0);
  weightWords += Math.max(wordsA.length, wordsB.length);
  for (let i = 0; i < Math.max(wordsA.length, wordsB.length); i++) if (wordsA[i] !== wordsB[i]) differingWeightWords++;
});

console.log(JSON.stringify({ testImages: test.count, equalPredictions: Math.round(predictionMatch * test.count), weightWords, differingWeightWords }));
process.exit(0);

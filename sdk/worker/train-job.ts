/**
 * One training run as the worker performs it: checks the request, builds the
 * preset model, trains on the chosen backend, compiles to the packed graph,
 * encodes the .qnn bytes and measures the packed model. It has no worker
 * globals, so Node tests call it directly.
 */
import { setBackend } from '../backends/active-backend.js';
import type { Backend } from '../backends/backend.js';
import { selectBackends } from '../backends/select-backends.js';
import { compileNetwork } from '../compile/compile-model.js';
import type { PackedNetwork } from '../compile/graph.js';
import { runPacked } from '../compile/run-packed.js';
import { QnnError, ShapeError } from '../errors.js';
import { decodeQnnNetwork } from '../format/qnn-decode.js';
import { encodeQnn } from '../format/qnn-encode.js';
import type { Sequential } from '../layers/sequential.js';
import { binaryMlp } from '../models/binary-mlp.js';
import { Adam, exponentialDecay } from '../optimizers/adam.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { ShiftAdaMax } from '../optimizers/shift-adamax.js';
import { type EpochReport, type FitOptions, fit } from '../training/fit.js';
import { argmax } from '../training/metrics.js';
import { fitWebGpu } from '../../gpu/training/fit-webgpu.js';
import type { BatchEvent, EpochEvent, TrainConfig, TrainReport, WorkerDataset } from './protocol.js';

export type BatchProgress = Omit<BatchEvent, 'type' | 'id'>;
export type EpochProgress = Omit<EpochEvent, 'type' | 'id'>;

export interface TrainJobHooks {
  onBatch?: (progress: BatchProgress) => void;
  onEpoch?: (progress: EpochProgress) => void;
  /** Receives the line that backend 'auto' writes when it falls back to WASM. */
  log?: (line: string) => void;
}

export interface TrainJobResult {
  qnn: Uint8Array;
  report: TrainReport;
  /** The packed graph decoded back from `qnn`, ready for runPacked. */
  network: PackedNetwork;
  /** The synchronous CPU backend the run used, which runs the packed graph. */
  cpu: Backend;
}

/** Scale of one input byte: the compiler's default inputScale, so the packed first layer sums exactly what training saw. */
const INPUT_SCALE = 1 / 256;

/**
 * Trains the model that `config` describes and returns the compiled .qnn bytes
 * with a report. Throws ShapeError or QnnError naming the config field at
 * fault before any training starts.
 */
export async function runTrainJob(config: TrainConfig, hooks: TrainJobHooks = {}): Promise<TrainJobResult> {
  checkConfig(config);
  const started = performance.now();
  const train = datasetBytes(config.train, 'train', config.classes);
  const test = config.test === undefined ? undefined : datasetBytes(config.test, 'test', config.classes);
  if (test !== undefined && config.test!.features !== config.train.features) {
    throw new ShapeError(`train config: test.features is ${config.test!.features} but train.features is ${config.train.features}; both sets need the same sample size`);
  }

  const selection = await selectBackends(config.backend ?? 'wasm', { log: hooks.log });
  setBackend(selection.cpu);
  const model = buildModel(config);
  const trainInputs = scaled(train.bytes);
  const testInputs = test === undefined ? undefined : scaled(test.bytes);
  const every = config.batchEventEvery ?? 1;
  const epochs: EpochProgress[] = [];

  const options: FitOptions = {
    epochs: config.epochs,
    batchSize: config.batchSize,
    optimizer: buildOptimizer(config),
    loss: config.loss ?? 'softmax_cross_entropy',
    seed: config.seed,
    learningRateSchedule: config.finalLearningRate === undefined ? undefined : exponentialDecay(config.learningRate, config.finalLearningRate, config.epochs),
    onBatchEnd: (report) => {
      if ((report.batch + 1) % every !== 0 && report.batch !== report.batches - 1) return;
      hooks.onBatch?.({ ...report, seconds: (performance.now() - started) / 1000 });
    },
    onEpochEnd: (report: EpochReport) => {
      // WebGPU keeps the weights on the device until fitWebGpu returns, so only the CPU path can test mid-run.
      const testAccuracy = testInputs === undefined || selection.webgpu !== null ? undefined : model.evaluate(testInputs, test!.labels).accuracy;
      const progress: EpochProgress = { ...report, ...(testAccuracy === undefined ? {} : { testAccuracy }) };
      epochs.push(progress);
      hooks.onEpoch?.(progress);
    },
  };
  if (selection.webgpu === null) fit(model, trainInputs, train.labels, options);
  else await fitWebGpu(model, trainInputs, train.labels, options, selection.webgpu);

  // The report measures the decoded file, so it vouches for the bytes the caller receives.
  const qnn = encodeQnn(compileNetwork(model, { inputScale: INPUT_SCALE }));
  const network = decodeQnnNetwork(qnn, 'the trained model');
  const measured = test ?? train;
  const floatScores = model.predict(testInputs ?? trainInputs);
  const packedScores = runPacked(network, selection.cpu, measured.bytes);
  const packedTrainScores = test === undefined ? packedScores : runPacked(network, selection.cpu, train.bytes);

  const report: TrainReport = {
    architecture: [config.train.features, ...config.model.hidden, config.classes].join('-'),
    backend: selection.name,
    epochs,
    seconds: (performance.now() - started) / 1000,
    packedTrainAccuracy: accuracy(packedTrainScores, train.labels, config.classes),
    packedAgreement: agreement(floatScores, packedScores, measured.labels.length, config.classes),
  };
  if (test !== undefined) {
    report.testAccuracy = accuracy(floatScores, test.labels, config.classes);
    report.packedTestAccuracy = accuracy(packedScores, test.labels, config.classes);
  }
  return { qnn, report, network, cpu: selection.cpu };
}

function checkConfig(config: TrainConfig): void {
  if (config.model?.kind !== 'mlp') throw new QnnError(`train config: model.kind must be 'mlp', got '${String(config.model?.kind)}'`);
  const hidden = config.model.hidden;
  if (!Array.isArray(hidden) || hidden.some((units) => !Number.isInteger(units) || units <= 0)) {
    throw new QnnError(`train config: model.hidden must list positive integer widths, got ${JSON.stringify(hidden)}`);
  }
  positiveInteger(config.classes, 'classes');
  if (config.classes < 2) throw new QnnError(`train config: classes must be at least 2, got ${config.classes}`);
  positiveInteger(config.epochs, 'epochs');
  positiveInteger(config.batchSize, 'batchSize');
  positiveInteger(config.batchEventEvery ?? 1, 'batchEventEvery');
  if (!(config.learningRate > 0)) throw new QnnError(`train config: learningRate must be a positive number, got ${config.learningRate}`);
  if (config.finalLearningRate !== undefined && !(config.finalLearningRate > 0)) {
    throw new QnnError(`train config: finalLearningRate must be a positive number, got ${config.finalLearningRate}`);
  }
  if (config.optimizer !== 'adam' && config.optimizer !== 'shift-adamax') {
    throw new QnnError(`train config: optimizer must be 'adam' or 'shift-adamax', got '${String(config.optimizer)}'`);
  }
  if (!Number.isInteger(config.seed)) throw new QnnError(`train config: seed must be an integer, got ${config.seed}`);
}

function positiveInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new QnnError(`train config: ${field} must be a positive integer, got ${value}`);
}

/** The samples as bytes, the packed model's input; float32 values in [0, 1) become round(x * 256), clamped to 255. */
function datasetBytes(dataset: WorkerDataset, field: string, classes: number): { bytes: Uint8Array; labels: Uint8Array } {
  const { inputs, labels, features } = dataset;
  if (!Number.isInteger(features) || features <= 0) throw new ShapeError(`train config: ${field}.features must be a positive integer, got ${features}`);
  if (labels.length === 0) throw new ShapeError(`train config: ${field} has no samples`);
  if (inputs.length !== labels.length * features) {
    throw new ShapeError(`train config: ${field}.inputs holds ${inputs.length} values, but ${labels.length} labels of ${features} features need ${labels.length * features}`);
  }
  const badLabel = labels.findIndex((label) => label >= classes);
  if (badLabel >= 0) throw new ShapeError(`train config: ${field}.labels[${badLabel}] is ${labels[badLabel]}, outside 0..${classes - 1} (classes is ${classes})`);
  if (inputs instanceof Uint8Array) return { bytes: inputs, labels };

  const bytes = new Uint8Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const value = inputs[i];
    if (!(value >= 0 && value < 1)) {
      throw new ShapeError(`train config: ${field}.inputs[${i}] is ${value}; float inputs must lie in [0, 1) (or send bytes as a Uint8Array)`);
    }
    bytes[i] = Math.min(255, Math.round(value / INPUT_SCALE));
  }
  return { bytes, labels };
}

function scaled(bytes: Uint8Array): Float32Array {
  return Float32Array.from(bytes, (byte) => byte * INPUT_SCALE);
}

function buildModel(config: TrainConfig): Sequential {
  const { hidden, dropout, batchNorm } = config.model;
  return binaryMlp({ inputs: config.train.features, hidden, classes: config.classes, dropout, batchNorm, seed: config.seed });
}

function buildOptimizer(config: TrainConfig): Optimizer {
  return config.optimizer === 'adam' ? new Adam({ learningRate: config.learningRate }) : new ShiftAdaMax({ learningRate: config.learningRate });
}

function accuracy(scores: Float32Array, labels: Uint8Array, classes: number): number {
  const predicted = argmax(scores, labels.length, classes);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

function agreement(a: Float32Array, b: Float32Array, rows: number, classes: number): number {
  const first = argmax(a, rows, classes);
  const second = argmax(b, rows, classes);
  let same = 0;
  for (let i = 0; i < rows; i++) if (first[i] === second[i]) same++;
  return same / rows;
}

/**
 * Fine-tunes an unpacked network on a few labelled samples (drawings), mixed
 * with replayed samples of the original training set so the model does not
 * forget the classes the new samples leave out.
 */
import { runPacked } from '../compile/run-packed.js';
import { compileModel } from '../compile/compile-model.js';
import type { PackedModel, PackedNetwork } from '../compile/graph.js';
import type { Backend } from '../backends/backend.js';
import { QnnError, ShapeError } from '../errors.js';
import { Dense } from '../layers/dense.js';
import { Adam } from '../optimizers/adam.js';
import { type EpochReport, fit } from '../training/fit.js';
import { argmax } from '../training/metrics.js';
import type { UnpackedNetwork } from './unpack-network.js';

export interface FineTuneOptions {
  epochs: number;
  /** Default 32. */
  batchSize?: number;
  /** Adam learning rate; binary kernels scale it by their Glorot factor. Default 1e-3. */
  learningRate?: number;
  /** Seed of the data order. */
  seed: number;
  /** Samples of the original training set (uint8, one row per sample) trained on beside the new ones; default none. */
  replay?: { images: Uint8Array; labels: ArrayLike<number> };
  /** Copies of each new sample per epoch, so a few drawings weigh against many replay samples. Default 1. */
  repeats?: number;
  /**
   * Index of the first dense layer whose kernel is trained; the kernels before
   * it keep their signs. Default: the last (score) layer only. On the MNIST
   * model with six drawings and 100 replay digits (demos/finetune-sweep.mjs),
   * training from layer 1 cost 15 to 30 points of MNIST accuracy, and training
   * the score layer alone cost 1.5.
   */
  trainFrom?: number;
  onEpochEnd?: (report: EpochReport) => void;
}

/**
 * Trains the latent kernels of `unpacked` on uint8 `images` (one row of
 * `features` bytes per sample) and their labels, plus the replay samples, with
 * softmax cross-entropy and Adam, then compiles the result to a packed model.
 * Batch norms stay frozen (FrozenBatchNorm), so only weight signs can change.
 */
export function fineTune(
  unpacked: UnpackedNetwork,
  images: Uint8Array,
  labels: ArrayLike<number>,
  options: FineTuneOptions,
): { network: PackedModel; reports: EpochReport[] } {
  const features = unpacked.model.inputShape.reduce((a, b) => a * b, 1);
  const count = checkSamples('images', images, labels, features);
  if (count === 0) throw new QnnError('fineTune: no samples to fine-tune on; label at least one drawing');
  const repeats = options.repeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1) throw new QnnError(`fineTune: repeats must be a positive integer, got ${repeats}`);
  const replay = options.replay ?? { images: new Uint8Array(0), labels: [] };
  const replayCount = checkSamples('replay.images', replay.images, replay.labels, features);

  // The model sees uint8 * inputScale, the input the packed model's thresholds were made for.
  const total = count * repeats + replayCount;
  const inputs = new Float32Array(total * features);
  const targets = new Int32Array(total);
  let row = 0;
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < count; i++, row++) {
      for (let f = 0; f < features; f++) inputs[row * features + f] = images[i * features + f] * unpacked.inputScale;
      targets[row] = labels[i];
    }
  }
  for (let i = 0; i < replayCount; i++, row++) {
    for (let f = 0; f < features; f++) inputs[row * features + f] = replay.images[i * features + f] * unpacked.inputScale;
    targets[row] = replay.labels[i];
  }

  // A kernel without requiresGrad gets no gradient, so Adam leaves it as it is.
  const kernels = unpacked.model.layers.filter((layer): layer is Dense => layer instanceof Dense).map((dense) => dense.kernel);
  const trainFrom = options.trainFrom ?? kernels.length - 1;
  if (!Number.isInteger(trainFrom) || trainFrom < 0 || trainFrom >= kernels.length) {
    throw new QnnError(`fineTune: trainFrom must be a dense layer index 0..${kernels.length - 1}, got ${trainFrom}`);
  }
  kernels.forEach((kernel, index) => (kernel.requiresGrad = index >= trainFrom));

  let reports: EpochReport[];
  try {
    reports = fit(unpacked.model, inputs, targets, {
      epochs: options.epochs,
      batchSize: options.batchSize ?? 32,
      optimizer: new Adam({ learningRate: options.learningRate ?? 1e-3 }),
      loss: 'softmax_cross_entropy',
      seed: options.seed,
      onEpochEnd: options.onEpochEnd,
    });
  } finally {
    kernels.forEach((kernel) => (kernel.requiresGrad = true));
  }
  return { network: compileModel(unpacked.model, { inputScale: unpacked.inputScale }), reports };
}

/** Returns the class the packed network picks for each uint8 sample. */
export function predictPacked(network: PackedNetwork, backend: Backend, images: Uint8Array): Int32Array {
  const scores = runPacked(network, backend, images);
  const last = network.layers[network.layers.length - 1];
  const classes = last.kind === 'dense' || last.kind === 'dense-kbit' ? last.units : 0;
  return argmax(scores, scores.length / classes, classes);
}

/** Fraction of samples whose predicted class equals the label; 0 for no samples. */
export function accuracyOf(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length) throw new ShapeError(`accuracyOf: ${predicted.length} predictions but ${labels.length} labels`);
  if (labels.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

function checkSamples(name: string, images: Uint8Array, labels: ArrayLike<number>, features: number): number {
  if (images.length % features !== 0) throw new ShapeError(`fineTune: ${name} has ${images.length} bytes, not a multiple of ${features} features`);
  const count = images.length / features;
  if (labels.length !== count) throw new ShapeError(`fineTune: ${name} holds ${count} samples but ${labels.length} labels were given`);
  return count;
}

import { QnnError } from '../errors.js';
import type { Sequential } from '../layers/sequential.js';
import type { LossName } from '../losses/index.js';
import { binaryConvNet } from '../models/binary-convnet.js';
import { binaryMlp } from '../models/binary-mlp.js';

/** Settings a preset fixes unless the command line gives them. */
export interface PresetDefaults {
  hidden: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  finalLearningRate: number;
  dropout: number;
  loss: LossName;
  /** Worker threads for the WASM kernels when --threads is not given; the MLP presets take 1. */
  threads?: number | 'auto';
}

export interface ModelOptions {
  /** Per-sample shape, [height, width, channels]. */
  sampleShape: [number, number, number];
  inputs: number;
  classes: number;
  hidden: number[];
  dropout: number;
  seed: number;
  batchNorm: 'standard' | 'shift';
}

export interface TrainPreset {
  name: string;
  /** Layer summary such as "784-512-512-10" or "32C3-MP2-64C3-MP2-256-10". */
  architecture(options: ModelOptions): string;
  /** True when --hidden shapes the model. */
  usesHidden: boolean;
  /** The data set the preset was designed for, or null when it fits any. */
  dataset: string | null;
  defaults: PresetDefaults;
  build(options: ModelOptions): Sequential;
}

const MLP_DEFAULTS: PresetDefaults = {
  hidden: [512, 512],
  epochs: 4,
  batchSize: 100,
  learningRate: 0.003,
  finalLearningRate: 0.0003,
  dropout: 0,
  loss: 'softmax_cross_entropy',
};

const mlp = (defaults: PresetDefaults, name: string, dataset: string | null): TrainPreset => ({
  name,
  usesHidden: true,
  dataset,
  defaults,
  architecture: (o) => [o.inputs, ...o.hidden, o.classes].join('-'),
  build: (o) => binaryMlp({ inputs: o.inputs, hidden: o.hidden, classes: o.classes, dropout: o.dropout, seed: o.seed, batchNorm: o.batchNorm }),
});

/**
 * The paper presets follow BinaryNet's training scripts (Train-time/mnist.py, cifar10.py and svhn.py
 * of github.com/MatthieuCourbariaux/BinaryNet): widths, batch sizes, epochs, learning rates and
 * squared hinge loss match them. Those scripts scale pixels to [-1, 1]; here the first layer takes
 * uint8 / 256 in [0, 1), which its batch norm absorbs.
 *
 * Training recipes by name. `mnist-mlp` is the default job. `paper-mnist-mlp`
 * is BinaryNet's MNIST network and schedule (Courbariaux, Hubara et al. 2016;
 * the QNN paper's MNIST row): 3 x 4096 units, squared hinge, dropout 0.5,
 * learning rate 0.003 decayed to 3e-7 over 1000 epochs.
 * `fast-mnist-convnet` is a small binarized ConvNet for 2 cores; `mnist-convnet` is the same
 * convolutions with a 512-unit dense layer and a longer schedule.
 */
export const PRESETS: Record<string, TrainPreset> = {
  'mnist-mlp': mlp(MLP_DEFAULTS, 'mnist-mlp', null),
  // Limitation: BinaryNet also drops 20% of the input pixels; the model here has dropout after hidden blocks only.
  'paper-mnist-mlp': mlp(
    { ...MLP_DEFAULTS, hidden: [4096, 4096, 4096], epochs: 1000, finalLearningRate: 3e-7, dropout: 0.5, loss: 'squared_hinge' },
    'paper-mnist-mlp',
    'mnist',
  ),
  // Batch 50 gives twice the updates of batch 100 for the same arithmetic, and the learning rate
  // decays 30x over the 4 epochs so that the last epoch settles the latent weights. VALID
  // convolutions (28 -> 26 -> 13 -> 11 -> 5) need 22% less CPU time than SAME ones; with seed 1
  // and two threads the preset reaches 1.38% test error in under 8 minutes (docs/results.md).
  'fast-mnist-convnet': mnistConvNet('fast-mnist-convnet', 256, 'valid', { epochs: 4, batchSize: 50, learningRate: 0.003, finalLearningRate: 0.0001 }),
  // SAME convolutions with a wider dense layer and a 15-epoch schedule: 0.96% test error with seed 1 (docs/results.md).
  'mnist-convnet': mnistConvNet('mnist-convnet', 512, 'same', { epochs: 15, batchSize: 50, learningRate: 0.003, finalLearningRate: 0.00003 }),
};

/**
 * BinaryNet's CIFAR-10 network (the QNN paper's CIFAR-10 row):
 * 2x128C3-MP2-2x256C3-MP2-2x512C3-MP2-1024FC-1024FC-10, squared hinge, batch 50,
 * learning rate 0.001 decayed to 3e-7 over 500 epochs.
 */
PRESETS['paper-cifar10-convnet'] = paperConvNet('paper-cifar10-convnet', 'cifar10', 128, 1024, { epochs: 500, finalLearningRate: 3e-7 });

/**
 * The SVHN network of the QNN paper's recipe: the CIFAR-10 layout at half the width
 * (64C3-64C3-MP2-128C3-128C3-MP2-256C3-256C3-MP2-1024FC-1024FC-10), learning rate 0.001
 * decayed to 1e-6 over 200 epochs.
 */
PRESETS['paper-svhn-convnet'] = paperConvNet('paper-svhn-convnet', 'svhn', 64, 1024, { epochs: 200, finalLearningRate: 1e-6 });

function paperConvNet(
  name: string,
  dataset: string,
  width: number,
  units: number,
  schedule: { epochs: number; finalLearningRate: number },
): TrainPreset {
  const widths = [width, width, 2 * width, 2 * width, 4 * width, 4 * width];
  return {
    name,
    usesHidden: false,
    dataset,
    defaults: { ...MLP_DEFAULTS, hidden: [units, units], batchSize: 50, learningRate: 0.001, loss: 'squared_hinge', threads: 'auto', ...schedule },
    architecture: (o) => `${o.sampleShape.join('x')}-${widths.map((w, i) => `${w}C3${i % 2 === 1 ? '-MP2' : ''}`).join('-')}-${units}-${units}-${o.classes}`,
    build: (o) =>
      binaryConvNet({
        inputShape: o.sampleShape,
        convBlocks: widths.map((filters, i) => ({ filters, pool: i % 2 === 1 })),
        hidden: [units, units],
        classes: o.classes,
        dropout: o.dropout,
        batchNorm: o.batchNorm,
        seed: o.seed,
      }),
  };
}

/** 32C3-MP2-64C3-MP2-{units}-10 on MNIST with the given convolution padding and schedule. */
function mnistConvNet(
  name: string,
  units: number,
  padding: 'same' | 'valid',
  schedule: { epochs: number; batchSize: number; learningRate: number; finalLearningRate: number },
): TrainPreset {
  const convolution = padding === 'valid' ? 'C3(valid)' : 'C3';
  return {
    name,
    usesHidden: false,
    dataset: 'mnist',
    // A ConvNet spends most of its time in GEMMs that split across threads, so it takes every core unless --threads is given.
    defaults: { ...MLP_DEFAULTS, hidden: [units], threads: 'auto', ...schedule },
    architecture: (o) => `${o.sampleShape.join('x')}-32${convolution}-MP2-64${convolution}-MP2-${units}-${o.classes}`,
    build: (o) =>
      binaryConvNet({
        inputShape: o.sampleShape,
        convBlocks: [
          { filters: 32, pool: true },
          { filters: 64, pool: true },
        ],
        padding,
        hidden: [units],
        classes: o.classes,
        dropout: o.dropout,
        batchNorm: o.batchNorm,
        seed: o.seed,
      }),
  };
}

export function findPreset(name: string): TrainPreset {
  const preset = PRESETS[name];
  if (preset === undefined) throw new QnnError(`unknown --preset '${name}'; expected one of: ${Object.keys(PRESETS).join(', ')}`);
  return preset;
}

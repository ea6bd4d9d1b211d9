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
}

export interface ModelOptions {
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

const mlp = (defaults: PresetDefaults, name: string): TrainPreset => ({
  name,
  usesHidden: true,
  defaults,
  architecture: (o) => [o.inputs, ...o.hidden, o.classes].join('-'),
  build: (o) => binaryMlp({ inputs: o.inputs, hidden: o.hidden, classes: o.classes, dropout: o.dropout, seed: o.seed, batchNorm: o.batchNorm }),
});

/**
 * Training recipes by name. `mnist-mlp` is the default job. `paper-mnist-mlp`
 * is BinaryNet's MNIST network and schedule (Courbariaux, Hubara et al. 2016;
 * the QNN paper's MNIST row): 3 x 4096 units, squared hinge, dropout 0.5,
 * learning rate 0.003 decayed to 3e-7 over 1000 epochs.
 * `fast-mnist-convnet` is a small binarized ConvNet for 2 cores.
 */
export const PRESETS: Record<string, TrainPreset> = {
  'mnist-mlp': mlp(MLP_DEFAULTS, 'mnist-mlp'),
  // Limitation: BinaryNet also drops 20% of the input pixels; the model here has dropout after hidden blocks only.
  'paper-mnist-mlp': mlp(
    { ...MLP_DEFAULTS, hidden: [4096, 4096, 4096], epochs: 1000, finalLearningRate: 3e-7, dropout: 0.5, loss: 'squared_hinge' },
    'paper-mnist-mlp',
  ),
  'fast-mnist-convnet': {
    name: 'fast-mnist-convnet',
    usesHidden: false,
    defaults: { ...MLP_DEFAULTS, hidden: [256], epochs: 2 },
    architecture: () => '28x28x1-32C3-MP2-64C3-MP2-256-10',
    build: (o) =>
      binaryConvNet({
        inputShape: [28, 28, 1],
        convBlocks: [
          { filters: 32, pool: true },
          { filters: 64, pool: true },
        ],
        hidden: [256],
        classes: o.classes,
        dropout: o.dropout,
        seed: o.seed,
      }),
  },
};

export function findPreset(name: string): TrainPreset {
  const preset = PRESETS[name];
  if (preset === undefined) throw new QnnError(`unknown --preset '${name}'; expected one of: ${Object.keys(PRESETS).join(', ')}`);
  return preset;
}

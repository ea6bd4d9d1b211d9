import * as ort from 'onnxruntime-node';

import { compileNetwork } from '../../sdk/compile/compile-model.js';
import type { PackedNetwork } from '../../sdk/compile/graph.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense } from '../../sdk/layers/dense.js';
import type { Layer } from '../../sdk/layers/layer.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { binaryConvNet } from '../../sdk/models/binary-convnet.js';
import { SeededRandom } from '../helpers/random.js';

/**
 * Compiles an untrained 28x28x1 binarized ConvNet (8C3-MP2 -> 16C3 -> FC32 -> 10)
 * whose batch norms get random statistics, about a quarter of them with
 * negative gamma, so thresholds of both directions and one padding are exercised.
 */
export function randomConvNetwork(seed: number, padValue: 1 | 0 | -1 = 1): PackedNetwork {
  const model = binaryConvNet({
    inputShape: [28, 28, 1],
    convBlocks: [{ filters: 8, pool: true }, { filters: 16 }],
    hidden: [32],
    classes: 10,
    padValue,
    seed,
  });
  randomizeBatchNorms(model.layers, seed + 1);
  return compileNetwork(model);
}

/**
 * Compiles an untrained MLP on 784 raw inputs with k-bit layers: 2-bit weights on
 * the uint8 input, 3-bit weights on 4-bit activation codes, then a binary score
 * layer, with random batch-norm statistics.
 */
export function randomKbitNetwork(seed: number): PackedNetwork {
  const model = new Sequential([
    new Dense(32, { kernelQuantizer: { kind: 'linear', bits: 2 }, inputQuantizer: null, name: 'dense_input' }),
    new BatchNorm({ name: 'bn_input' }),
    new Dense(16, { kernelQuantizer: { kind: 'linear', bits: 3 }, inputQuantizer: { kind: 'linear', bits: 4 }, name: 'dense_hidden' }),
    new BatchNorm({ name: 'bn_hidden' }),
    new Dense(10, { kernelQuantizer: 'ste_sign', inputQuantizer: 'ste_sign', name: 'scores' }),
    new BatchNorm({ name: 'bn_scores' }),
  ]).build([784], seed);
  randomizeBatchNorms(model.layers, seed + 1);
  return compileNetwork(model);
}

/** Gives every batch norm random statistics, about a quarter of them with negative gamma. */
function randomizeBatchNorms(layers: readonly Layer[], seed: number): void {
  const random = new SeededRandom(seed);
  for (const layer of layers) {
    if (!(layer instanceof BatchNorm)) continue;
    const gamma = layer.gamma.data;
    for (let c = 0; c < gamma.length; c++) {
      gamma[c] = (random.next() < 0.25 ? -1 : 1) * (0.5 + random.next());
      layer.beta.data[c] = random.next() - 0.5;
      layer.runningMean[c] = (random.next() - 0.5) * 40;
      layer.runningVariance[c] = 1 + random.next() * 100;
    }
  }
}

/** Runs an exported model in ONNX Runtime (CPU) on uint8 samples and returns the scores. */
export async function runInOnnxRuntime(bytes: Uint8Array, samples: Uint8Array, sampleShape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    const features = sampleShape.reduce((a, b) => a * b, 1);
    const count = samples.length / features;
    const input = new ort.Tensor('float32', Float32Array.from(samples), [count, ...sampleShape]);
    const outputs = await session.run({ [session.inputNames[0]]: input });
    return outputs[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Returns the index of the largest score of each row. */
export function argmaxRows(scores: Float32Array, classes: number): Int32Array {
  const predictions = new Int32Array(scores.length / classes);
  for (let r = 0; r < predictions.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[r * classes + c] > scores[r * classes + best]) best = c;
    predictions[r] = best;
  }
  return predictions;
}

/** Returns the largest absolute difference of two score arrays of equal length. */
export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

// End-to-end inference: a packed binarized MLP (compileModel + runPacked on the
// WASM backend) against a float32 MLP of the same shape in the peers.
import { setBackend } from '../sdk/backends/active-backend.js';
import type { WasmBackend } from '../sdk/backends/wasm-backend.js';
import { compileModel } from '../sdk/compile/compile-model.js';
import type { PackedModel } from '../sdk/compile/graph.js';
import { runPacked } from '../sdk/compile/run-packed.js';
import { encodeQnn } from '../sdk/format/qnn-file.js';
import { binaryMlp } from '../sdk/models/binary-mlp.js';
import { floatMlpModel, type FloatDenseLayer } from './onnx/onnx-model.js';
import { createOrtRunner, type OrtRuntime } from './peers/onnxruntime.js';
import { tfjsMlp } from './peers/tfjs-wasm.js';
import { randomFloats, randomWords, timeMedian, type TimingPlan } from './timing.js';

/** Layer widths from input to classes, e.g. [784, 512, 512, 10]. */
export type MlpShape = number[];

export interface PackedMlp {
  model: PackedModel;
  qnnBytes: number;
  /** Bytes of every trainable parameter (latent kernels, batch-norm gamma and beta) at 4 bytes each. */
  float32Bytes: number;
}

/**
 * Builds the binarized MLP with random latent weights (seed 1) and compiles it.
 * Untrained weights run the same kernels on the same shapes as trained ones,
 * so the timing does not depend on training.
 */
export function buildPackedMlp(shape: MlpShape, backend: WasmBackend): PackedMlp {
  setBackend(backend);
  const model = binaryMlp({ inputs: shape[0], hidden: shape.slice(1, -1), classes: shape[shape.length - 1], seed: 1 });
  const packed = compileModel(model);
  const parameterCount = model.parameters().reduce((count, parameter) => count + parameter.value.size, 0);
  return { model: packed, qnnBytes: encodeQnn(packed).length, float32Bytes: 4 * parameterCount };
}

/** Random uint8 images [batch, inputs], the input runPacked takes. */
export function randomImages(batch: number, inputs: number): Uint8Array {
  const words = randomWords(batch * inputs, 7);
  return Uint8Array.from(words, (word) => word >>> 24);
}

/** Times runPacked on one batch and returns the median images/s. */
export async function packedImagesPerSecond(packed: PackedMlp, backend: WasmBackend, images: Uint8Array, batch: number, plan: TimingPlan): Promise<number> {
  const timing = await timeMedian(() => runPacked(packed.model, backend, images, batch), plan);
  return batch / timing.medianSeconds;
}

/** Float MLP layers of `shape` with Glorot-uniform random weights and zero biases. */
export function randomFloatMlp(shape: MlpShape): FloatDenseLayer[] {
  const layers: FloatDenseLayer[] = [];
  for (let index = 0; index + 1 < shape.length; index++) {
    const inputs = shape[index];
    const units = shape[index + 1];
    const limit = Math.sqrt(6 / (inputs + units));
    const weights = randomFloats(inputs * units, 100 + index);
    for (let i = 0; i < weights.length; i++) weights[i] *= limit;
    layers.push({ inputs, units, weights, bias: new Float32Array(units) });
  }
  return layers;
}

/** Times the float MLP in TensorFlow.js (its active backend) and returns the median images/s, input upload and score readback included. */
export async function tfjsImagesPerSecond(layers: FloatDenseLayer[], input: Float32Array, batch: number, plan: TimingPlan): Promise<number> {
  const mlp = tfjsMlp(layers, input, batch);
  try {
    const timing = await timeMedian(mlp.run, plan);
    return batch / timing.medianSeconds;
  } finally {
    mlp.dispose();
  }
}

/** Times the float MLP as an ONNX model in one ONNX Runtime and returns the median images/s. */
export async function ortImagesPerSecond(
  runtime: OrtRuntime,
  layers: FloatDenseLayer[],
  input: Float32Array,
  batch: number,
  plan: TimingPlan,
): Promise<number> {
  const runner = await createOrtRunner(runtime, floatMlpModel(layers), { name: 'x', type: 'float32', data: input, dims: [batch, layers[0].inputs] });
  try {
    const timing = await timeMedian(runner.run, plan);
    return batch / timing.medianSeconds;
  } finally {
    await runner.release();
  }
}

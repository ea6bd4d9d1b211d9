// TensorFlow.js with its WASM backend (XNNPACK kernels, SIMD build), one thread.
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type { FloatDenseLayer } from '../onnx/onnx-model.js';

export interface TfjsWasmInfo {
  version: string;
  simd: boolean;
  threads: number;
}

/**
 * Selects the WASM backend with one thread. In Node the backend reads its .wasm
 * files from its own dist/ folder in node_modules, so no setWasmPaths call is
 * needed. Call once, before any other TensorFlow.js work.
 */
export async function initTfjsWasm(): Promise<TfjsWasmInfo> {
  setThreadsCount(1);
  const selected = await tf.setBackend('wasm');
  if (!selected) throw new Error('TensorFlow.js failed to initialize its wasm backend');
  await tf.ready();
  return { version: tf.version_core, simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), threads: 1 };
}

/**
 * Returns a runner of c[M,N] = a[M,K] · b[K,N] in float32 on tensors created
 * once, reading c back each run. Call `dispose` to free the tensors.
 */
export function tfjsMatmul(m: number, k: number, n: number, a: Float32Array, b: Float32Array): { run: () => void; dispose: () => void } {
  const aTensor = tf.tensor2d(a, [m, k]);
  const bTensor = tf.tensor2d(b, [k, n]);
  return {
    run: () => {
      const c = tf.matMul(aTensor, bTensor);
      c.dataSync();
      c.dispose();
    },
    dispose: () => {
      aTensor.dispose();
      bTensor.dispose();
    },
  };
}

/**
 * Returns a runner of a float MLP (dense + ReLU hidden layers, dense scores)
 * on `batch` images. Each run uploads the input, runs every layer and reads the
 * scores back, as an application would per batch.
 */
export function tfjsMlp(layers: FloatDenseLayer[], input: Float32Array, batch: number): { run: () => void; dispose: () => void } {
  const weights = layers.map((layer) => tf.tensor2d(layer.weights, [layer.inputs, layer.units]));
  const biases = layers.map((layer) => tf.tensor1d(layer.bias));
  return {
    run: () => {
      const scores = tf.tidy(() => {
        let current: tf.Tensor2D = tf.tensor2d(input, [batch, layers[0].inputs]);
        layers.forEach((_, index) => {
          const z = tf.add(tf.matMul(current, weights[index]), biases[index]) as tf.Tensor2D;
          current = index === layers.length - 1 ? z : tf.relu(z);
        });
        return current;
      });
      scores.dataSync();
      scores.dispose();
    },
    dispose: () => {
      for (const tensor of [...weights, ...biases]) tensor.dispose();
    },
  };
}

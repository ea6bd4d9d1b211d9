// TensorFlow.js with its WebGPU backend, given Dawn's GPU object as navigator.gpu in Node.
import * as tf from '@tensorflow/tfjs-core';

/**
 * Makes `gpu` visible as navigator.gpu (Node 20 has no navigator) and selects
 * TensorFlow.js's WebGPU backend. Call after the SDK has acquired its device
 * from the same GPU object, so both run on one adapter.
 */
export async function initTfjsWebGpu(gpu: GPU, webgpuGlobals: Record<string, unknown>): Promise<{ version: string }> {
  Object.assign(globalThis, webgpuGlobals);
  const scope = globalThis as { navigator?: { gpu?: GPU } };
  if (scope.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  else if (scope.navigator.gpu === undefined) Object.defineProperty(scope.navigator, 'gpu', { value: gpu, configurable: true });

  // The backend registers itself at import only when navigator.gpu exists, so it is imported after the line above.
  await import('@tensorflow/tfjs-backend-webgpu');
  const selected = await tf.setBackend('webgpu');
  if (!selected) throw new Error('TensorFlow.js failed to initialize its webgpu backend');
  await tf.ready();
  return { version: tf.version_core };
}

/**
 * Returns a runner that records `repeats` float32 matmuls c[M,N] = a[M,K] · b[K,N]
 * on resident tensors and waits for the last one through a 4-byte readback of
 * its sum, so the time is the GPU's and not the 4 * M * N byte transfer.
 */
export function tfjsWebGpuMatmul(
  m: number,
  k: number,
  n: number,
  a: Float32Array,
  b: Float32Array,
  repeats: number,
): { run: () => Promise<void>; dispose: () => void } {
  const aTensor = tf.tensor2d(a, [m, k]);
  const bTensor = tf.tensor2d(b, [k, n]);
  return {
    run: async () => {
      let last: tf.Tensor | null = null;
      for (let r = 0; r < repeats; r++) {
        last?.dispose();
        last = tf.matMul(aTensor, bTensor);
      }
      const total = tf.sum(last!);
      await total.data();
      total.dispose();
      last!.dispose();
    },
    dispose: () => {
      aTensor.dispose();
      bTensor.dispose();
    },
  };
}

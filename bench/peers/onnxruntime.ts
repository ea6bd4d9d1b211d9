// ONNX Runtime sessions, one thread: onnxruntime-web (WebAssembly SIMD build)
// and onnxruntime-node (native CPU execution provider, MLAS kernels). Each
// package is imported on first use, so a runtime that fails to load (no
// native binary for this platform, say) costs only its own figures.

export type OrtRuntime = 'onnxruntime-web' | 'onnxruntime-node';

/** Input of a single-input model: its name, element type, data and shape. */
export interface OrtInput {
  name: string;
  type: 'float32' | 'uint8';
  data: Float32Array | Uint8Array;
  dims: number[];
}

export interface OrtRunner {
  run: () => Promise<void>;
  release: () => Promise<void>;
}

/** Loads a runtime and returns its version string. */
export async function ortVersion(runtime: OrtRuntime): Promise<string> {
  if (runtime === 'onnxruntime-web') {
    const ort = await import('onnxruntime-web');
    return ort.env.versions.web ?? 'unknown';
  }
  const ort = await import('onnxruntime-node');
  return ort.env.versions.node ?? 'unknown';
}

/**
 * Creates a session on `modelBytes` with one intra-op thread and returns a
 * runner that runs it on `input` and reads every output.
 */
export async function createOrtRunner(runtime: OrtRuntime, modelBytes: Uint8Array, input: OrtInput): Promise<OrtRunner> {
  if (runtime === 'onnxruntime-web') {
    const ort = await import('onnxruntime-web');
    // numThreads is read when the WASM module starts, so it must be set before the first session.
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(modelBytes, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    const tensor = new ort.Tensor(input.type, input.data, input.dims);
    return {
      run: async () => {
        const outputs = await session.run({ [input.name]: tensor });
        for (const output of Object.values(outputs)) output.dispose();
      },
      release: () => session.release(),
    };
  }

  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(modelBytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const tensor = new ort.Tensor(input.type, input.data, input.dims);
  return {
    run: async () => {
      await session.run({ [input.name]: tensor });
    },
    release: () => session.release(),
  };
}

import type { Backend } from '../backends/backend.js';
import { QnnError, ShapeError } from '../errors.js';
import { shapeSize } from '../tensor/tensor.js';
import { applyEpilogue } from './epilogue.js';
import type { PackedModel } from './graph.js';

/**
 * Runs a packed model on uint8 samples [count, ...inputShape] and returns the
 * float32 class scores [count, classes]. Activations stay packed between
 * layers: bit-plane GEMM for the uint8 input, binary GEMM after that,
 * thresholds straight to packed signs, float epilogue only for the scores.
 */
export function runPacked(model: PackedModel, backend: Backend, samples: Uint8Array, batchSize = 1000): Float32Array {
  const features = shapeSize(model.inputShape);
  if (samples.length % features !== 0) {
    throw new ShapeError(`packed model expects samples of ${features} bytes, got ${samples.length} bytes (not a multiple)`);
  }
  if (model.layers.length === 0 || model.layers[0].input !== 'uint8') {
    // Limitation: sample-level sign packing for models with binary input is not implemented, so such models are rejected here.
    throw new QnnError('runPacked feeds uint8 samples, so the first packed layer must take uint8 input');
  }
  const count = samples.length / features;
  const lastLayer = model.layers[model.layers.length - 1];
  const classes = lastLayer.units;
  const scores = new Float32Array(count * classes);

  for (let start = 0; start < count; start += batchSize) {
    const rows = Math.min(batchSize, count - start);
    const batch = samples.subarray(start * features, (start + rows) * features);
    scores.set(runBatch(model, backend, batch, rows), start * classes);
  }
  return scores;
}

function runBatch(model: PackedModel, backend: Backend, batch: Uint8Array, rows: number): Float32Array {
  let packed: Uint32Array | null = null;

  for (const layer of model.layers) {
    const output = layer.output;

    // A hidden layer on packed input goes through the fused kernel, which never writes int32 accumulators.
    if (layer.input === 'signs' && output.kind === 'signs') {
      packed = backend.binaryGemmThresholdPack(packed!, layer.weights, rows, layer.units, layer.inputs, output.thresholds, output.directions);
      continue;
    }

    const acc =
      layer.input === 'uint8'
        ? backend.bitplaneGemm(batch, layer.weights, rows, layer.units, layer.inputs)
        : backend.binaryGemm(packed!, layer.weights, rows, layer.units, layer.inputs);

    if (output.kind === 'signs') {
      packed = backend.thresholdPack(acc, rows, layer.units, output.thresholds, output.directions);
      continue;
    }

    const epilogue = output.epilogue;
    const scores = new Float32Array(rows * layer.units);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < layer.units; c++) scores[r * layer.units + c] = applyEpilogue(epilogue, acc[r * layer.units + c], c);
    }
    return scores;
  }
  throw new ShapeError('packed model has no score layer at the end');
}

import type { AsyncBackend } from '../backends/async-backend.js';
import type { Backend } from '../backends/backend.js';
import { QnnError, ShapeError } from '../errors.js';
import { shapeSize } from '../tensor/tensor.js';
import { applyEpilogue } from './epilogue.js';
import type { PackedModel } from './graph.js';

type Kernel = Exclude<keyof Backend, 'name'>;

/** One backend kernel call requested by the packed graph walk. */
type KernelCall = { [K in Kernel]: { kernel: K; args: Parameters<Backend[K]> } }[Kernel];

/** The walk over one batch: yields kernel calls, receives their results, returns the scores. */
type PackedWalk = Generator<KernelCall, Float32Array, unknown>;

/**
 * Runs a packed model on uint8 samples [count, ...inputShape] and returns the
 * float32 class scores [count, classes]. Activations stay packed between
 * layers: bit-plane GEMM for the uint8 input, binary GEMM after that,
 * thresholds straight to packed signs, float epilogue only for the scores.
 */
export function runPacked(model: PackedModel, backend: Backend, samples: Uint8Array, batchSize = 1000): Float32Array {
  const { count, classes, batches } = planBatches(model, samples, batchSize);
  const scores = new Float32Array(count * classes);

  for (const { start, batch, rows } of batches) {
    const walk = walkBatch(model, batch, rows);
    let step = walk.next();
    while (!step.done) step = walk.next(call(backend, step.value));
    scores.set(step.value, start * classes);
  }
  return scores;
}

/**
 * runPacked for a backend whose kernels return promises, such as WebGPU. The
 * graph walk is the same code, so both give the same scores from the same kernels.
 */
export async function runPackedAsync(
  model: PackedModel,
  backend: AsyncBackend | Backend,
  samples: Uint8Array,
  batchSize = 1000,
): Promise<Float32Array> {
  const { count, classes, batches } = planBatches(model, samples, batchSize);
  const scores = new Float32Array(count * classes);

  for (const { start, batch, rows } of batches) {
    const walk = walkBatch(model, batch, rows);
    let step = walk.next();
    while (!step.done) step = walk.next(await call(backend, step.value));
    scores.set(step.value, start * classes);
  }
  return scores;
}

function call(backend: AsyncBackend | Backend, request: KernelCall): unknown {
  const kernel = backend[request.kernel] as (...args: unknown[]) => unknown;
  return kernel.apply(backend, request.args);
}

function planBatches(
  model: PackedModel,
  samples: Uint8Array,
  batchSize: number,
): { count: number; classes: number; batches: { start: number; batch: Uint8Array; rows: number }[] } {
  const features = shapeSize(model.inputShape);
  if (samples.length % features !== 0) {
    throw new ShapeError(`packed model expects samples of ${features} bytes, got ${samples.length} bytes (not a multiple)`);
  }
  if (model.layers.length === 0 || model.layers[0].input !== 'uint8') {
    // Limitation: sample-level sign packing for models with binary input is not implemented, so such models are rejected here.
    throw new QnnError('runPacked feeds uint8 samples, so the first packed layer must take uint8 input');
  }
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new ShapeError(`runPacked: batchSize must be a positive integer, got ${batchSize}`);

  const count = samples.length / features;
  const classes = model.layers[model.layers.length - 1].units;
  const batches = [];
  for (let start = 0; start < count; start += batchSize) {
    const rows = Math.min(batchSize, count - start);
    batches.push({ start, batch: samples.subarray(start * features, (start + rows) * features), rows });
  }
  return { count, classes, batches };
}

function* walkBatch(model: PackedModel, batch: Uint8Array, rows: number): PackedWalk {
  let packed: Uint32Array | null = null;

  for (const layer of model.layers) {
    const output = layer.output;

    // A hidden layer on packed input goes through the fused kernel, which never writes int32 accumulators.
    if (layer.input === 'signs' && output.kind === 'signs') {
      packed = (yield {
        kernel: 'binaryGemmThresholdPack',
        args: [packed!, layer.weights, rows, layer.units, layer.inputs, output.thresholds, output.directions],
      }) as Uint32Array;
      continue;
    }

    const acc = (yield layer.input === 'uint8'
      ? { kernel: 'bitplaneGemm', args: [batch, layer.weights, rows, layer.units, layer.inputs] }
      : { kernel: 'binaryGemm', args: [packed!, layer.weights, rows, layer.units, layer.inputs] }) as Int32Array;

    if (output.kind === 'signs') {
      packed = (yield { kernel: 'thresholdPack', args: [acc, rows, layer.units, output.thresholds, output.directions] }) as Uint32Array;
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

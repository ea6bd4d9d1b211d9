import type { AsyncBackend } from '../backends/async-backend.js';
import type { Backend, TrainingKernel } from '../backends/backend.js';
import { QnnError, ShapeError } from '../errors.js';
import { shapeSize } from '../tensor/tensor.js';
import { applyEpilogue } from './epilogue.js';
import type { BinaryConv2dShape } from '../backends/backend.js';
import { convGeometry } from '../layers/im2col.js';
import { addPadOffsets, im2colUint8, padOffsets } from './conv-uint8.js';
import { flattenPacked } from './flatten-packed.js';
import type { PackedConv2dLayer, PackedNetwork } from './graph.js';
import { invertChannels, poolReadyThresholds } from './pool-thresholds.js';
import { type WalkActivation, walkConv2dKbit } from './run-conv-kbit.js';
import { runGlobalAveragePool } from './run-global-pool.js';
import { type KbitLayerResult, walkDenseKbit } from './run-kbit.js';

// The packed graph calls inference kernels only, so AsyncBackend (WebGPU) can run it.
type Kernel = Exclude<keyof Backend, 'name' | TrainingKernel>;

/** One backend kernel call requested by the packed graph walk. */
export type KernelCall = { [K in Kernel]: { kernel: K; args: Parameters<Backend[K]> } }[Kernel];

/** The walk over one batch: yields kernel calls, receives their results, returns the scores. */
type PackedWalk = Generator<KernelCall, Float32Array, unknown>;

/**
 * Runs a packed model on uint8 samples [count, ...inputShape] and returns the
 * float32 class scores [count, classes]. Activations stay packed between
 * layers: bit-plane GEMM for the uint8 input, binary GEMM or binary
 * convolution after that,
 * thresholds straight to packed signs, float epilogue only for the scores.
 */
export function runPacked(model: PackedNetwork, backend: Backend, samples: Uint8Array, batchSize = 1000): Float32Array {
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
  model: PackedNetwork,
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
  model: PackedNetwork,
  samples: Uint8Array,
  batchSize: number,
): { count: number; classes: number; batches: { start: number; batch: Uint8Array; rows: number }[] } {
  const features = shapeSize(model.inputShape);
  if (samples.length % features !== 0) {
    throw new ShapeError(`packed model expects samples of ${features} bytes, got ${samples.length} bytes (not a multiple)`);
  }
  const first = model.layers[0];
  const last = model.layers[model.layers.length - 1];
  if (first === undefined || first.kind === 'maxPool2d' || first.kind === 'flatten' || first.kind === 'globalAveragePool2d' || first.input !== 'uint8') {
    // Limitation: sample-level sign packing for models with binary input is not implemented, so such models are rejected here.
    throw new QnnError('runPacked feeds uint8 samples, so the first packed layer must be a dense, dense-kbit, conv2d or conv2d-kbit layer with uint8 input');
  }
  if (last.kind !== 'dense' && last.kind !== 'dense-kbit') throw new QnnError(`the last packed layer must be a dense score layer, found '${last.kind}'`);
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new ShapeError(`runPacked: batchSize must be a positive integer, got ${batchSize}`);

  const count = samples.length / features;
  const classes = last.units;
  const batches = [];
  for (let start = 0; start < count; start += batchSize) {
    const rows = Math.min(batchSize, count - start);
    batches.push({ start, batch: samples.subarray(start * features, (start + rows) * features), rows });
  }
  return { count, classes, batches };
}

function* walkBatch(model: PackedNetwork, batch: Uint8Array, rows: number): PackedWalk {
  let activation = null as WalkActivation | null;

  for (const layer of model.layers) {
    const packed = activation?.kind === 'signs' ? activation.packed : null;

    if (layer.kind === 'dense-kbit') {
      const codes: Uint8Array | null = activation?.kind === 'codes' ? activation.codes : null;
      const result: KbitLayerResult = yield* walkDenseKbit(layer, batch, packed, codes, rows);
      if (result.kind === 'scores') return result.scores;
      activation = result.kind === 'codes' ? { kind: 'codes', codes: result.codes } : { kind: 'signs', packed: result.packed };
      continue;
    }
    if (layer.kind === 'conv2d-kbit') {
      activation = yield* walkConv2dKbit(layer, batch, activation, rows);
      continue;
    }
    if (layer.kind === 'globalAveragePool2d') {
      if (activation?.kind !== 'floats') throw new QnnError(`globalAveragePool2d layer takes float values, but the previous layer gave ${activation?.kind ?? 'nothing'}`);
      activation = runGlobalAveragePool(layer, activation.values, rows);
      continue;
    }
    if (layer.kind === 'conv2d') {
      activation = { kind: 'signs', packed: yield* walkConv2d(layer, batch, packed, rows) };
      continue;
    }
    if (layer.kind === 'maxPool2d') {
      const { height, width, channels, poolHeight, poolWidth, strideHeight, strideWidth } = layer;
      const shape = { batch: rows, height, width, channels, poolHeight, poolWidth, strideHeight, strideWidth };
      activation = { kind: 'signs', packed: (yield { kernel: 'binaryMaxPool2d', args: [packed!, shape] }) as Uint32Array };
      continue;
    }
    if (layer.kind === 'flatten') {
      // NHWC codes are already in the flattened order, one byte per value.
      if (activation?.kind === 'signs') activation = { kind: 'signs', packed: flattenPacked(layer, packed!, rows) };
      continue;
    }

    const output = layer.output;

    // A hidden layer on packed input goes through the fused kernel, which never writes int32 accumulators.
    if (layer.input === 'signs' && output.kind === 'signs') {
      activation = {
        kind: 'signs',
        packed: (yield {
          kernel: 'binaryGemmThresholdPack',
          args: [packed!, layer.weights, rows, layer.units, layer.inputs, output.thresholds, output.directions],
        }) as Uint32Array,
      };
      continue;
    }

    const acc = (yield layer.input === 'uint8'
      ? { kernel: 'bitplaneGemm', args: [batch, layer.weights, rows, layer.units, layer.inputs] }
      : { kernel: 'binaryGemm', args: [packed!, layer.weights, rows, layer.units, layer.inputs] }) as Int32Array;

    if (output.kind === 'signs') {
      activation = { kind: 'signs', packed: (yield { kernel: 'thresholdPack', args: [acc, rows, layer.units, output.thresholds, output.directions] }) as Uint32Array };
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

/**
 * Runs one convolution layer: the integer accumulators (binaryConv2d on signs,
 * im2col + bitplaneGemm on uint8), then thresholds to packed signs, with the
 * max-pool of the accumulators, when the layer has one, done on packed signs.
 */
function* walkConv2d(layer: PackedConv2dLayer, batch: Uint8Array, packed: Uint32Array | null, rows: number): Generator<KernelCall, Uint32Array, unknown> {
  const { height, width, channels, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth, padding } = layer;
  const window = { batch: rows, height, width, channels, kernelHeight, kernelWidth, strideHeight, strideWidth, padding };
  const { outHeight, outWidth } = convGeometry(window);
  const positions = rows * outHeight * outWidth;

  let acc: Int32Array;
  if (layer.input === 'uint8') {
    const cols = im2colUint8(layer, batch, rows);
    const reduction = kernelHeight * kernelWidth * channels;
    acc = (yield { kernel: 'bitplaneGemm', args: [cols, layer.weights, positions, outChannels, reduction] }) as Int32Array;
    const offsets = padOffsets(layer);
    if (offsets !== null) acc = addPadOffsets(acc, offsets);
  } else {
    // The .qnn checks and the compiler allow only 1, 0 and -1 as the pad value of a signs-input layer.
    const shape: BinaryConv2dShape = { ...window, outChannels, padValue: layer.padValue as BinaryConv2dShape['padValue'] };
    acc = (yield { kernel: 'binaryConv2d', args: [packed!, layer.weights, shape] }) as Int32Array;
  }

  if (layer.pool === null) {
    const { thresholds, directions } = layer.output;
    return (yield { kernel: 'thresholdPack', args: [acc, positions, outChannels, thresholds, directions] }) as Uint32Array;
  }

  const ready = poolReadyThresholds(layer.output);
  const signs = (yield { kernel: 'thresholdPack', args: [acc, positions, outChannels, ready.thresholds, ready.directions] }) as Uint32Array;
  const poolShape = { batch: rows, height: outHeight, width: outWidth, channels: outChannels, ...layer.pool };
  const pooled = (yield { kernel: 'binaryMaxPool2d', args: [signs, poolShape] }) as Uint32Array;
  return invertChannels(pooled, ready.invertMask);
}

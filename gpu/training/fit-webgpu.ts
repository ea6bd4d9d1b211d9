import { QnnError, ShapeError } from '../../sdk/errors.js';
import type { Sequential } from '../../sdk/layers/sequential.js';
import type { LossName } from '../../sdk/losses/index.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { Random } from '../../sdk/random.js';
import { shapeSize } from '../../sdk/tensor/tensor.js';
import type { BatchReport, EpochReport, FitOptions } from '../../sdk/training/fit.js';
import { checkSampleCount } from '../../sdk/training/samples.js';
import type { GpuContext } from '../host/gpu-context.js';
import { encodeAdamStep, encodeGradientCheck } from '../kernels/float-adam.js';
import { TRAINING_STATUS_INITIAL, encodeLoss } from '../kernels/float-loss.js';
import type { WebGpuBackend } from '../webgpu-backend.js';
import { type DeviceLayer, type DeviceParameter, DeviceDropout, createDeviceLayers } from './device-layers.js';

const SUPPORTED_LOSSES: readonly LossName[] = ['softmax_cross_entropy', 'squared_hinge'];

/** Fit options that WebGPU training implements; any other option that is set is rejected instead of ignored. */
const SUPPORTED_OPTIONS: ReadonlySet<string> = new Set(['epochs', 'batchSize', 'optimizer', 'loss', 'seed', 'learningRateSchedule', 'onBatchEnd', 'onEpochEnd']);

/**
 * Trains `model` on the WebGPU device with the options, data order, dropout
 * masks and reports of `fit` in sdk/training/fit.ts. Latent weights, Adam
 * moments, batch-norm running statistics, activations and gradients stay in
 * device buffers for the whole run. Each step uploads only the batch inputs,
 * labels and dropout masks, and reads nothing back.
 *
 * The loss and correct count of each batch are recorded on the device and read
 * once per epoch, so `onBatchEnd` is called for every batch of an epoch at the
 * end of that epoch, just before `onEpochEnd`. The model's tensors and running
 * statistics are written back at the end of every epoch.
 *
 * A non-finite loss or gradient raises a flag on the device, and every later
 * update kernel of the epoch skips its work. At the end of the epoch the model
 * gets the weights of the last good step and a QnnError names the epoch and the
 * first bad batch.
 *
 * Supported: Dense and QuantDense with the 'ste_sign' quantizer or none,
 * BatchNorm, Dropout, the two losses of sdk/losses and the Adam optimizer.
 * Anything else throws a QnnError naming the layer or option.
 */
export async function fitWebGpu(
  model: Sequential,
  inputs: Float32Array,
  labels: ArrayLike<number>,
  options: FitOptions,
  backend: WebGpuBackend,
): Promise<EpochReport[]> {
  const { features, count, classes } = checkFitArguments(model, inputs, labels, options);
  const optimizer = options.optimizer as Adam;
  // Limitation: the run starts Adam at step 1 with zero moments, whatever the optimizer did before, and
  // its device moments are not copied back, because the Adam class keeps step count and moments private.
  const gpu = backend.gpu;
  const batchSize = Math.min(options.batchSize, count);
  const batches = Math.ceil(count / options.batchSize);

  checkBadCodeRange(batches, model.parameters().length);
  const layers = createDeviceLayers(gpu, model.layers, features, batchSize);
  const parameters = layers.flatMap((layer) => layer.parameters);
  const dropouts = layers.filter((layer): layer is DeviceDropout => layer instanceof DeviceDropout && layer.mask !== null);

  const run: DeviceRun = {
    gpu,
    layers,
    parameters,
    input: gpu.storage(batchSize * features * 4, 'fitWebGpu/batch inputs'),
    labels: gpu.storage(batchSize * 4, 'fitWebGpu/batch labels'),
    scoreGrad: gpu.storage(batchSize * classes * 4, 'fitWebGpu/score grad'),
    rowResults: gpu.storage(batchSize * 8, 'fitWebGpu/row results'),
    status: gpu.upload(TRAINING_STATUS_INITIAL, 'fitWebGpu/status'),
    records: gpu.zeros(batches * 8, 'fitWebGpu/batch records'),
  };

  try {
    const random = new Random(options.seed);
    const order = Int32Array.from({ length: count }, (_v, i) => i);
    const reports: EpochReport[] = [];
    let step = 0;

    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const started = performance.now();
      if (options.learningRateSchedule) optimizer.learningRate = options.learningRateSchedule(epoch);
      random.shuffle(order);
      // The same fork as fit's ForwardContext, so the dropout masks come from the same stream.
      const dropoutRandom = random.fork();

      for (let batch = 0; batch < batches; batch++) {
        const start = batch * options.batchSize;
        const size = Math.min(options.batchSize, count - start);
        const x = new Float32Array(size * features);
        const y = new Uint32Array(size);
        for (let i = 0; i < size; i++) {
          const sample = order[start + i];
          x.set(inputs.subarray(sample * features, (sample + 1) * features), i * features);
          y[i] = labels[sample];
        }

        // writeBuffer submits the previous step first, so these writes cannot overtake its reads.
        gpu.writeBuffer(run.input, x);
        gpu.writeBuffer(run.labels, y);
        for (const dropout of dropouts) gpu.writeBuffer(dropout.mask!, drawDropoutMask(dropoutRandom, dropout.layer.rate, size * dropout.features));

        step++;
        await encodeStep(run, options.loss, optimizer, { batch, size, classes, step });
      }

      const epochRecords = await readEpochRecords(run, batches);
      for (const layer of layers) await layer.writeBack();
      if (epochRecords.firstBadCode !== null) throw badStepError(epochRecords, epoch, parameters);

      let lossSum = 0;
      let correct = 0;
      for (let batch = 0; batch < batches; batch++) {
        const size = Math.min(options.batchSize, count - batch * options.batchSize);
        const loss = epochRecords.losses[batch];
        lossSum += loss * size;
        correct += epochRecords.correct[batch];
        const batchReport: BatchReport = { epoch, batch, batches, loss, accuracy: epochRecords.correct[batch] / size };
        options.onBatchEnd?.(batchReport);
      }

      const report: EpochReport = {
        epoch,
        epochs: options.epochs,
        loss: lossSum / count,
        accuracy: correct / count,
        learningRate: optimizer.learningRate,
        seconds: (performance.now() - started) / 1000,
      };
      reports.push(report);
      options.onEpochEnd?.(report);
    }
    return reports;
  } finally {
    gpu.release(run.input, run.labels, run.scoreGrad, run.rowResults, run.status, run.records, ...layers.flatMap((layer) => layer.buffers));
    gpu.flush();
  }
}

/** Device state of one training run. */
interface DeviceRun {
  gpu: GpuContext;
  layers: DeviceLayer[];
  parameters: DeviceParameter[];
  input: GPUBuffer;
  /** u32 [batch] class labels. */
  labels: GPUBuffer;
  scoreGrad: GPUBuffer;
  rowResults: GPUBuffer;
  /** u32 [2]: the non-finite flag and the smallest bad-step code of the epoch. */
  status: GPUBuffer;
  /** u32 [batches, 2]: bits of each batch's f32 loss and its correct count. */
  records: GPUBuffer;
}

interface StepShape {
  batch: number;
  size: number;
  classes: number;
  /** 1-based Adam step. */
  step: number;
}

/** Records forward pass, loss, backward pass, gradient checks and updates of one training step. */
async function encodeStep(run: DeviceRun, loss: LossName, optimizer: Adam, shape: StepShape): Promise<void> {
  const { gpu, layers, parameters } = run;
  const slots = parameters.length + 1;

  let activation = run.input;
  for (const layer of layers) activation = await layer.forward(activation, shape.size);

  const record = { status: run.status, records: run.records, recordIndex: shape.batch, badCode: shape.batch * slots };
  await encodeLoss(gpu, loss, activation, run.labels, run.scoreGrad, run.rowResults, record, shape.size, shape.classes);

  // The first layer's input is the data, which needs no gradient.
  let grad: GPUBuffer | null = run.scoreGrad;
  for (let i = layers.length - 1; i >= 0; i--) grad = await layers[i].backward(grad!, shape.size, i > 0);

  // Every gradient is checked before any update, so a bad step changes no parameter at all.
  for (const [index, p] of parameters.entries()) {
    await encodeGradientCheck(gpu, p.grad, run.status, p.parameter.value.size, shape.batch * slots + 1 + index);
  }
  for (const p of parameters) {
    await encodeAdamStep(gpu, p, run.status, p.parameter.value.size, {
      learningRate: optimizer.learningRate,
      learningRateScale: p.parameter.learningRateScale,
      beta1: optimizer.beta1,
      beta2: optimizer.beta2,
      epsilon: optimizer.epsilon,
      step: shape.step,
      clip: p.parameter.clip,
    });
  }
  for (const layer of layers) await layer.afterStep(run.status, shape.size);
}

interface EpochRecords {
  losses: Float32Array;
  correct: Uint32Array;
  /** Smallest bad-step code of the epoch, or null when every step was finite. */
  firstBadCode: number | null;
}

async function readEpochRecords(run: DeviceRun, batches: number): Promise<EpochRecords> {
  const status = new Uint32Array(await run.gpu.read(run.status, 8, 'fitWebGpu: read the training status'));
  const records = await run.gpu.read(run.records, batches * 8, 'fitWebGpu: read the batch losses');
  const words = new Uint32Array(records);
  const floats = new Float32Array(records);
  const losses = new Float32Array(batches);
  const correct = new Uint32Array(batches);
  for (let batch = 0; batch < batches; batch++) {
    losses[batch] = floats[2 * batch];
    correct[batch] = words[2 * batch + 1];
  }
  return { losses, correct, firstBadCode: status[0] === 0 ? null : status[1] };
}

function badStepError(records: EpochRecords, epoch: number, parameters: DeviceParameter[]): QnnError {
  const slots = parameters.length + 1;
  const batch = Math.floor(records.firstBadCode! / slots);
  const slot = records.firstBadCode! % slots;
  const where = `at epoch ${epoch + 1}, batch ${batch + 1}`;
  if (slot === 0) {
    return new QnnError(
      `fitWebGpu: loss became ${records.losses[batch]} ${where}; the inputs are finite, so try a lower learning rate. ` +
        'The model has the weights of the last finite step',
    );
  }
  return new QnnError(
    `fitWebGpu: the gradient of ${parameters[slot - 1].parameter.name} is not finite ${where}; ` +
      'the model has the weights of the last finite step',
  );
}

/** Draws the dropout mask of sdk/layers/dropout.ts: one draw per element, 0 below `rate`, else 1 / (1 - rate). */
function drawDropoutMask(random: Random, rate: number, elements: number): Float32Array {
  const keep = 1 / (1 - rate);
  const mask = new Float32Array(elements);
  for (let i = 0; i < elements; i++) mask[i] = random.next() < rate ? 0 : keep;
  return mask;
}

/** Runs the argument checks of fit and rejects options WebGPU training lacks. Returns the sizes of the run. */
function checkFitArguments(
  model: Sequential,
  inputs: Float32Array,
  labels: ArrayLike<number>,
  options: FitOptions,
): { features: number; count: number; classes: number } {
  if (!model.isBuilt) throw new ShapeError('fitWebGpu: the model is not built; call build(inputShape, seed) first');
  const features = shapeSize(model.inputShape);
  const count = checkSampleCount(inputs, features);
  if (labels.length !== count) throw new ShapeError(`fitWebGpu: ${count} samples but ${labels.length} labels`);
  if (!Number.isInteger(options.batchSize) || options.batchSize <= 0) {
    throw new ShapeError(`fitWebGpu: batchSize must be a positive integer, got ${options.batchSize}`);
  }
  const unsupported = Object.entries(options).find(([key, value]) => value !== undefined && !SUPPORTED_OPTIONS.has(key));
  if (unsupported !== undefined) {
    throw new QnnError(`fitWebGpu: option '${unsupported[0]}' is not supported on WebGPU; leave it unset or train with fit() instead`);
  }
  if (options.optimizer.constructor !== Adam) {
    throw new QnnError(`fitWebGpu: the optimizer must be Adam, got ${describe(options.optimizer)}`);
  }
  if (!SUPPORTED_LOSSES.includes(options.loss)) {
    throw new QnnError(`fitWebGpu: loss '${String(options.loss)}' is not supported on WebGPU; expected ${SUPPORTED_LOSSES.join(' or ')}`);
  }

  const outputShape = model.outputShape;
  if (outputShape.length !== 1) throw new ShapeError(`fitWebGpu: the model must output class scores [classes], got [${outputShape.join(', ')}]`);
  const classes = outputShape[0];
  for (let i = 0; i < count; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new ShapeError(`fitWebGpu: label ${label} at index ${i} is outside 0..${classes - 1}`);
    }
  }
  for (let i = 0; i < inputs.length; i++) {
    if (!Number.isFinite(inputs[i])) {
      throw new QnnError(`fitWebGpu: input value ${inputs[i]} at sample ${Math.floor(i / features)}, feature ${i % features} is not finite`);
    }
  }
  return { features, count, classes };
}

/** The bad-step code batch * (parameters + 1) + slot must fit in a u32 below the 0xffffffff that means none. */
function checkBadCodeRange(batches: number, parameterCount: number): void {
  if (batches * (parameterCount + 1) >= 0xffffffff) {
    throw new QnnError(`fitWebGpu: ${batches} batches of ${parameterCount} parameters exceed the u32 step codes of the device status; use larger batches`);
  }
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return value.constructor.name;
}

import { QnnError, ShapeError } from '../errors.js';
import type { Sequential } from '../layers/sequential.js';
import { type LossName, losses } from '../losses/index.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { Random } from '../random.js';
import { Tensor, shapeSize } from '../tensor/tensor.js';
import { type Checkpoint, type TrainingPosition, captureCheckpoint, decodeCheckpoint, encodeCheckpoint, restoreCheckpoint } from './checkpoint.js';
import { defaultSyncFileOps, readFileSyncChecked, writeFileAtomicSync } from '../io/sync-file.js';
import { type TrainingContext, checkGradientBits } from './gradient-quantization.js';
import { argmax } from './metrics.js';
import { checkSampleCount } from './samples.js';

export interface BatchReport {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  loss: number;
  accuracy: number;
  learningRate: number;
  seconds: number;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  optimizer: Optimizer;
  loss: LossName;
  /** Seed of the data order, dropout masks and stochastic quantizers. */
  seed: number;
  /** Learning rate for each epoch (0-based); the optimizer's rate is used when absent. */
  learningRateSchedule?: (epoch: number) => number;
  /**
   * Bit width (2 to 8) of the output gradients that dense layers use for
   * their kernel gradient. They are quantized stochastically with a
   * per-tensor scale, as quantizeGradient describes. Undefined keeps float
   * gradients.
   */
  gradientBits?: number;
  onBatchEnd?: (report: BatchReport) => void;
  onEpochEnd?: (report: EpochReport) => void;
  /** Saves checkpoints while training; see CheckpointOptions. */
  checkpoint?: CheckpointOptions;
  /**
   * Continues from a checkpoint that `fit` saved: a file path (Node, Deno),
   * the file's bytes, or a decoded Checkpoint. The model's weights and
   * training state and the optimizer's state are overwritten from it, and
   * training goes on at the saved batch with the saved random streams, so the
   * result equals an uninterrupted run bit for bit. `epochs` stays the total
   * count; only the epochs finished in this call are reported.
   */
  resumeFrom?: string | Uint8Array | Checkpoint;
}

/** When and where `fit` saves checkpoints. Each save replaces the previous one. */
export interface CheckpointOptions {
  /** File to write (Node, Deno); each save goes to a temporary file that is flushed and then renamed over it. */
  path?: string;
  /** Receives each checkpoint's bytes, e.g. to keep them in memory or, in a browser, pass them to saveModelFile. */
  write?: (bytes: Uint8Array, position: TrainingPosition) => void;
  /** Saves after every N batches, counted across epochs. */
  everyBatches?: number;
  /** Saves at the end of every epoch; the default when everyBatches is absent. */
  everyEpoch?: boolean;
}

/**
 * Trains with mini-batch gradient descent on samples stored flat in `inputs`
 * (float32, [count, ...model.inputShape]) with class-index labels. A batch
 * whose loss is not finite stops training with an error instead of writing
 * NaN into the weights.
 */
export function fit(model: Sequential, inputs: Float32Array, labels: ArrayLike<number>, options: FitOptions): EpochReport[] {
  const features = shapeSize(model.inputShape);
  const count = checkSampleCount(inputs, features);
  if (labels.length !== count) throw new ShapeError(`fit: ${count} samples but ${labels.length} labels`);
  if (!Number.isInteger(options.batchSize) || options.batchSize <= 0) throw new ShapeError(`fit: batchSize must be a positive integer, got ${options.batchSize}`);

  checkFinite(inputs, features);
  if (options.gradientBits !== undefined) checkGradientBits('fit', options.gradientBits);

  // The options are typed, but JavaScript callers can leave out or misspell them.
  const lossFn = Object.hasOwn(losses, options.loss) ? losses[options.loss] : undefined;
  if (lossFn === undefined) throw new QnnError(`fit: loss '${String(options.loss)}' is unknown or missing; use one of ${Object.keys(losses).join(', ')}`);
  if (typeof options.optimizer?.apply !== 'function') throw new QnnError('fit: optimizer is missing; pass one such as new Adam({ learningRate: 0.003 })');

  const random = new Random(options.seed);
  const parameters = model.parameters();
  const order = Int32Array.from({ length: count }, (_v, i) => i);
  const batches = Math.ceil(count / options.batchSize);
  const reports: EpochReport[] = [];
  const saving = checkpointSchedule(options.checkpoint);
  if (saving !== null && options.optimizer.getState === undefined) throw new QnnError(`fit: checkpoints need an optimizer with getState; ${options.optimizer.constructor.name} has none`);

  const resumed = options.resumeFrom === undefined ? null : resumePosition(model, options, count);
  if (resumed !== null) {
    random.setState(resumed.randomState);
    order.set(resumed.order);
  }
  const save = (position: TrainingPosition): void => {
    const bytes = encodeCheckpoint(captureCheckpoint(model, options.optimizer, position));
    if (options.checkpoint?.path !== undefined) writeFileAtomicSync(options.checkpoint.path, bytes);
    options.checkpoint?.write?.(bytes, position);
  };
  const positionAt = (epoch: number, batch: number, epochRandom: Random | null, lossSum: number, correct: number): TrainingPosition => ({
    epoch,
    batch,
    batchSize: options.batchSize,
    sampleCount: count,
    seed: options.seed,
    randomState: random.getState(),
    epochRandomState: epochRandom === null ? null : epochRandom.getState(),
    order,
    lossSum,
    correct,
  });

  for (let epoch = resumed?.epoch ?? 0; epoch < options.epochs; epoch++) {
    const started = performance.now();
    // A checkpoint taken inside an epoch already contains that epoch's shuffle, stream and running sums.
    const midEpoch = resumed !== null && epoch === resumed.epoch && resumed.batch > 0;
    let epochRandom: Random;
    if (midEpoch) {
      epochRandom = new Random(resumed.epochRandomState ?? 0);
    } else {
      if (options.learningRateSchedule) options.optimizer.learningRate = options.learningRateSchedule(epoch);
      random.shuffle(order);
      epochRandom = random.fork();
    }
    const context: TrainingContext = { training: true, random: epochRandom, gradientBits: options.gradientBits };
    let lossSum = midEpoch ? resumed.lossSum : 0;
    let correct = midEpoch ? resumed.correct : 0;
    let saveAtEpochEnd = saving?.everyEpoch ?? false;

    for (let batch = midEpoch ? resumed.batch : 0; batch < batches; batch++) {
      const start = batch * options.batchSize;
      const size = Math.min(options.batchSize, count - start);
      const x = new Float32Array(size * features);
      const y = new Int32Array(size);
      for (let i = 0; i < size; i++) {
        const sample = order[start + i];
        x.set(inputs.subarray(sample * features, (sample + 1) * features), i * features);
        y[i] = labels[sample];
      }

      // A step that produces a non-finite loss or gradient is undone before
      // the error is raised, so the model stays as it was after the last good step.
      const savedState = model.trainingState().map((array) => array.slice());
      const restore = (): void => model.trainingState().forEach((array, i) => array.set(savedState[i]));
      const scores = model.forward(new Tensor(x, [size, ...model.inputShape]), context);
      const loss = lossFn(scores, y);
      const lossValue = loss.data[0];
      if (!Number.isFinite(lossValue)) {
        restore();
        throw new QnnError(`fit: loss became ${lossValue} at epoch ${epoch + 1}, batch ${batch + 1}; the inputs are finite, so try a lower learning rate`);
      }
      loss.backward();
      const badParameter = parameters.find((p) => p.value.grad !== null && !allFinite(p.value.grad));
      if (badParameter !== undefined) {
        restore();
        for (const p of parameters) p.value.grad = null;
        throw new QnnError(`fit: the gradient of ${badParameter.name} is not finite at epoch ${epoch + 1}, batch ${batch + 1}; the weights were left as before this batch`);
      }
      options.optimizer.apply(parameters);

      const predicted = argmax(scores.data as Float32Array, size, scores.shape[1]);
      let batchCorrect = 0;
      for (let i = 0; i < size; i++) if (predicted[i] === y[i]) batchCorrect++;
      lossSum += lossValue * size;
      correct += batchCorrect;
      options.onBatchEnd?.({ epoch, batch, batches, loss: lossValue, accuracy: batchCorrect / size });

      // A save due on an epoch's last batch waits for the epoch's end, so the checkpoint points at the next epoch's start.
      const due = saving !== null && saving.everyBatches > 0 && (epoch * batches + batch + 1) % saving.everyBatches === 0;
      if (due && batch + 1 < batches) save(positionAt(epoch, batch + 1, epochRandom, lossSum, correct));
      if (due && batch + 1 === batches) saveAtEpochEnd = true;
    }

    const report: EpochReport = {
      epoch,
      epochs: options.epochs,
      loss: lossSum / count,
      accuracy: correct / count,
      learningRate: options.optimizer.learningRate,
      seconds: (performance.now() - started) / 1000,
    };
    reports.push(report);
    options.onEpochEnd?.(report);
    if (saveAtEpochEnd) save(positionAt(epoch + 1, 0, null, 0, 0));
  }
  return reports;
}

function checkpointSchedule(options: CheckpointOptions | undefined): { everyBatches: number; everyEpoch: boolean } | null {
  if (options === undefined) return null;
  if (options.path === undefined && options.write === undefined) throw new QnnError('fit: checkpoint needs a path or a write callback');
  const everyBatches = options.everyBatches ?? 0;
  if (!Number.isInteger(everyBatches) || everyBatches < 0) throw new QnnError(`fit: checkpoint.everyBatches must be a positive integer, got ${options.everyBatches}`);

  // Fails before training, not at the first save, when the runtime has no synchronous file access (a browser).
  if (options.path !== undefined) defaultSyncFileOps();
  return { everyBatches, everyEpoch: options.everyEpoch ?? everyBatches === 0 };
}

/** Loads the checkpoint into the model and optimizer and checks that it was saved by a run with the same data and batching. */
function resumePosition(model: Sequential, options: FitOptions, count: number): TrainingPosition {
  const from = options.resumeFrom!;
  const source = typeof from === 'string' ? from : 'checkpoint';
  const checkpoint = typeof from === 'string' ? decodeCheckpoint(readFileSyncChecked(from), from) : from instanceof Uint8Array ? decodeCheckpoint(from) : from;
  const position = checkpoint.position;
  if (position === null) throw new QnnError(`fit: ${source} contains weights but no training position; load it with restoreCheckpoint and start a new fit instead`);
  if (checkpoint.optimizer === null) throw new QnnError(`fit: ${source} contains no optimizer state, so training cannot resume bit for bit`);
  if (position.sampleCount !== count) throw new QnnError(`fit: ${source} was saved while training on ${position.sampleCount} samples, this call has ${count}; resume with the same data`);
  if (position.batchSize !== options.batchSize) throw new QnnError(`fit: ${source} was saved with batchSize ${position.batchSize}, this call has ${options.batchSize}`);
  if (position.seed !== options.seed) throw new QnnError(`fit: ${source} was saved with seed ${position.seed}, this call has ${options.seed}`);
  if (position.batch > 0 && position.epochRandomState === null) throw new QnnError(`fit: ${source} stops inside epoch ${position.epoch + 1} but has no epoch stream state`);
  if (options.optimizer.setState === undefined) throw new QnnError(`fit: the optimizer ${options.optimizer.constructor.name} has no setState, so training cannot resume`);

  restoreCheckpoint(model, checkpoint, options.optimizer, source);
  return position;
}

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

function checkFinite(inputs: Float32Array, features: number): void {
  for (let i = 0; i < inputs.length; i++) {
    if (!Number.isFinite(inputs[i])) {
      throw new QnnError(`fit: input value ${inputs[i]} at sample ${Math.floor(i / features)}, feature ${i % features} is not finite`);
    }
  }
}

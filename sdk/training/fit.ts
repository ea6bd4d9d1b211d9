import { QnnError, ShapeError } from '../errors.js';
import type { Sequential } from '../layers/sequential.js';
import { type LossName, losses } from '../losses/index.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { Random } from '../random.js';
import { Tensor, shapeSize } from '../tensor/tensor.js';
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

  const random = new Random(options.seed);
  const lossFn = losses[options.loss];
  const parameters = model.parameters();
  const order = Int32Array.from({ length: count }, (_v, i) => i);
  const batches = Math.ceil(count / options.batchSize);
  const reports: EpochReport[] = [];

  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const started = performance.now();
    if (options.learningRateSchedule) options.optimizer.learningRate = options.learningRateSchedule(epoch);
    random.shuffle(order);
    const context: TrainingContext = { training: true, random: random.fork(), gradientBits: options.gradientBits };
    let lossSum = 0;
    let correct = 0;

    for (let batch = 0; batch < batches; batch++) {
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
  }
  return reports;
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

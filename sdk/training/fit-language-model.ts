import { QnnError } from '../errors.js';
import type { RecurrentState } from '../layers/recurrent-layer.js';
import { softmaxCrossEntropy } from '../losses/softmax-cross-entropy.js';
import type { LanguageModel } from '../models/language-model.js';
import { checkTokens } from '../models/language-model.js';
import { logSumExpRow } from '../ops/softmax.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { Random } from '../random.js';
import { bpttLayout, bpttWindows } from './bptt-batches.js';
import { clipGradientsByGlobalNorm } from './clip-gradients.js';
import { argmax } from './metrics.js';

export interface LanguageModelBatchReport {
  epoch: number;
  batch: number;
  batches: number;
  /** Mean cross-entropy of the window in nats per token. */
  loss: number;
  /** Share of tokens whose next token was predicted (argmax). */
  accuracy: number;
  /** Global gradient norm before clipping. */
  gradientNorm: number;
}

export interface LanguageModelEpochReport {
  epoch: number;
  epochs: number;
  /** Mean training cross-entropy in nats per token. */
  loss: number;
  /** exp(loss), the training perplexity. */
  perplexity: number;
  accuracy: number;
  learningRate: number;
  seconds: number;
}

export interface FitLanguageModelOptions {
  epochs: number;
  /** Number of parallel streams the token sequence is cut into. */
  batchSize: number;
  /** Time steps per truncated-BPTT window. */
  bpttSteps: number;
  optimizer: Optimizer;
  /** Largest global gradient norm; larger gradients are scaled down to it. 0 or Infinity disables clipping. */
  clipNorm: number;
  /** Seed of the stochastic quantizers' draws (the weights are seeded by languageModel). */
  seed: number;
  /** Learning rate for each epoch (0-based); the optimizer's rate is used when absent. */
  learningRateSchedule?: (epoch: number) => number;
  onBatchEnd?: (report: LanguageModelBatchReport) => void;
  onEpochEnd?: (report: LanguageModelEpochReport) => void;
}

export interface PerplexityOptions {
  batchSize: number;
  bpttSteps: number;
}

export interface PerplexityResult {
  /** Mean cross-entropy in nats per token. */
  crossEntropy: number;
  perplexity: number;
  /** Number of predicted tokens the mean is over. */
  tokens: number;
}

/**
 * Trains with truncated backpropagation through time. The tokens are cut into
 * batchSize parallel streams, and each window of bpttSteps steps is one
 * optimizer step on the mean per-token softmax cross-entropy. The hidden state
 * is carried, detached, from one window to the next of the same streams, and
 * reset to zeros at each epoch. Gradients are clipped by global norm before the step.
 * A non-finite loss or gradient stops training with an error naming epoch and
 * batch, with the weights as after the last good step.
 */
export function fitLanguageModel(model: LanguageModel, trainTokens: Int32Array, options: FitLanguageModelOptions): LanguageModelEpochReport[] {
  const layout = bpttLayout(trainTokens.length, options.batchSize, options.bpttSteps, 'fitLanguageModel');
  if (!Number.isInteger(options.epochs) || options.epochs < 0) throw new QnnError(`fitLanguageModel: epochs must be an integer >= 0, got ${options.epochs}`);
  if (!(options.clipNorm >= 0)) throw new QnnError(`fitLanguageModel: clipNorm must be >= 0 (0 or Infinity disables clipping), got ${options.clipNorm}`);
  checkTokens(trainTokens, model.vocabularySize, 'fitLanguageModel trainTokens');

  const random = new Random(options.seed);
  const parameters = model.parameters();
  const reports: EpochReport[] = [];

  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const started = performance.now();
    if (options.learningRateSchedule) options.optimizer.learningRate = options.learningRateSchedule(epoch);
    const context = { training: true, random: random.fork() };
    let state: RecurrentState | null = null;
    let lossSum = 0;
    let correct = 0;
    let counted = 0;
    let batch = 0;

    for (const window of bpttWindows(trainTokens, layout, options.bpttSteps)) {
      const { logits, state: next } = model.forward(window.inputs, window.batch, window.steps, state, context);
      const loss = softmaxCrossEntropy(logits, window.targets);
      const lossValue = loss.data[0];
      if (!Number.isFinite(lossValue)) {
        throw new QnnError(`fitLanguageModel: loss became ${lossValue} at epoch ${epoch + 1}, batch ${batch + 1}; try a lower learning rate or a smaller clipNorm`);
      }

      loss.backward();
      const bad = parameters.find((p) => p.value.grad !== null && !allFinite(p.value.grad));
      if (bad !== undefined) {
        for (const p of parameters) p.value.grad = null;
        throw new QnnError(`fitLanguageModel: the gradient of ${bad.name} is not finite at epoch ${epoch + 1}, batch ${batch + 1}; the weights were left as before this batch`);
      }
      const gradientNorm = clipGradientsByGlobalNorm(parameters, options.clipNorm);
      options.optimizer.apply(parameters);

      // The next window continues the same streams, so it starts from this
      // state, cut from the graph so that backpropagation stops here.
      state = { h: next.h.detach(), c: next.c === null ? null : next.c.detach() };

      const tokens = window.batch * window.steps;
      const windowCorrect = countCorrect(logits.data as Float32Array, window.targets, model.vocabularySize);
      lossSum += lossValue * tokens;
      correct += windowCorrect;
      counted += tokens;
      options.onBatchEnd?.({ epoch, batch, batches: layout.windows, loss: lossValue, accuracy: windowCorrect / tokens, gradientNorm });
      batch++;
    }

    const report: EpochReport = {
      epoch,
      epochs: options.epochs,
      loss: lossSum / counted,
      perplexity: Math.exp(lossSum / counted),
      accuracy: correct / counted,
      learningRate: options.optimizer.learningRate,
      seconds: (performance.now() - started) / 1000,
    };
    reports.push(report);
    options.onEpochEnd?.(report);
  }
  return reports;
}

type EpochReport = LanguageModelEpochReport;

/**
 * Perplexity = exp(mean cross-entropy in nats) over every predicted token,
 * with the model in inference mode and the state carried across windows as in
 * training. The per-token terms are summed in float64.
 */
export function evaluatePerplexity(model: LanguageModel, tokens: Int32Array, options: PerplexityOptions): PerplexityResult {
  const layout = bpttLayout(tokens.length, options.batchSize, options.bpttSteps, 'evaluatePerplexity');
  checkTokens(tokens, model.vocabularySize, 'evaluatePerplexity tokens');
  const context = { training: false, random: new Random(0) };
  const classes = model.vocabularySize;
  let state: RecurrentState | null = null;
  let total = 0;

  for (const window of bpttWindows(tokens, layout, options.bpttSteps)) {
    const { logits, state: next } = model.forward(window.inputs, window.batch, window.steps, state, context);
    state = { h: next.h.detach(), c: next.c === null ? null : next.c.detach() };
    const scores = logits.data;
    for (let row = 0; row < window.targets.length; row++) {
      total += logSumExpRow(scores, row * classes, classes) - scores[row * classes + window.targets[row]];
    }
  }

  const crossEntropy = total / layout.predictedTokens;
  if (!Number.isFinite(crossEntropy)) throw new QnnError(`evaluatePerplexity: the cross-entropy is ${crossEntropy}; the model's weights are not finite`);
  return { crossEntropy, perplexity: Math.exp(crossEntropy), tokens: layout.predictedTokens };
}

function countCorrect(scores: Float32Array, targets: Int32Array, classes: number): number {
  const predicted = argmax(scores, targets.length, classes);
  let correct = 0;
  for (let i = 0; i < targets.length; i++) if (predicted[i] === targets[i]) correct++;
  return correct;
}

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

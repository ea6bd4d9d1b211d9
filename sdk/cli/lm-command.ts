import { parseArgs } from 'node:util';

import { setBackend } from '../backends/active-backend.js';
import { selectBackends } from '../backends/select-backends.js';
import { FORTUNES_DIR, loadFortunesCorpus } from '../data/text/fortunes.js';
import { loadPtbCorpus } from '../data/text/ptb.js';
import type { TextCorpus, TextLevel } from '../data/text/text-corpus.js';
import { checkTokenIds } from '../data/text/vocabulary.js';
import { QnnError } from '../errors.js';
import { type LanguageModel, languageModel, type RecurrentCellKind } from '../models/language-model.js';
import { Adam, exponentialDecay } from '../optimizers/adam.js';
import type { Quantizer } from '../quantizers/quantizer-spec.js';
import { bpttLayout } from '../training/bptt-batches.js';
import { evaluatePerplexity, fitLanguageModel } from '../training/fit-language-model.js';
import { integerInRange, positiveInteger, positiveNumber, threadCount } from './args.js';
import { type PackedLanguageModelCheck, checkPackedLanguageModel } from './lm-packed-check.js';
import { LanguageModelProgress } from './lm-progress.js';

export const LM_DEFAULTS = {
  corpus: 'fortunes',
  cell: 'lstm' as RecurrentCellKind,
  embedding: 32,
  hidden: 128,
  bptt: 32,
  batchSize: 32,
  epochs: 1,
  learningRate: 0.003,
  clipNorm: 1,
  weightRange: 0.5,
  wordVocabularySize: 10000,
  seed: 1,
  backend: 'wasm',
};

export const LM_HELP = `qnn train --task lm [options]

Trains a language model (embedding, one LSTM or GRU layer, softmax head over
the vocabulary) with truncated backpropagation through time and Adam, then
reports the validation and test perplexity. The embedding and the head stay
float32; --weight-bits and --activation-bits quantize the recurrent layer.

Options:
  --corpus NAME          fortunes (default; Debian's fortunes package, split by entry index mod 10:
                         0-7 train, 8 validation, 9 test) or ptb (ptb.train.txt, ptb.valid.txt and
                         ptb.test.txt from --data-dir)
  --data-dir DIR         folder of the corpus (fortunes default ${FORTUNES_DIR}; required for ptb)
  --level NAME           char or word tokens (default char for fortunes, word for ptb)
  --vocabulary-size N    largest vocabulary, <eos> and <unk> included; rarer training tokens become
                         <unk> (default ${LM_DEFAULTS.wordVocabularySize} at word level, no cap at char level)
  --cell NAME            lstm or gru (default ${LM_DEFAULTS.cell})
  --weight-bits K        quantize the input and recurrent kernels to K bits: 1 is the sign, 2 to 8 are
                         signed fixed point with levels in [-R, R) for R = --weight-range (default float32)
  --weight-range R       R of the fixed-point weight levels, also the clip of the latent weights
                         (default ${LM_DEFAULTS.weightRange})
  --activation-bits K    quantize the gate inputs and the hidden state to K bits: 1 is the sign, 2 to 8
                         are signed fixed point with levels in [-1, 1) (default float32)
  --embedding N          embedding units (default ${LM_DEFAULTS.embedding})
  --hidden N             recurrent units (default ${LM_DEFAULTS.hidden})
  --bptt N               time steps per truncated-BPTT window (default ${LM_DEFAULTS.bptt})
  --batch-size N         parallel token streams (default ${LM_DEFAULTS.batchSize})
  --epochs N             passes over the training tokens (default ${LM_DEFAULTS.epochs})
  --learning-rate R      Adam learning rate of the first epoch (default ${LM_DEFAULTS.learningRate})
  --final-learning-rate R  learning rate of the last epoch, reached by exponential decay (default: no decay)
  --clip-norm X          largest global gradient norm; 0 disables clipping (default ${LM_DEFAULTS.clipNorm})
  --train-limit N        train on the first N training tokens only
  --eval-limit N         evaluate on the first N validation and N test tokens only
  --backend NAME         wasm (default), wasm-simd, wasm-scalar or reference; the CPU backend of the matmuls
  --threads N            worker threads for the WASM kernels, a number or 'auto' (default 1)
  --seed N               seed of the initial weights and the stochastic quantizers (default ${LM_DEFAULTS.seed})
  --json                 print the summary as one JSON object on stdout
`;

/** The options of one language-model job, after parsing and checking. */
export interface LanguageModelJob {
  corpus: 'fortunes' | 'ptb';
  dataDir: string | undefined;
  level: TextLevel;
  vocabularySize: number | undefined;
  cell: RecurrentCellKind;
  weightBits: number | null;
  weightRange: number;
  activationBits: number | null;
  embedding: number;
  hidden: number;
  bptt: number;
  batchSize: number;
  epochs: number;
  learningRate: number;
  finalLearningRate: number;
  clipNorm: number;
  trainLimit: number | undefined;
  evalLimit: number | undefined;
  backend: string;
  threads: number | 'auto';
  seed: number;
  json: boolean;
}

/** Parses `qnn train --task lm` options (without `--task lm`); throws QnnError naming the option at fault. */
export function parseLanguageModelArgs(argv: string[]): LanguageModelJob | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      corpus: { type: 'string' },
      'data-dir': { type: 'string' },
      level: { type: 'string' },
      'vocabulary-size': { type: 'string' },
      cell: { type: 'string' },
      'weight-bits': { type: 'string' },
      'weight-range': { type: 'string' },
      'activation-bits': { type: 'string' },
      embedding: { type: 'string' },
      hidden: { type: 'string' },
      bptt: { type: 'string' },
      'batch-size': { type: 'string' },
      epochs: { type: 'string' },
      'learning-rate': { type: 'string' },
      'final-learning-rate': { type: 'string' },
      'clip-norm': { type: 'string' },
      'train-limit': { type: 'string' },
      'eval-limit': { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';

  const corpus = values.corpus ?? LM_DEFAULTS.corpus;
  if (corpus !== 'fortunes' && corpus !== 'ptb') throw new QnnError(`unknown --corpus '${corpus}'; expected fortunes or ptb`);
  if (corpus === 'ptb' && values['data-dir'] === undefined) {
    throw new QnnError('--corpus ptb needs --data-dir, the folder with ptb.train.txt, ptb.valid.txt and ptb.test.txt');
  }
  const level = values.level ?? (corpus === 'ptb' ? 'word' : 'char');
  if (level !== 'char' && level !== 'word') throw new QnnError(`unknown --level '${level}'; expected char or word`);
  const cell = values.cell ?? LM_DEFAULTS.cell;
  if (cell !== 'lstm' && cell !== 'gru') throw new QnnError(`unknown --cell '${cell}'; expected lstm or gru`);
  const backend = values.backend ?? LM_DEFAULTS.backend;
  if (!['wasm', 'wasm-simd', 'wasm-scalar', 'reference'].includes(backend)) {
    throw new QnnError(`--backend ${backend} is not available for language models; expected wasm, wasm-simd, wasm-scalar or reference, because the recurrent layers train on the CPU`);
  }

  const vocabularyDefault = level === 'word' ? LM_DEFAULTS.wordVocabularySize : undefined;
  const vocabularySize = values['vocabulary-size'] === undefined ? vocabularyDefault : integerInRange(values['vocabulary-size'], 'vocabulary-size', 3, 2 ** 31 - 1);
  const learningRate = positiveNumber(values['learning-rate'], 'learning-rate', LM_DEFAULTS.learningRate);
  return {
    corpus,
    dataDir: values['data-dir'],
    level,
    vocabularySize,
    cell,
    weightBits: values['weight-bits'] === undefined ? null : integerInRange(values['weight-bits'], 'weight-bits', 1, 8),
    weightRange: positiveNumber(values['weight-range'], 'weight-range', LM_DEFAULTS.weightRange),
    activationBits: values['activation-bits'] === undefined ? null : integerInRange(values['activation-bits'], 'activation-bits', 1, 8),
    embedding: positiveInteger(values.embedding, 'embedding', LM_DEFAULTS.embedding),
    hidden: positiveInteger(values.hidden, 'hidden', LM_DEFAULTS.hidden),
    bptt: positiveInteger(values.bptt, 'bptt', LM_DEFAULTS.bptt),
    batchSize: positiveInteger(values['batch-size'], 'batch-size', LM_DEFAULTS.batchSize),
    epochs: positiveInteger(values.epochs, 'epochs', LM_DEFAULTS.epochs),
    learningRate,
    finalLearningRate: positiveNumber(values['final-learning-rate'], 'final-learning-rate', learningRate),
    clipNorm: clipNormOption(values['clip-norm']),
    trainLimit: values['train-limit'] === undefined ? undefined : positiveInteger(values['train-limit'], 'train-limit', 0),
    evalLimit: values['eval-limit'] === undefined ? undefined : positiveInteger(values['eval-limit'], 'eval-limit', 0),
    backend,
    threads: threadCount(values.threads, 'threads'),
    seed: positiveInteger(values.seed, 'seed', LM_DEFAULTS.seed),
    json: values.json,
  };
}

/** Runs `qnn train --task lm`: loads the corpus, trains, and reports validation and test perplexity. */
export async function lmCommand(argv: string[]): Promise<void> {
  const job = parseLanguageModelArgs(argv);
  if (job === 'help') {
    process.stdout.write(LM_HELP);
    return;
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const jobStarted = performance.now();

  const backends = await selectBackends(job.backend, { threads: job.threads, log });
  setBackend(backends.cpu);
  const corpus = await loadCorpus(job);
  const train = limitTokens(corpus.train, job.trainLimit);
  const valid = limitTokens(corpus.valid, job.evalLimit);
  const test = limitTokens(corpus.test, job.evalLimit);
  for (const [name, tokens] of [['training', train], ['validation', valid], ['test', test]] as const) {
    checkTokenIds(tokens, corpus.vocabulary.size, `${corpus.name} ${name} split`);
  }
  log(
    `loaded ${corpus.name} (${corpus.level} level): ${train.length} training, ${valid.length} validation and ${test.length} test tokens, ` +
      `vocabulary ${corpus.vocabulary.size}; backend ${backends.name}`,
  );

  const weightQuantizer = quantizerFor(job.weightBits, job.weightRange);
  const activationQuantizer = quantizerFor(job.activationBits, 1);
  const model = languageModel({
    vocabularySize: corpus.vocabulary.size,
    embeddingUnits: job.embedding,
    hiddenUnits: job.hidden,
    cell: job.cell,
    weightQuantizer,
    activationQuantizer,
    seed: job.seed,
  });
  const parameterCount = model.parameters().reduce((n, p) => n + p.value.size, 0);
  const bits = `weights ${describeBits(job.weightBits)}, activations ${describeBits(job.activationBits)}`;
  log(`model: embedding ${job.embedding}, ${job.cell} ${job.hidden}, ${bits}, ${parameterCount} parameters; ${job.epochs} epoch(s), batch ${job.batchSize}, bptt ${job.bptt}`);

  // The evaluation splits are checked before training, so a too-short split fails in seconds, not after the last epoch.
  const layout = bpttLayout(train.length, job.batchSize, job.bptt, `${corpus.name} training split`);
  bpttLayout(valid.length, job.batchSize, job.bptt, `${corpus.name} validation split`);
  bpttLayout(test.length, job.batchSize, job.bptt, `${corpus.name} test split`);
  const progress = new LanguageModelProgress({ batch: layout.batch, streamLength: layout.streamLength, bpttSteps: job.bptt }, log);
  const trainStarted = performance.now();
  const reports = fitLanguageModel(model, train, {
    epochs: job.epochs,
    batchSize: job.batchSize,
    bpttSteps: job.bptt,
    optimizer: new Adam({ learningRate: job.learningRate }),
    learningRateSchedule: exponentialDecay(job.learningRate, job.finalLearningRate, job.epochs),
    clipNorm: job.clipNorm,
    seed: job.seed,
    onBatchEnd: (report) => progress.onBatchEnd(report),
    onEpochEnd: (report) => progress.onEpochEnd(report),
  });
  const trainSeconds = (performance.now() - trainStarted) / 1000;

  const evaluation = { batchSize: job.batchSize, bpttSteps: job.bptt };
  const validResult = evaluatePerplexity(model, valid, evaluation);
  const testResult = evaluatePerplexity(model, test, evaluation);
  const last = reports[reports.length - 1];
  const packed = packedCheck(model, test, job);

  const summary = {
    task: 'lm',
    corpus: corpus.name,
    level: corpus.level,
    cell: job.cell,
    weightBits: job.weightBits,
    weightRange: job.weightBits === null || job.weightBits === 1 ? null : job.weightRange,
    activationBits: job.activationBits,
    embedding: job.embedding,
    hidden: job.hidden,
    vocabularySize: corpus.vocabulary.size,
    parameters: parameterCount,
    epochs: job.epochs,
    batchSize: job.batchSize,
    bptt: job.bptt,
    learningRate: job.learningRate,
    finalLearningRate: job.finalLearningRate,
    clipNorm: job.clipNorm,
    seed: job.seed,
    backend: backends.name,
    trainTokens: train.length,
    trainLoss: last.loss,
    trainPerplexity: last.perplexity,
    validTokens: validResult.tokens,
    validCrossEntropy: validResult.crossEntropy,
    validPerplexity: validResult.perplexity,
    testTokens: testResult.tokens,
    testCrossEntropy: testResult.crossEntropy,
    testPerplexity: testResult.perplexity,
    packed,
    trainSeconds,
    trainTokensPerSecond: (job.epochs * layout.predictedTokens) / trainSeconds,
    totalSeconds: (performance.now() - jobStarted) / 1000,
  };

  if (job.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const perToken = corpus.level === 'char' ? 'character' : 'word';
  process.stdout.write(
    [
      '',
      `${corpus.name}, ${corpus.level} level, ${job.cell} ${job.hidden} (${bits})`,
      `  validation perplexity   ${validResult.perplexity.toFixed(3)} (${(validResult.crossEntropy / Math.LN2).toFixed(4)} bits per ${perToken}, ${validResult.tokens} tokens)`,
      `  test perplexity         ${testResult.perplexity.toFixed(3)} (${(testResult.crossEntropy / Math.LN2).toFixed(4)} bits per ${perToken}, ${testResult.tokens} tokens)`,
      `  training perplexity     ${last.perplexity.toFixed(3)} (last epoch, ${train.length} tokens)`,
      `  training time           ${trainSeconds.toFixed(1)} s (${Math.round(summary.trainTokensPerSecond)} tokens/s)`,
      `  packed recurrent cell   ${describePacked(packed)}`,
      '',
    ].join('\n'),
  );
}

/**
 * Runs the packed recurrent cell (bit-plane GEMMs on k-bit codes) beside the
 * training graph on the first test windows. Only k-bit linear weights and
 * activations compile, so float and 1-bit models return the reason instead.
 */
function packedCheck(model: LanguageModel, test: Int32Array, job: LanguageModelJob): PackedLanguageModelCheck | { skipped: string } {
  if (job.weightBits === null || job.activationBits === null || job.weightBits === 1 || job.activationBits === 1) {
    return { skipped: 'the packed recurrent cell needs 2- to 8-bit weights and activations' };
  }
  try {
    return checkPackedLanguageModel(model, test, job.batchSize, job.bptt, PACKED_CHECK_WINDOWS);
  } catch (error) {
    if (error instanceof QnnError) return { skipped: error.message };
    throw error;
  }
}

/** Test windows that the packed check runs; enough positions to show agreement, few enough to cost seconds. */
const PACKED_CHECK_WINDOWS = 8;

function describePacked(packed: PackedLanguageModelCheck | { skipped: string }): string {
  if ('skipped' in packed) return `not run: ${packed.skipped}`;
  return `${(100 * packed.predictionMatch).toFixed(2)}% of ${packed.positions} next-token predictions equal to the training graph, max score difference ${packed.maxScoreDifference}`;
}

/** Returns the quantizer for `bits`: the sign for 1 bit, and for 2 to 8 bits signed fixed point whose levels cover [-range, range). */
function quantizerFor(bits: number | null, range: number): Quantizer {
  if (bits === null) return null;
  if (bits === 1) return 'ste_sign';
  return { kind: 'linear', bits, step: range * 2 ** (1 - bits) };
}

function describeBits(bits: number | null): string {
  return bits === null ? 'float32' : `${bits}-bit`;
}

async function loadCorpus(job: LanguageModelJob): Promise<TextCorpus> {
  const vocabulary = job.vocabularySize === undefined ? {} : { maxSize: job.vocabularySize };
  if (job.corpus === 'ptb') return loadPtbCorpus({ dir: job.dataDir!, level: job.level, ...vocabulary });
  return loadFortunesCorpus({ ...(job.dataDir === undefined ? {} : { dir: job.dataDir }), level: job.level, ...vocabulary });
}

function limitTokens(tokens: Int32Array, limit: number | undefined): Int32Array {
  return limit === undefined || limit >= tokens.length ? tokens : tokens.subarray(0, limit);
}

function clipNormOption(value: string | undefined): number {
  if (value === undefined) return LM_DEFAULTS.clipNorm;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) throw new QnnError(`--clip-norm must be a number >= 0 (0 disables clipping), got '${value}'`);
  return parsed;
}

/**
 * Removes `--task NAME` (or `--task=NAME`) from `qnn train` arguments and returns the task:
 * 'classify' (the image classifiers, the default) or 'lm'. Throws QnnError for another name.
 */
export function splitTaskOption(argv: string[]): { task: 'classify' | 'lm'; rest: string[] } {
  let task = 'classify';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--task') {
      if (i + 1 >= argv.length) throw new QnnError("--task needs a value: classify or lm");
      task = argv[++i];
    } else if (argv[i].startsWith('--task=')) {
      task = argv[i].slice('--task='.length);
    } else {
      rest.push(argv[i]);
    }
  }
  if (task !== 'classify' && task !== 'lm') throw new QnnError(`unknown --task '${task}'; expected classify or lm`);
  return { task, rest };
}

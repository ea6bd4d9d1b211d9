import { QnnError, ShapeError } from '../errors.js';
import { Dense } from '../layers/dense.js';
import { Embedding } from '../layers/embedding.js';
import { GRU } from '../layers/gru.js';
import type { ForwardContext, Parameter } from '../layers/layer.js';
import { LSTM } from '../layers/lstm.js';
import { type RecurrentState, latentClip } from '../layers/recurrent-layer.js';
import { timeDistributedDense } from '../layers/time-distributed.js';
import type { Quantizer } from '../quantizers/quantizer-spec.js';
import { Random } from '../random.js';
import { Tensor } from '../tensor/tensor.js';

export type RecurrentCellKind = 'lstm' | 'gru';

export interface LanguageModelOptions {
  vocabularySize: number;
  embeddingUnits: number;
  hiddenUnits: number;
  cell: RecurrentCellKind;
  /** Quantizer of the input and recurrent kernels, e.g. { kind: 'linear', bits: 2 }; null or absent keeps them float. */
  weightQuantizer?: Quantizer;
  /** Quantizer of the gate inputs x_t and of the hidden state; null or absent keeps them float. */
  activationQuantizer?: Quantizer;
  seed: number;
}

/** Next-token scores for every position of a window, with the state after its last step. */
export interface LanguageModelOutput {
  /** Scores [batch * steps, vocabularySize], row b * steps + t for stream b at step t. */
  logits: Tensor;
  state: RecurrentState;
}

/**
 * Embedding -> one LSTM or GRU layer -> float softmax head over every time
 * step. The embedding table and the head stay float, as the first and last
 * layers of quantized networks usually do. The recurrent layer carries the
 * weight and activation quantizers.
 */
export class LanguageModel {
  readonly options: LanguageModelOptions;
  readonly embedding: Embedding;
  readonly recurrent: LSTM | GRU;
  readonly head: Dense;

  constructor(options: LanguageModelOptions) {
    checkOptions(options);
    this.options = { ...options };
    const random = new Random(options.seed);
    const quantizers = { weightQuantizer: options.weightQuantizer ?? null, activationQuantizer: options.activationQuantizer ?? null };

    // Under a linear activation quantizer the table spans its levels, so that
    // the quantized gate inputs do not all start at the zero code.
    const initialScale = Math.max(0.1, latentClip(quantizers.activationQuantizer) ?? 0);
    this.embedding = new Embedding(options.vocabularySize, options.embeddingUnits, { name: 'embedding', initialScale });
    this.recurrent = options.cell === 'lstm' ? new LSTM(options.hiddenUnits, { ...quantizers, name: 'lstm' }) : new GRU(options.hiddenUnits, { ...quantizers, name: 'gru' });
    this.head = new Dense(options.vocabularySize, { name: 'head' });

    this.embedding.build([1], random.fork());
    this.recurrent.build([1, options.embeddingUnits], random.fork());
    this.head.build([options.hiddenUnits], random.fork());
  }

  get vocabularySize(): number {
    return this.options.vocabularySize;
  }

  parameters(): Parameter[] {
    return [...this.embedding.parameters(), ...this.recurrent.parameters(), ...this.head.parameters()];
  }

  /** Returns a zero state for `batch` parallel streams. */
  initialState(batch: number): RecurrentState {
    return this.recurrent.initialState(batch);
  }

  /**
   * Scores the next token after each of `tokens` [batch, steps] (row-major,
   * stream b at b * steps), starting from `state` (zeros when null).
   */
  forward(tokens: Int32Array, batch: number, steps: number, state: RecurrentState | null, context: ForwardContext): LanguageModelOutput {
    if (!Number.isInteger(batch) || !Number.isInteger(steps) || batch <= 0 || steps <= 0 || tokens.length !== batch * steps) {
      throw new ShapeError(`languageModel: ${tokens.length} tokens do not form [batch ${batch}, steps ${steps}]`);
    }
    checkTokens(tokens, this.vocabularySize, 'languageModel input');

    const embedded = this.embedding.forward(new Tensor(tokens, [batch, steps]), context);
    const { output, state: next } = this.recurrent.run(embedded, state, context);
    return { logits: timeDistributedDense(this.head, output, context), state: next };
  }
}

/** Builds a word- or character-level language model with seeded initial weights. */
export function languageModel(options: LanguageModelOptions): LanguageModel {
  return new LanguageModel(options);
}

/** Throws a QnnError naming the first token id outside [0, vocabularySize). */
export function checkTokens(tokens: Int32Array, vocabularySize: number, where: string): void {
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    if (id < 0 || id >= vocabularySize) {
      throw new QnnError(`${where}: token id ${id} at position ${i} is outside the vocabulary [0, ${vocabularySize}); rebuild the model with a larger vocabularySize or remap the ids`);
    }
  }
}

function checkOptions(options: LanguageModelOptions): void {
  for (const field of ['vocabularySize', 'embeddingUnits', 'hiddenUnits'] as const) {
    const value = options[field];
    if (!Number.isInteger(value) || value <= 0) throw new QnnError(`languageModel: ${field} must be a positive integer, got ${value}`);
  }
  if (options.cell !== 'lstm' && options.cell !== 'gru') {
    throw new QnnError(`languageModel: cell must be 'lstm' or 'gru', got '${String(options.cell)}'`);
  }
  if (!Number.isInteger(options.seed)) throw new QnnError(`languageModel: seed must be an integer, got ${options.seed}`);
}

import { ShapeError } from '../errors.js';
import { add } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { stackSteps, timeStep } from '../ops/sequence.js';
import { type Quantizer, checkQuantizer, isBinaryQuantizer } from '../quantizers/quantizer-spec.js';
import type { Random } from '../random.js';
import { Tensor, formatShape } from '../tensor/tensor.js';
import { quantize } from './dense.js';
import { type ForwardContext, Layer, type Parameter } from './layer.js';
import { reshape } from './reshape.js';

export interface RecurrentOptions {
  /** Emits the hidden state of every step ([batch, time, units]) instead of the last one ([batch, units]). Default true. */
  returnSequences?: boolean;
  /** Quantizer of the input kernel and the recurrent kernel, e.g. { kind: 'linear', bits: 2 }; null keeps them float. */
  weightQuantizer?: Quantizer;
  /** Quantizer of the gate inputs: x_t, and the hidden state where it is produced (so h_{t-1} enters the recurrent matmul quantized). */
  activationQuantizer?: Quantizer;
  name?: string;
}

/** The carried state of a recurrent layer: h for both cells, c for the LSTM only. */
export interface RecurrentState {
  h: Tensor;
  c: Tensor | null;
}

/** Intermediate tensors of one step by name (gates, pre-quantization hidden state), for tests and inspection. */
export type StepTrace = Record<string, Tensor>;

/** Output of a recurrent layer over a whole sequence, with the state after its last step. */
export interface RecurrentResult {
  output: Tensor;
  state: RecurrentState;
}

/**
 * Shared part of LSTM and GRU. It owns a fused input kernel [features, gates * units],
 * a fused recurrent kernel [units, gates * units] and a bias [gates * units].
 * The gate blocks lie side by side in the order that the subclass documents.
 * The input projection q(x) · q(W) + b is one matmul over all time steps;
 * only the recurrent matmul runs per step.
 */
export abstract class RecurrentLayer extends Layer {
  readonly units: number;
  readonly returnSequences: boolean;
  readonly weightQuantizer: Quantizer;
  readonly activationQuantizer: Quantizer;
  kernel: Tensor = Tensor.zeros([0]);
  recurrentKernel: Tensor = Tensor.zeros([0]);
  bias: Tensor = Tensor.zeros([0]);

  /** Number of gate blocks in the fused kernels (4 for the LSTM, 3 for the GRU). */
  abstract readonly gates: number;

  constructor(units: number, options: RecurrentOptions, defaultName: string) {
    super(options.name ?? defaultName);
    if (!Number.isInteger(units) || units <= 0) throw new ShapeError(`${this.name}: units must be a positive integer, got ${units}`);
    this.units = units;
    this.returnSequences = options.returnSequences ?? true;
    this.weightQuantizer = options.weightQuantizer ?? null;
    this.activationQuantizer = options.activationQuantizer ?? null;
    checkQuantizer(this.name, 'weightQuantizer', this.weightQuantizer);
    checkQuantizer(this.name, 'activationQuantizer', this.activationQuantizer);
  }

  get features(): number {
    return this.kernel.shape[0];
  }

  outputShape(inputShape: number[]): number[] {
    this.checkInputShape(inputShape);
    return this.returnSequences ? [inputShape[0], this.units] : [this.units];
  }

  /**
   * Both kernels start uniform in ±1/sqrt(units), as PyTorch initializes its
   * recurrent layers, widened to ±step under a linear weight quantizer whose
   * step is larger, because otherwise every weight would round to the zero
   * level. Biases start at 0 unless the subclass overrides initialBias.
   */
  protected override createParameters(inputShape: number[], random: Random): void {
    this.checkInputShape(inputShape);
    const features = inputShape[1];
    const width = this.gates * this.units;
    const bound = Math.max(1 / Math.sqrt(this.units), linearStep(this.weightQuantizer));

    const kernel = new Float32Array(features * width);
    for (let i = 0; i < kernel.length; i++) kernel[i] = random.uniform(-bound, bound);
    const recurrent = new Float32Array(this.units * width);
    for (let i = 0; i < recurrent.length; i++) recurrent[i] = random.uniform(-bound, bound);

    this.kernel = new Tensor(kernel, [features, width], true);
    this.recurrentKernel = new Tensor(recurrent, [this.units, width], true);
    this.bias = new Tensor(this.initialBias(), [width], true);
  }

  protected initialBias(): Float32Array {
    return new Float32Array(this.gates * this.units);
  }

  override parameters(): Parameter[] {
    const clip = latentClip(this.weightQuantizer);
    return [
      { name: `${this.name}/kernel`, value: this.kernel, learningRateScale: 1, clip },
      { name: `${this.name}/recurrent_kernel`, value: this.recurrentKernel, learningRateScale: 1, clip },
      { name: `${this.name}/bias`, value: this.bias, learningRateScale: 1, clip: null },
    ];
  }

  /** Returns a zero state for `batch` sequences. */
  initialState(batch: number): RecurrentState {
    return { h: Tensor.zeros([batch, this.units]), c: this.gates === 4 ? Tensor.zeros([batch, this.units]) : null };
  }

  forward(x: Tensor, context: ForwardContext): Tensor {
    return this.run(x, null, context).output;
  }

  /**
   * Runs the layer over x [batch, time, features] from `initial` (zeros when
   * null) and returns the output with the state after the last step, which a
   * caller detaches and passes back in to continue the same streams. With
   * `trace`, each step appends its gate tensors to it.
   */
  run(x: Tensor, initial: RecurrentState | null, context: ForwardContext, trace?: StepTrace[]): RecurrentResult {
    if (x.rank !== 3 || x.shape[2] !== this.features || x.shape[1] === 0) {
      throw new ShapeError(`${this.name}: expected input [batch, time >= 1, ${this.features}], got ${formatShape(x.shape)}`);
    }
    const [batch, steps, features] = x.shape;
    let state = initial ?? this.initialState(batch);
    this.checkState(state, batch);

    const input = quantize(x, this.activationQuantizer, context, 'input');
    const kernel = quantize(this.kernel, this.weightQuantizer, context, 'kernel');
    const recurrentKernel = quantize(this.recurrentKernel, this.weightQuantizer, context, 'kernel');
    const width = this.gates * this.units;
    const projected = reshape(add(matmul(reshape(input, [batch * steps, features]), kernel), this.bias), [batch, steps, width]);

    const outputs: Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      const stepTrace: StepTrace | undefined = trace === undefined ? undefined : {};
      state = this.step(timeStep(projected, t), state, recurrentKernel, context, stepTrace);
      if (stepTrace !== undefined) trace!.push(stepTrace);
      outputs.push(state.h);
    }
    return { output: this.returnSequences ? stackSteps(outputs) : state.h, state };
  }

  /**
   * One time step from the input projection xp = q(x_t) · q(W) + b [batch, gates * units]
   * and the quantized recurrent kernel.
   */
  abstract step(xp: Tensor, state: RecurrentState, recurrentKernel: Tensor, context: ForwardContext, trace?: StepTrace): RecurrentState;

  private checkState(state: RecurrentState, batch: number): void {
    const fits = (t: Tensor | null): boolean => t !== null && t.rank === 2 && t.shape[0] === batch && t.shape[1] === this.units;
    if (!fits(state.h) || (this.gates === 4 && !fits(state.c))) {
      throw new ShapeError(`${this.name}: the initial state must hold [${batch}, ${this.units}] tensors, got h ${formatShape(state.h.shape)}`);
    }
  }

  private checkInputShape(inputShape: number[]): void {
    if (inputShape.length !== 2) {
      throw new ShapeError(`${this.name}: recurrent layers take [time, features] per sample, got ${formatShape(inputShape)}`);
    }
  }
}

/**
 * Returns the clip range of latent weights under a weight quantizer: the magnitude of
 * the lowest linear level (2^(bits-1) * step), 1 for the binarizers, null otherwise.
 * Beyond it the straight-through gradient is zero, so weights there would never return.
 */
export function latentClip(quantizer: Quantizer): number | null {
  if (isBinaryQuantizer(quantizer)) return 1;
  if (quantizer !== null && typeof quantizer === 'object' && quantizer.kind === 'linear') {
    return 2 ** (quantizer.bits - 1) * linearStep(quantizer);
  }
  return null;
}

/** Returns the step of a linear quantizer, or 0 for any other quantizer. */
export function linearStep(quantizer: Quantizer): number {
  if (quantizer !== null && typeof quantizer === 'object' && quantizer.kind === 'linear') return quantizer.step ?? 2 ** (1 - quantizer.bits);
  return 0;
}

import { QnnError } from '../errors.js';
import type { Parameter } from '../layers/layer.js';
import { Adam } from './adam.js';
import type { Optimizer, OptimizerState } from './optimizer.js';
import { checkKind, checkSettings, restoreSlots, slotsOf } from './optimizer-state.js';

export interface BopOptions {
  /** Adaptivity rate gamma of the gradient's exponential moving average, in (0, 1]; 1e-4 by default, as in Larq. */
  gamma?: number;
  /** Flip threshold tau >= 0 on |m|; 1e-8 by default, as in Larq. */
  threshold?: number;
  /** Optimizer of the parameters that are not binary kernels (batch-norm gamma and beta, biases); Adam by default. */
  otherOptimizer?: Optimizer;
}

/**
 * Bop, the binary optimizer of Helwegen et al. ("Latent Weights Do Not
 * Exist: Rethinking Binarized Neural Network Optimization", arXiv 1906.02107).
 * It keeps an exponential moving average m of each binary weight's gradient
 * and flips the weight when m is large and points the same way as the weight,
 * so that gradient descent would push it across zero:
 *   m_t = (1 - gamma) * m_{t-1} + gamma * g_t
 *   w_t = -w_{t-1} if |m_t| > tau and sign(m_t) = sign(w_{t-1}), else w_{t-1}
 * with sign(0) = +1. |m_t| = tau does not flip. A flip negates the latent
 * weight, which keeps it inside its clip (Larq's Bop writes +1 or -1
 * instead). A latent 0 (binary +1) flips to -clip, because negating 0 would
 * leave its sign at +1.
 *
 * Bop takes the parameters that have a `clip` as binary kernels and hands
 * every other parameter to `otherOptimizer`, as Larq's CaseOptimizer does.
 * A flip has no step size, so Bop ignores the kernels' `learningRateScale`.
 * `learningRate` is that optimizer's rate, so a learning-rate schedule in
 * `fit` changes it and leaves gamma and tau alone.
 */
export class Bop implements Optimizer {
  readonly gamma: number;
  readonly threshold: number;
  readonly otherOptimizer: Optimizer;
  private readonly averages = new Map<Parameter['value'], { m: Float32Array }>();
  private step = 0;

  constructor(options: BopOptions = {}) {
    this.gamma = options.gamma ?? 1e-4;
    this.threshold = options.threshold ?? 1e-8;
    this.otherOptimizer = options.otherOptimizer ?? new Adam();
    if (!(this.gamma > 0 && this.gamma <= 1)) throw new QnnError(`Bop: gamma must be in (0, 1], got ${this.gamma}`);
    if (!(this.threshold >= 0)) throw new QnnError(`Bop: threshold must be a number >= 0, got ${this.threshold}`);
  }

  get learningRate(): number {
    return this.otherOptimizer.learningRate;
  }

  set learningRate(rate: number) {
    this.otherOptimizer.learningRate = rate;
  }

  /** Flips binary kernels from their accumulated gradients, updates the other parameters with `otherOptimizer`, and clears every gradient. */
  apply(parameters: Parameter[]): void {
    // Limitation: a Parameter does not say which quantizer reads it, so a clipped kernel that is not binarized would be flipped too.
    const binaryKernels = parameters.filter((p) => p.clip !== null);
    const others = parameters.filter((p) => p.clip === null);

    this.step++;
    for (const parameter of binaryKernels) this.flip(parameter);
    this.otherOptimizer.apply(others);
  }

  /** Bop's own averages go in `slots`; the other optimizer's state goes in `inner`, with null slots for the binary kernels, which it does not update. */
  getState(parameters: Parameter[]): OptimizerState {
    const other = this.otherOptimizer;
    if (other.getState === undefined) throw new QnnError('Bop.getState: its otherOptimizer has no getState, so its state cannot be saved');
    return {
      kind: 'bop',
      step: this.step,
      learningRate: this.learningRate,
      settings: { gamma: this.gamma, threshold: this.threshold },
      slots: slotsOf(this.averages, parameters),
      inner: other.getState(parameters),
    };
  }

  setState(state: OptimizerState, parameters: Parameter[]): void {
    checkKind('Bop', state, 'bop');
    checkSettings('Bop', state, { gamma: this.gamma, threshold: this.threshold });
    const other = this.otherOptimizer;
    if (state.inner === undefined) throw new QnnError('Bop.setState: the state has no state for otherOptimizer');
    if (other.setState === undefined) throw new QnnError('Bop.setState: its otherOptimizer has no setState, so its state cannot be restored');

    restoreSlots('Bop', state, parameters, ['m'], this.averages);
    other.setState(state.inner, parameters);
    this.step = state.step;
  }

  private flip(parameter: Parameter): void {
    const value = parameter.value;
    const grad = value.grad;
    if (grad === null) return;
    const m = this.averageOf(parameter);
    const weights = value.data as Float32Array;
    const { gamma, threshold } = this;
    const clip = parameter.clip ?? 1;

    for (let i = 0; i < weights.length; i++) {
      m[i] = (1 - gamma) * m[i] + gamma * grad[i];

      // w >= 0 is true for -0 as well, so both zeros have sign +1.
      const w = weights[i];
      const positive = w >= 0;
      const flips = positive ? m[i] > threshold : m[i] < -threshold;
      if (!flips) continue;
      weights[i] = w === 0 ? -clip : -w;
    }
    value.grad = null;
  }

  private averageOf(parameter: Parameter): Float32Array {
    let slots = this.averages.get(parameter.value);
    if (slots === undefined) {
      slots = { m: new Float32Array(parameter.value.size) };
      this.averages.set(parameter.value, slots);
    }
    return slots.m;
  }
}

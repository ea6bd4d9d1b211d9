import { clipWeights } from '../quantizers/weight-clip.js';
import type { Parameter } from '../layers/layer.js';
import type { Optimizer, OptimizerState } from './optimizer.js';
import { checkKind, checkSettings, restoreSlots, slotsOf } from './optimizer-state.js';

export interface AdamOptions {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * Adam (Kingma and Ba, arXiv 1412.6980) on latent weights. Each parameter's
 * step is scaled by its `learningRateScale`, and parameters with a `clip` are
 * clipped after the step, as BinaryNet trains its binary kernels.
 */
export class Adam implements Optimizer {
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private step = 0;
  private readonly moments = new Map<Parameter['value'], { m: Float32Array; v: Float32Array }>();

  constructor(options: AdamOptions = {}) {
    this.learningRate = options.learningRate ?? 1e-3;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
  }

  /** Applies one update from the parameters' accumulated gradients, then clears them. */
  apply(parameters: Parameter[]): void {
    this.step++;
    const correction1 = 1 - Math.pow(this.beta1, this.step);
    const correction2 = 1 - Math.pow(this.beta2, this.step);

    for (const parameter of parameters) {
      const value = parameter.value;
      const grad = value.grad;
      if (grad === null) continue;
      const { m, v } = this.stateOf(parameter);
      const weights = value.data as Float32Array;
      const rate = (this.learningRate * parameter.learningRateScale) / correction1;
      const { beta1, beta2, epsilon } = this;
      const oneMinusBeta1 = 1 - beta1;
      const oneMinusBeta2 = 1 - beta2;
      const count = weights.length;

      for (let i = 0; i < count; i++) {
        const g = grad[i];
        const mi = beta1 * m[i] + oneMinusBeta1 * g;
        const vi = beta2 * v[i] + oneMinusBeta2 * g * g;
        m[i] = mi;
        v[i] = vi;
        weights[i] -= (rate * mi) / (Math.sqrt(vi / correction2) + epsilon);
      }

      if (parameter.clip !== null) clipWeights(weights, parameter.clip);
      value.grad = null;
    }
  }

  getState(parameters: Parameter[]): OptimizerState {
    return {
      kind: 'adam',
      step: this.step,
      learningRate: this.learningRate,
      settings: { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon },
      slots: slotsOf(this.moments, parameters),
    };
  }

  setState(state: OptimizerState, parameters: Parameter[]): void {
    checkKind('Adam', state, 'adam');
    checkSettings('Adam', state, { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon });
    restoreSlots('Adam', state, parameters, ['m', 'v'], this.moments);
    this.step = state.step;
    this.learningRate = state.learningRate;
  }

  private stateOf(parameter: Parameter): { m: Float32Array; v: Float32Array } {
    let state = this.moments.get(parameter.value);
    if (state === undefined) {
      state = { m: new Float32Array(parameter.value.size), v: new Float32Array(parameter.value.size) };
      this.moments.set(parameter.value, state);
    }
    return state;
  }
}

/**
 * Exponential decay from `initial` to `final` over `epochs` epochs:
 * rate(e) = initial * (final / initial)^(e / (epochs - 1)), BinaryNet's schedule.
 */
export function exponentialDecay(initial: number, final: number, epochs: number): (epoch: number) => number {
  if (epochs <= 1) return () => initial;
  const factor = Math.pow(final / initial, 1 / (epochs - 1));
  return (epoch) => initial * Math.pow(factor, epoch);
}

import { QnnError } from '../errors.js';
import type { Parameter } from '../layers/layer.js';
import { ap2 } from '../quantizers/ap2.js';
import { clipWeights } from '../quantizers/weight-clip.js';
import type { Optimizer, OptimizerState } from './optimizer.js';
import { checkKind, checkSettings, restoreSlots, slotsOf } from './optimizer-state.js';

export interface ShiftAdaMaxOptions {
  /** Base step size alpha, before the bias correction and the parameter's `learningRateScale`. */
  learningRate?: number;
  /** Decay of the first moment m. */
  beta1?: number;
  /** Decay of the infinity norm v. */
  beta2?: number;
}

/**
 * Shift-based AdaMax (Hubara et al., "Quantized Neural Networks",
 * arXiv 1609.07061), AdaMax (Kingma and Ba, arXiv 1412.6980) with its two
 * multiplications replaced by shifts through AP2(x) = sign(x) * 2^round(log2|x|):
 *   m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
 *   v_t = max(beta2 * v_{t-1}, |g_t|)
 *   w_t = w_{t-1} - AP2(alpha * scale / (1 - beta1^t)) * m_t * AP2(1 / v_t)
 * where `scale` is the parameter's `learningRateScale`. The defaults are
 * alpha = 2^-10, 1 - beta1 = 2^-3, 1 - beta2 = 2^-10. The paper
 * writes the rate as alpha * AP2(1 / (1 - beta1^t)), and both agree when alpha
 * and the scale are powers of two. Rounding the whole rate keeps every update
 * a shift of m_t also for the Glorot scale of binary kernels, which is not a
 * power of two. Parameters with a `clip` are clipped after the step, as
 * `Adam` does.
 */
export class ShiftAdaMax implements Optimizer {
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  private step = 0;
  private readonly moments = new Map<Parameter['value'], { m: Float32Array; v: Float32Array }>();

  constructor(options: ShiftAdaMaxOptions = {}) {
    // NOTE: these defaults are the settings recalled from the paper's shift-based AdaMax listing, not checked against its text.
    this.learningRate = options.learningRate ?? 2 ** -10;
    this.beta1 = options.beta1 ?? 1 - 2 ** -3;
    this.beta2 = options.beta2 ?? 1 - 2 ** -10;
    checkDecay('beta1', this.beta1);
    checkDecay('beta2', this.beta2);
  }

  /** Applies one update from the parameters' accumulated gradients, then clears them. */
  apply(parameters: Parameter[]): void {
    this.step++;
    const correction1 = 1 - Math.pow(this.beta1, this.step);
    const { beta1, beta2 } = this;

    for (const parameter of parameters) {
      const value = parameter.value;
      const grad = value.grad;
      if (grad === null) continue;
      const { m, v } = this.stateOf(parameter);
      const weights = value.data as Float32Array;
      const rateShift = ap2((this.learningRate * parameter.learningRateScale) / correction1);

      for (let i = 0; i < weights.length; i++) {
        const g = grad[i];
        m[i] = beta1 * m[i] + (1 - beta1) * g;
        v[i] = Math.max(beta2 * v[i], Math.abs(g));

        // v_t = 0 only while every gradient so far was 0, and then m_t = 0 too, so the step is 0.
        if (v[i] === 0) continue;
        weights[i] -= rateShift * m[i] * ap2(1 / v[i]);
      }

      if (parameter.clip !== null) clipWeights(weights, parameter.clip);
      value.grad = null;
    }
  }

  getState(parameters: Parameter[]): OptimizerState {
    return {
      kind: 'shift-adamax',
      step: this.step,
      learningRate: this.learningRate,
      settings: { beta1: this.beta1, beta2: this.beta2 },
      slots: slotsOf(this.moments, parameters),
    };
  }

  setState(state: OptimizerState, parameters: Parameter[]): void {
    checkKind('ShiftAdaMax', state, 'shift-adamax');
    checkSettings('ShiftAdaMax', state, { beta1: this.beta1, beta2: this.beta2 });
    restoreSlots('ShiftAdaMax', state, parameters, ['m', 'v'], this.moments);
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

function checkDecay(name: string, value: number): void {
  if (!(value >= 0 && value < 1)) throw new QnnError(`ShiftAdaMax: ${name} must be in [0, 1), got ${value}`);
}

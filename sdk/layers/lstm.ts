import { add } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { lstmCell, lstmGates, lstmHidden } from '../ops/recurrent-cells.js';
import { sliceColumns } from '../ops/sequence.js';
import type { Tensor } from '../tensor/tensor.js';
import { quantize } from './dense.js';
import type { ForwardContext } from './layer.js';
import { RecurrentLayer, type RecurrentOptions, type RecurrentState, type StepTrace } from './recurrent-layer.js';

let lstmCount = 0;

/**
 * Long short-term memory layer over [batch, time, features]. Gate blocks in
 * the fused kernels are in the order i, f, g, o:
 *   z = q(x_t) · q(W) + b + h_{t-1} · q(U)
 *   i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)
 *   c_t = f ⊙ c_{t-1} + i ⊙ g
 *   h_t = q(o ⊙ tanh(c_t))
 * with q the activation quantizer (identity when null). The cell state c stays
 * float. The forget-gate bias starts at 1, so early training keeps the cell.
 */
export class LSTM extends RecurrentLayer {
  readonly gates = 4;

  constructor(units: number, options: RecurrentOptions = {}) {
    super(units, options, `lstm_${lstmCount++}`);
  }

  protected override initialBias(): Float32Array {
    const bias = new Float32Array(4 * this.units);
    bias.fill(1, this.units, 2 * this.units);
    return bias;
  }

  step(xp: Tensor, state: RecurrentState, recurrentKernel: Tensor, context: ForwardContext, trace?: StepTrace): RecurrentState {
    const z = add(xp, matmul(state.h, recurrentKernel));
    const gates = lstmGates(z);
    const c = lstmCell(gates, state.c!);
    const hidden = lstmHidden(gates, c);
    const h = quantize(hidden, this.activationQuantizer, context, 'input');

    if (trace !== undefined) {
      const block = (index: number): Tensor => sliceColumns(gates, index * this.units, this.units);
      Object.assign(trace, { z, i: block(0), f: block(1), g: block(2), o: block(3), c, hidden, h });
    }
    return { h, c };
  }
}

/** LSTM with k-bit weights and activations; both default to 2-bit linear quantizers (levels -1, -0.5, 0, 0.5). */
export class QuantLSTM extends LSTM {
  constructor(units: number, options: RecurrentOptions = {}) {
    super(units, { weightQuantizer: { kind: 'linear', bits: 2 }, activationQuantizer: { kind: 'linear', bits: 2 }, ...options });
  }
}

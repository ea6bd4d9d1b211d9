import { matmul } from '../ops/matmul.js';
import { gruGates, gruHidden } from '../ops/recurrent-cells.js';
import { sliceColumns } from '../ops/sequence.js';
import type { Tensor } from '../tensor/tensor.js';
import { quantize } from './dense.js';
import type { ForwardContext } from './layer.js';
import { RecurrentLayer, type RecurrentOptions, type RecurrentState, type StepTrace } from './recurrent-layer.js';

let gruCount = 0;

/**
 * Gated recurrent unit over [batch, time, features], with the reset gate
 * applied after the recurrent matmul (the cuDNN and PyTorch form, so the
 * recurrent part is one matmul). Gate blocks are in the order z, r, n:
 *   xp = q(x_t) · q(W) + b,  hp = h_{t-1} · q(U)
 *   z = σ(xp_z + hp_z), r = σ(xp_r + hp_r)
 *   n = tanh(xp_n + r ⊙ hp_n)
 *   h_t = q((1 - z) ⊙ n + z ⊙ h_{t-1})
 * with q the activation quantizer. There is one bias per gate, on the input side.
 */
export class GRU extends RecurrentLayer {
  readonly gates = 3;

  constructor(units: number, options: RecurrentOptions = {}) {
    super(units, options, `gru_${gruCount++}`);
  }

  step(xp: Tensor, state: RecurrentState, recurrentKernel: Tensor, context: ForwardContext, trace?: StepTrace): RecurrentState {
    const hp = matmul(state.h, recurrentKernel);
    const gates = gruGates(xp, hp);
    const hidden = gruHidden(gates, state.h);
    const h = quantize(hidden, this.activationQuantizer, context, 'input');

    if (trace !== undefined) {
      const block = (index: number): Tensor => sliceColumns(gates, index * this.units, this.units);
      Object.assign(trace, { xp, hp, z: block(0), r: block(1), n: block(2), hidden, h });
    }
    return { h, c: null };
  }
}

/** GRU with k-bit weights and activations; both default to 2-bit linear quantizers (levels -1, -0.5, 0, 0.5). */
export class QuantGRU extends GRU {
  constructor(units: number, options: RecurrentOptions = {}) {
    super(units, { weightQuantizer: { kind: 'linear', bits: 2 }, activationQuantizer: { kind: 'linear', bits: 2 }, ...options });
  }
}

import { ShapeError } from '../errors.js';
import { Tensor, formatShape } from '../tensor/tensor.js';
import { sigmoidValue, tanhValue } from './gates.js';

// Fused pointwise parts of the LSTM and GRU steps. One op per part instead of
// a dozen small ones saves most of the per-step allocation of the autograd
// graph. Every float32 rounding happens where the unfused ops would round, so
// the packed cell, which repeats these formulas, matches them bit for bit.

function checkGateShape(op: string, gates: Tensor, blocks: number, state: Tensor): [number, number] {
  const [batch, width] = gates.shape;
  if (gates.rank !== 2 || width % blocks !== 0 || state.rank !== 2 || state.shape[0] !== batch || state.shape[1] !== width / blocks) {
    throw new ShapeError(`${op}: gates ${formatShape(gates.shape)} and state ${formatShape(state.shape)} do not fit ${blocks} gate blocks`);
  }
  return [batch, width / blocks];
}

/**
 * Applies the LSTM gate nonlinearities to z [batch, 4 * units] in the block
 * order i, f, g, o: sigmoid on i, f and o, tanh on g.
 */
export function lstmGates(z: Tensor): Tensor {
  const [batch, width] = z.shape;
  const units = width / 4;
  const out = new Float32Array(z.size);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < width; k++) {
      const v = z.data[b * width + k];
      out[b * width + k] = Math.floor(k / units) === 2 ? tanhValue(v) : sigmoidValue(v);
    }
  }

  return Tensor.fromOp(out, z.shape, [z], (grad) => {
    if (!z.requiresGrad) return;
    const gz = z.gradBuffer();
    for (let b = 0; b < batch; b++) {
      for (let k = 0; k < width; k++) {
        const y = out[b * width + k];
        gz[b * width + k] += grad[b * width + k] * (Math.floor(k / units) === 2 ? 1 - y * y : y * (1 - y));
      }
    }
  });
}

/** Returns the new cell c = f ⊙ c_prev + i ⊙ g from activated gates [batch, 4 * units] (order i, f, g, o). */
export function lstmCell(gates: Tensor, previous: Tensor): Tensor {
  const [batch, units] = checkGateShape('lstmCell', gates, 4, previous);
  const width = 4 * units;
  const out = new Float32Array(batch * units);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < units; j++) {
      const at = b * width + j;
      out[b * units + j] = Math.fround(gates.data[at + units] * previous.data[b * units + j]) + Math.fround(gates.data[at] * gates.data[at + 2 * units]);
    }
  }

  return Tensor.fromOp(out, [batch, units], [gates, previous], (grad) => {
    const gg = gates.requiresGrad ? gates.gradBuffer() : null;
    const gp = previous.requiresGrad ? previous.gradBuffer() : null;
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < units; j++) {
        const at = b * width + j;
        const g = grad[b * units + j];
        if (gg !== null) {
          gg[at] += g * gates.data[at + 2 * units];
          gg[at + units] += g * previous.data[b * units + j];
          gg[at + 2 * units] += g * gates.data[at];
        }
        if (gp !== null) gp[b * units + j] += g * gates.data[at + units];
      }
    }
  });
}

/** Returns o ⊙ tanh(c), the LSTM hidden state before quantization. */
export function lstmHidden(gates: Tensor, cell: Tensor): Tensor {
  const [batch, units] = checkGateShape('lstmHidden', gates, 4, cell);
  const width = 4 * units;
  const tanhCell = new Float32Array(batch * units);
  const out = new Float32Array(batch * units);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < units; j++) {
      tanhCell[b * units + j] = tanhValue(cell.data[b * units + j]);
      out[b * units + j] = gates.data[b * width + 3 * units + j] * tanhCell[b * units + j];
    }
  }

  return Tensor.fromOp(out, [batch, units], [gates, cell], (grad) => {
    const gg = gates.requiresGrad ? gates.gradBuffer() : null;
    const gc = cell.requiresGrad ? cell.gradBuffer() : null;
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < units; j++) {
        const g = grad[b * units + j];
        const t = tanhCell[b * units + j];
        if (gg !== null) gg[b * width + 3 * units + j] += g * t;
        if (gc !== null) gc[b * units + j] += g * gates.data[b * width + 3 * units + j] * (1 - t * t);
      }
    }
  });
}

/**
 * Returns the GRU gates [batch, 3 * units] in the order z, r, n from the input
 * projection xp and the recurrent projection hp:
 * z = σ(xp_z + hp_z), r = σ(xp_r + hp_r), n = tanh(xp_n + r ⊙ hp_n).
 */
export function gruGates(xp: Tensor, hp: Tensor): Tensor {
  if (xp.rank !== 2 || hp.rank !== 2 || xp.shape[0] !== hp.shape[0] || xp.shape[1] !== hp.shape[1] || xp.shape[1] % 3 !== 0) {
    throw new ShapeError(`gruGates: projections ${formatShape(xp.shape)} and ${formatShape(hp.shape)} must both be [batch, 3 * units]`);
  }
  const [batch, width] = xp.shape;
  const units = width / 3;
  const out = new Float32Array(batch * width);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < units; j++) {
      const at = b * width + j;
      out[at] = sigmoidValue(Math.fround(xp.data[at] + hp.data[at]));
      out[at + units] = sigmoidValue(Math.fround(xp.data[at + units] + hp.data[at + units]));
      const r = out[at + units];
      out[at + 2 * units] = tanhValue(Math.fround(xp.data[at + 2 * units] + Math.fround(r * hp.data[at + 2 * units])));
    }
  }

  return Tensor.fromOp(out, xp.shape, [xp, hp], (grad) => {
    const gx = xp.requiresGrad ? xp.gradBuffer() : null;
    const gh = hp.requiresGrad ? hp.gradBuffer() : null;
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < units; j++) {
        const at = b * width + j;
        const z = out[at];
        const r = out[at + units];
        const n = out[at + 2 * units];
        const dz = grad[at] * z * (1 - z);
        const dnPre = grad[at + 2 * units] * (1 - n * n);
        // r enters only through n's pre-activation, so its gradient comes from there as well as from its own output.
        const dr = (grad[at + units] + dnPre * hp.data[at + 2 * units]) * r * (1 - r);
        if (gx !== null) {
          gx[at] += dz;
          gx[at + units] += dr;
          gx[at + 2 * units] += dnPre;
        }
        if (gh !== null) {
          gh[at] += dz;
          gh[at + units] += dr;
          gh[at + 2 * units] += dnPre * r;
        }
      }
    }
  });
}

/** Returns (1 - z) ⊙ n + z ⊙ h_prev, the GRU hidden state before quantization, from gates in the order z, r, n. */
export function gruHidden(gates: Tensor, previous: Tensor): Tensor {
  const [batch, units] = checkGateShape('gruHidden', gates, 3, previous);
  const width = 3 * units;
  const out = new Float32Array(batch * units);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < units; j++) {
      const z = gates.data[b * width + j];
      const n = gates.data[b * width + 2 * units + j];
      out[b * units + j] = Math.fround(Math.fround(1 - z) * n) + Math.fround(z * previous.data[b * units + j]);
    }
  }

  return Tensor.fromOp(out, [batch, units], [gates, previous], (grad) => {
    const gg = gates.requiresGrad ? gates.gradBuffer() : null;
    const gp = previous.requiresGrad ? previous.gradBuffer() : null;
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < units; j++) {
        const g = grad[b * units + j];
        const z = gates.data[b * width + j];
        const n = gates.data[b * width + 2 * units + j];
        if (gg !== null) {
          gg[b * width + j] += g * (previous.data[b * units + j] - n);
          gg[b * width + 2 * units + j] += g * (1 - z);
        }
        if (gp !== null) gp[b * units + j] += g * z;
      }
    }
  });
}

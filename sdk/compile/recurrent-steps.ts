// The step sequence of the packed recurrent language model, written once as a generator of kernel calls,
// so the synchronous and asynchronous drivers in run-recurrent.ts share every float32 operation outside the kernels.
import { ShapeError } from '../errors.js';
import { checkTokens } from '../models/language-model.js';
import { sigmoidValue, tanhValue } from '../ops/gates.js';
import type { PackedGateKernel, PackedLanguageModel, PackedRecurrentCell } from './compile-recurrent.js';
import { linearCode } from './kbit-operands.js';
import type { KernelCall } from './run-packed.js';

/** State of the packed cell: h as signed activation codes, c (LSTM only) as float32. */
export interface PackedRecurrentState {
  /** [batch, units] signed codes; the real value is code * activation step. */
  h: Int32Array;
  c: Float32Array | null;
}

export interface PackedLanguageModelOutput {
  /** [batch * steps, vocabularySize], row b * steps + t. */
  logits: Float32Array;
  state: PackedRecurrentState;
}

/** A walk that yields kernel calls, receives each call's result and returns `T`. */
export type RecurrentWalk<T> = Generator<KernelCall, T, unknown>;

/** Returns a zero state for `batch` streams. */
export function packedInitialState(cell: PackedRecurrentCell, batch: number): PackedRecurrentState {
  return { h: new Int32Array(batch * cell.units), c: cell.gates === 4 ? new Float32Array(batch * cell.units) : null };
}

/**
 * Signed k-bit codes a times signed k-bit weight codes c, summed over the
 * reduction, from one bitplaneGemmBits call on unsigned codes u = a + 2^(ka-1)
 * and odd weights w' = 2c + 1:
 *   sum a c = (sum u w' - sum u - 2^(ka-1) sum w' + 2^(ka-1) K) / 2
 * The numerator is sum (u - 2^(ka-1)) (w' - 1), always even.
 */
export function* walkCodeGemm(codes: Int32Array, activationBits: number, kernel: PackedGateKernel, weightBits: number, rows: number): RecurrentWalk<Int32Array> {
  const { inputs, outputs } = kernel;
  const half = 2 ** (activationBits - 1);
  const unsigned = new Uint8Array(rows * inputs);
  for (let i = 0; i < unsigned.length; i++) unsigned[i] = codes[i] + half;

  const products = (yield {
    kernel: 'bitplaneGemmBits',
    args: [unsigned, activationBits, kernel.planes, weightBits, rows, outputs, inputs],
  }) as Int32Array;

  const acc = new Int32Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    let rowSum = 0;
    for (let i = 0; i < inputs; i++) rowSum += unsigned[r * inputs + i];
    for (let o = 0; o < outputs; o++) {
      acc[r * outputs + o] = (products[r * outputs + o] - rowSum - half * kernel.oddSums[o] + half * inputs) / 2;
    }
  }
  return acc;
}

/**
 * Walks the packed language model over tokens [batch, steps] from `state`
 * (zeros when null). It reproduces the training graph in inference mode, with
 * the same activation codes and the same float32 gate arithmetic in the same
 * order. The head is one float GEMM over all rows.
 */
export function* walkLanguageModel(
  model: PackedLanguageModel,
  tokens: Int32Array,
  batch: number,
  steps: number,
  state: PackedRecurrentState | null,
  caller: string,
): RecurrentWalk<PackedLanguageModelOutput> {
  if (!Number.isInteger(batch) || !Number.isInteger(steps) || batch <= 0 || steps <= 0 || tokens.length !== batch * steps) {
    throw new ShapeError(`${caller}: ${tokens.length} tokens do not form [batch ${batch}, steps ${steps}]`);
  }
  checkTokens(tokens, model.vocabularySize, `${caller} input`);
  const cell = model.cell;
  const units = cell.units;
  const width = cell.gates * units;
  let current = state ?? packedInitialState(cell, batch);
  if (current.h.length !== batch * units) throw new ShapeError(`${caller}: state h has ${current.h.length} codes, expected ${batch * units}`);

  // Input projection for every step at once, as the training graph does it: xp = acc * sW * sA + b.
  const embeddingCodes = new Int32Array(batch * steps * model.embeddingUnits);
  for (let n = 0; n < tokens.length; n++) {
    for (let j = 0; j < model.embeddingUnits; j++) {
      embeddingCodes[n * model.embeddingUnits + j] = linearCode(model.embedding[tokens[n] * model.embeddingUnits + j], cell.activation);
    }
  }
  const scale = cell.weight.step * cell.activation.step;
  const inputAcc = yield* walkCodeGemm(embeddingCodes, cell.activation.bits, cell.inputKernel, cell.weight.bits, batch * steps);
  const projected = new Float32Array(batch * steps * width);
  for (let i = 0; i < projected.length; i++) projected[i] = inputAcc[i] * scale + cell.bias[i % width];

  const hidden = new Float32Array(batch * steps * units);
  for (let t = 0; t < steps; t++) {
    const xp = new Float32Array(batch * width);
    for (let b = 0; b < batch; b++) xp.set(projected.subarray((b * steps + t) * width, (b * steps + t + 1) * width), b * width);
    current = yield* walkStep(cell, xp, current, batch);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < units; j++) hidden[(b * steps + t) * units + j] = current.h[b * units + j] * cell.activation.step;
    }
  }

  const logits = (yield {
    kernel: 'matmul',
    args: [hidden, model.headKernel, batch * steps, units, model.vocabularySize, false, false],
  }) as Float32Array;
  for (let i = 0; i < logits.length; i++) logits[i] = logits[i] + model.headBias[i % model.vocabularySize];
  return { logits, state: current };
}

/** Walks one step of the packed cell, rounding to float32 exactly where the training graph's ops do. */
export function* walkStep(cell: PackedRecurrentCell, xp: Float32Array, state: PackedRecurrentState, batch: number): RecurrentWalk<PackedRecurrentState> {
  const units = cell.units;
  const width = cell.gates * units;
  const scale = cell.weight.step * cell.activation.step;
  const recurrentAcc = yield* walkCodeGemm(state.h, cell.activation.bits, cell.recurrentKernel, cell.weight.bits, batch);
  const hp = new Float32Array(batch * width);
  for (let i = 0; i < hp.length; i++) hp[i] = recurrentAcc[i] * scale;

  return cell.gates === 4 ? lstmGates(cell, xp, hp, state, batch) : gruGates(cell, xp, hp, state, batch);
}

function lstmGates(cell: PackedRecurrentCell, xp: Float32Array, hp: Float32Array, state: PackedRecurrentState, batch: number): PackedRecurrentState {
  const units = cell.units;
  const width = cell.gates * units;
  const h = new Int32Array(batch * units);
  const c = new Float32Array(batch * units);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < units; j++) {
      const z = (gate: number): number => Math.fround(xp[b * width + gate * units + j] + hp[b * width + gate * units + j]);
      const i = Math.fround(sigmoidValue(z(0)));
      const f = Math.fround(sigmoidValue(z(1)));
      const g = Math.fround(tanhValue(z(2)));
      const o = Math.fround(sigmoidValue(z(3)));
      const next = Math.fround(Math.fround(f * state.c![b * units + j]) + Math.fround(i * g));
      c[b * units + j] = next;
      h[b * units + j] = linearCode(Math.fround(o * Math.fround(tanhValue(next))), cell.activation);
    }
  }
  return { h, c };
}

function gruGates(cell: PackedRecurrentCell, xp: Float32Array, hp: Float32Array, state: PackedRecurrentState, batch: number): PackedRecurrentState {
  const units = cell.units;
  const width = cell.gates * units;
  const h = new Int32Array(batch * units);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < units; j++) {
      const at = (gate: number): number => b * width + gate * units + j;
      const z = Math.fround(sigmoidValue(Math.fround(xp[at(0)] + hp[at(0)])));
      const r = Math.fround(sigmoidValue(Math.fround(xp[at(1)] + hp[at(1)])));
      const n = Math.fround(tanhValue(Math.fround(xp[at(2)] + Math.fround(r * hp[at(2)]))));
      const previous = state.h[b * units + j] * cell.activation.step;
      const out = Math.fround(Math.fround(Math.fround(1 - z) * n) + Math.fround(z * previous));
      h[b * units + j] = linearCode(out, cell.activation);
    }
  }
  return { h, c: null };
}

import { wordsPerRow } from '../backends/backend.js';
import { applyEpilogue } from './epilogue.js';
import type { CodeOutput, PackedDenseKbitLayer } from './graph.js';
import type { KernelCall } from './run-packed.js';

/** Output of a k-bit dense layer: packed signs or unsigned codes for the next layer, or the final scores. */
export type KbitLayerResult =
  | { kind: 'signs'; packed: Uint32Array }
  | { kind: 'codes'; codes: Uint8Array }
  | { kind: 'scores'; scores: Float32Array };

/**
 * Runs one k-bit dense layer: bitplaneGemmBits on the activation codes, the
 * integer correction of the offsets on the CPU, then thresholdPack to signs,
 * the level thresholds to codes, or the float epilogue to scores.
 * `packed` is the previous layer's signs and `codes` its codes, whichever it output.
 */
export function* walkDenseKbit(
  layer: PackedDenseKbitLayer,
  batch: Uint8Array,
  packed: Uint32Array | null,
  codes: Uint8Array | null,
  rows: number,
): Generator<KernelCall, KbitLayerResult, unknown> {
  const { inputs, units } = layer;
  let activations: Uint8Array;
  if (layer.input === 'uint8') activations = batch;
  else if (layer.input === 'codes') activations = codes!;
  else activations = unpackSigns(packed!, rows, inputs);

  const products = (yield {
    kernel: 'bitplaneGemmBits',
    args: [activations, layer.activationBits, layer.weights, layer.weightBits, rows, units, inputs],
  }) as Int32Array;
  const acc = correctAccumulators(layer, products, activations, rows);

  const output = layer.output;
  if (output.kind === 'signs') {
    const signs = (yield { kernel: 'thresholdPack', args: [acc, rows, units, output.thresholds, output.directions] }) as Uint32Array;
    return { kind: 'signs', packed: signs };
  }
  if (output.kind === 'codes') return { kind: 'codes', codes: thresholdCodes(acc, rows, units, output) };

  const scores = new Float32Array(rows * units);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < units; c++) scores[r * units + c] = applyEpilogue(output.epilogue, acc[r * units + c], c);
  }
  return { kind: 'scores', scores };
}

/** Unpacks signs [rows, ceil(inputs / 32)] into bytes u with u = 1 for +1 (bit 0) and 0 for -1. */
export function unpackSigns(packed: Uint32Array, rows: number, inputs: number): Uint8Array {
  const words = wordsPerRow(inputs);
  const out = new Uint8Array(rows * inputs);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inputs; i++) out[r * inputs + i] = 1 - ((packed[r * words + (i >>> 5)] >>> (i & 31)) & 1);
  }
  return out;
}

/** Computes acc = gemmScale * products + rowSumScale * sum(u) + correction[unit] (see PackedDenseKbitLayer). */
function correctAccumulators(layer: PackedDenseKbitLayer, products: Int32Array, activations: Uint8Array, rows: number): Int32Array {
  const { inputs, units, gemmScale, rowSumScale, correction } = layer;
  const acc = new Int32Array(rows * units);

  for (let r = 0; r < rows; r++) {
    let rowSum = 0;
    if (rowSumScale !== 0) for (let i = 0; i < inputs; i++) rowSum += activations[r * inputs + i];
    const rowTerm = rowSumScale * rowSum;
    for (let c = 0; c < units; c++) acc[r * units + c] = gemmScale * products[r * units + c] + rowTerm + correction[c];
  }
  return acc;
}

/** Turns accumulators into unsigned codes: per unit, the number of levels whose threshold test holds. */
export function thresholdCodes(acc: Int32Array, rows: number, units: number, output: CodeOutput): Uint8Array {
  const levels = 2 ** output.bits - 1;
  const codes = new Uint8Array(rows * units);

  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < units; c++) {
      const value = acc[r * units + c];
      const rising = output.directions[c] === 1;
      let code = 0;
      for (let level = 0; level < levels; level++) {
        const threshold = output.thresholds[c * levels + level];
        if (rising ? value >= threshold : value <= threshold) code++;
      }
      codes[r * units + c] = code;
    }
  }
  return codes;
}

/** Per-layer statistics shared by model.summary() (training graph) and `qnn info` (packed .qnn files). */
import { BINARY_MAC_PICOJOULES, FLOAT32_MAC_PICOJOULES, kBitMacPicojoules, weightReadPicojoules } from './energy-45nm.js';

export interface LayerStats {
  name: string;
  type: string;
  /** Bits of the input values that the layer's MACs read (32 for float), or null for a layer without MACs. */
  inputBits: number | null;
  outputShape: number[];
  /** Stored values by width: 1-bit (binary weights, threshold directions), 2- to 31-bit, and 32-bit (float weights, batch-norm statistics, integer thresholds). */
  oneBitParameters: number;
  kBitParameters: number;
  float32Parameters: number;
  /** Memory of every stored value as float32. */
  float32Bytes: number;
  /** Memory of the values at their quantized widths, packed without padding. */
  packedBytes: number;
  /** Multiply-accumulates per sample with 1-bit weights and 1-bit inputs. */
  binaryMacs: number;
  /** Multiply-accumulates per sample with quantized operands of which at least one has more than 1 bit. */
  kBitMacs: number;
  /** Multiply-accumulates per sample with a float operand. */
  floatMacs: number;
  /** Estimated energy per sample in picojoules: the MACs plus one read of the packed weights (see energy-45nm.ts). */
  energyPicojoules: number;
  /** The same layer's estimate with every value and MAC in float32, for comparison. */
  float32EnergyPicojoules: number;
}

export interface ModelStats {
  name: string;
  layers: LayerStats[];
  totals: LayerStats;
}

/** Builder arguments: the parameter groups and MAC groups of one layer. */
export interface LayerCounts {
  name: string;
  type: string;
  inputBits: number | null;
  outputShape: number[];
  /** Stored values, each group with its bit width. */
  values: { count: number; bits: number }[];
  /** MAC groups with the bit widths of their two operands. */
  macs: { count: number; inputBits: number; weightBits: number }[];
}

/** Sorts a layer's values and MACs into the width columns and prices them with the 45 nm table. */
export function layerStats(counts: LayerCounts): LayerStats {
  let oneBit = 0;
  let kBit = 0;
  let float32 = 0;
  let packedBits = 0;
  for (const { count, bits } of counts.values) {
    if (bits === 1) oneBit += count;
    else if (bits < 32) kBit += count;
    else float32 += count;
    packedBits += count * bits;
  }
  const stored = oneBit + kBit + float32;

  let binaryMacs = 0;
  let kBitMacs = 0;
  let floatMacs = 0;
  let macEnergy = 0;
  for (const { count, inputBits, weightBits } of counts.macs) {
    if (inputBits >= 32 || weightBits >= 32) {
      floatMacs += count;
      macEnergy += count * FLOAT32_MAC_PICOJOULES;
    } else if (inputBits === 1 && weightBits === 1) {
      binaryMacs += count;
      macEnergy += count * BINARY_MAC_PICOJOULES;
    } else {
      kBitMacs += count;
      macEnergy += count * kBitMacPicojoules(inputBits, weightBits);
    }
  }
  const allMacs = binaryMacs + kBitMacs + floatMacs;

  return {
    name: counts.name,
    type: counts.type,
    inputBits: counts.inputBits,
    outputShape: counts.outputShape,
    oneBitParameters: oneBit,
    kBitParameters: kBit,
    float32Parameters: float32,
    float32Bytes: 4 * stored,
    packedBytes: packedBits / 8,
    binaryMacs,
    kBitMacs,
    floatMacs,
    energyPicojoules: macEnergy + weightReadPicojoules(packedBits),
    float32EnergyPicojoules: allMacs * FLOAT32_MAC_PICOJOULES + weightReadPicojoules(32 * stored),
  };
}

/** Adds up every numeric column; the totals row has no shape and no input width. */
export function modelStats(name: string, layers: LayerStats[]): ModelStats {
  const sum = (pick: (layer: LayerStats) => number): number => layers.reduce((total, layer) => total + pick(layer), 0);
  const totals: LayerStats = {
    name: 'Total',
    type: '',
    inputBits: null,
    outputShape: [],
    oneBitParameters: sum((l) => l.oneBitParameters),
    kBitParameters: sum((l) => l.kBitParameters),
    float32Parameters: sum((l) => l.float32Parameters),
    float32Bytes: sum((l) => l.float32Bytes),
    packedBytes: sum((l) => l.packedBytes),
    binaryMacs: sum((l) => l.binaryMacs),
    kBitMacs: sum((l) => l.kBitMacs),
    floatMacs: sum((l) => l.floatMacs),
    energyPicojoules: sum((l) => l.energyPicojoules),
    float32EnergyPicojoules: sum((l) => l.float32EnergyPicojoules),
  };
  return { name, layers, totals };
}

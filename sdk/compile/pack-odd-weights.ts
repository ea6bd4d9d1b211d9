import { wordsPerRow } from '../backends/backend.js';

/** Odd weights w' packed as sign planes, with each unit's sum of w'. */
export interface OddWeightPlanes {
  /** [units, bits, ceil(reduction / 32)] words, plane j of unit n at words (n * bits + j) * ceil(reduction / 32). */
  weights: Uint32Array;
  weightSums: Float64Array;
}

/**
 * Packs odd weights w' stored as [reduction, units] row-major as sign planes,
 * for the dense and convolution k-bit layers alike. A Dense kernel is
 * [inputs, units], and a conv kernel [KH, KW, C, O] is already in im2col order.
 * With v = (w' + 2^bits - 1) / 2 in [0, 2^bits),
 * w' = sum_j 2^j (2 v_j - 1), so plane j stores -1 (bit 1) where bit j of v is 0.
 */
export function packOddWeightPlanes(oddWeights: Int32Array, reduction: number, units: number, bits: number): OddWeightPlanes {
  const words = wordsPerRow(reduction);
  const weights = new Uint32Array(units * bits * words);
  const weightSums = new Float64Array(units);
  const bias = 2 ** bits - 1;

  for (let i = 0; i < reduction; i++) {
    for (let u = 0; u < units; u++) {
      const odd = oddWeights[i * units + u];
      weightSums[u] += odd;
      const level = (odd + bias) / 2;
      for (let plane = 0; plane < bits; plane++) {
        if (((level >>> plane) & 1) === 0) weights[(u * bits + plane) * words + (i >>> 5)] |= 1 << (i & 31);
      }
    }
  }
  return { weights, weightSums };
}

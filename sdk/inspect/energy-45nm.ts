/**
 * Energy per operation in a 45 nm process at 0.9 V, from M. Horowitz,
 * "Computing's energy problem (and what we can do about it)", ISSCC 2014,
 * the table the QNN paper (Hubara et al., arXiv 1609.07061) uses for its
 * energy argument. The figures below are those quoted from that table in
 * Table 3 of PMC8934428 (https://pmc.ncbi.nlm.nih.gov/articles/PMC8934428/table/T3/),
 * the page these values were read from.
 */
export const HOROWITZ_45NM_PICOJOULES = {
  int32Add: 0.1,
  int32Multiply: 3.1,
  float32Add: 0.9,
  float32Multiply: 3.7,
  /** One 64-bit access to an 8 kB SRAM cache; the cited page quotes half of it, 5 pJ, for a 32-bit load. */
  cache8kB64BitRead: 10,
} as const;

/** Energy of one float32 multiply-accumulate: a multiply and an add, both from the table. */
export const FLOAT32_MAC_PICOJOULES = HOROWITZ_45NM_PICOJOULES.float32Multiply + HOROWITZ_45NM_PICOJOULES.float32Add;

/**
 * Estimate, not a table entry: one 1-bit multiply-accumulate (an XNOR and
 * its share of a popcount added into an integer accumulator) is charged as
 * one 32-bit integer add. This is an upper bound: a 32-bit XNOR-popcount
 * word does 32 such MACs for a few word-wide operations, so the real cost
 * per MAC is lower.
 */
export const BINARY_MAC_PICOJOULES = HOROWITZ_45NM_PICOJOULES.int32Add;

/**
 * Estimate: a MAC of an a-bit activation and a w-bit weight is computed as
 * a * w bit-plane products (the SDK's bit-plane GEMM), each charged as one
 * 1-bit MAC.
 */
export function kBitMacPicojoules(activationBits: number, weightBits: number): number {
  return activationBits * weightBits * BINARY_MAC_PICOJOULES;
}

/** Estimate: reading `bits` of weights from an 8 kB cache, 64 bits per access, rounded up to whole accesses. */
export function weightReadPicojoules(bits: number): number {
  return Math.ceil(bits / 64) * HOROWITZ_45NM_PICOJOULES.cache8kB64BitRead;
}

/**
 * Popcount roofline: the inner loop of binaryGemm on data resident in L1.
 *
 *   checksum = sum over `iterations` of sum_{r<2, j<4} popcount(a_r[0..W-1] XOR b_j[0..W-1])
 *
 * data contains six rows of `words` u32 words (a_0, a_1, b_0..b_3), e.g. 6 x 512 bytes
 * for K = 4096, followed by 32 bytes for the tile's results. Each iteration runs
 * binaryGemmTile2x4 once, the same code binaryGemm runs per tile: v128 loads, v128.xor, i8x16.popcnt, i8x16.add into u8 lanes and
 * the widening every 31 vectors (popcnt<u64> in the scalar build). It does
 * 8 * 32 * words binary multiply-accumulates per iteration, so the host can report
 * binary MACs per second on the same scale as the GEMM, with cache misses and
 * tile edges taken out.
 */
import { binaryGemmTile2x4 } from './binary-gemm-tile';

/** Returns the sum of one result per iteration, so the work cannot be optimized away. */
export function popcountRoofline(data: usize, words: i32, iterations: i32): f64 {
  const rowBytes = <usize>words << 2;
  const a0 = data;
  const a1 = a0 + rowBytes;
  const b0 = a1 + rowBytes;
  const b1 = b0 + rowBytes;
  const b2 = b1 + rowBytes;
  const b3 = b2 + rowBytes;
  const out0 = b3 + rowBytes;
  const out1 = out0 + 16;
  const k = words << 5;
  let checksum: f64 = 0;

  for (let iteration = 0; iteration < iterations; iteration++) {
    binaryGemmTile2x4(a0, a1, b0, b1, b2, b3, words, out0, out1, k, true, true);
    checksum += <f64>load<i32>(out1, 12);
  }
  return checksum;
}

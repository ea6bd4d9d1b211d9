/**
 * Binary GEMM on packed signs:
 *
 *   out[M,N] (i32) = K - 2 * popcount(a[M, W] XOR b[N, W]),  W = ceil(K / 32)
 *
 * Row m of a and row n of b each contain K signs in W little-endian u32 words,
 * element i in bit (i mod 32) of word i >> 5, bit 1 meaning -1 and pad bits 0.
 * Equal signs give a 0 bit in the XOR, so dot = (K - d) - d with d differing signs.
 *
 * SIMD build: each pass of the main loop takes one row of a against four rows
 * of b, v128.xor + i8x16.popcnt per 16 bytes, counts kept in u8 lanes and
 * widened to u32 every 31 vectors. Scalar build: popcnt<u64> over word pairs.
 * Limitation: x64 without AVX-512 BITALG has no byte popcount instruction, so
 * i8x16.popcnt costs several instructions there. On such a host (AMD EPYC,
 * Node 20, bench/binary-gemm.ts) the SIMD build measured only 1.4x to 1.9x
 * the scalar popcnt<u64> build.
 */
import { popcountRow, popcountRows4Simd } from './packed-dot';

export function binaryGemm(a: usize, b: usize, m: i32, n: i32, k: i32, out: usize): void {
  const words = (k + 31) >> 5;
  const rowBytes = <usize>words << 2;
  const columnBlocks = ASC_FEATURE_SIMD ? n >> 2 : 0;

  for (let i = 0; i < m; i++) {
    const aRow = a + <usize>i * rowBytes;
    const outRow = out + ((<usize>i * <usize>n) << 2);

    if (ASC_FEATURE_SIMD) {
      const kSplat = i32x4.splat(k);
      for (let block = 0; block < columnBlocks; block++) {
        const j = block << 2;
        const differing = popcountRows4Simd(aRow, b + <usize>j * rowBytes, rowBytes, words, false);
        v128.store(outRow + (<usize>j << 2), i32x4.sub(kSplat, i32x4.shl(differing, 1)));
      }
    }

    for (let j = columnBlocks << 2; j < n; j++) {
      const differing = popcountRow(aRow, b + <usize>j * rowBytes, words, false);
      store<i32>(outRow + (<usize>j << 2), k - 2 * differing);
    }
  }
}

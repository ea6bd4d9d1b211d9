/**
 * Binary GEMM on packed signs:
 *
 *   out[M,N] (i32) = K - 2 * popcount(a[M, W] XOR b[N, W]),  W = ceil(K / 32)
 *
 * Row m of a and row n of b each contain K signs in W little-endian u32 words,
 * element i in bit (i mod 32) of word i >> 5, bit 1 meaning -1 and pad bits 0.
 * Equal signs give a 0 bit in the XOR, so dot = (K - d) - d with d differing signs.
 *
 * Blocking: K is split into blocks of K_BLOCK_WORDS words and N into panels of
 * b rows that fit PANEL_BYTES. A panel is read from L2 while every pair of a rows
 * passes over it, and the 2 a rows and 4 b rows of one tile stay in L1.
 * The inner loop is binaryGemmTile2x4 (binary-gemm-tile.ts): 2 rows x 4 columns
 * per pass, i8x16.popcnt into u8 lanes widened every 31 vectors in the SIMD build,
 * popcnt<u64> in the scalar build. The last N mod 4 columns go through popcountRow.
 * out contains the partial differing-bit counts between K blocks and receives
 * K - 2 * d after the last block.
 *
 * Limitation: x64 without AVX-512 BITALG has no byte popcount instruction, so
 * V8 lowers i8x16.popcnt to a nibble table lookup of several instructions. On an
 * AMD EPYC (Zen 1) host with Node 20, the SIMD and scalar builds of this kernel
 * measured within about 5% of each other at M = N = 1024, K = 4096 (about 42 and
 * 43 GMAC/s, kernel call only, medians of 7 runs on a shared host).
 */
import { binaryGemmTile2x4, storeCount } from './binary-gemm-tile';
import { popcountRow } from './packed-dot';

/** Words of K per block: 1 KiB of each row, so the 6 row slices of a tile take 6 KiB of L1. */
export const K_BLOCK_WORDS: i32 = 256;

/** Bytes of b per panel, sized to sit in a 512 KiB L2 next to the streamed rows of a. */
const PANEL_BYTES: i32 = 128 * 1024;

/**
 * Returns the number of b rows per panel for row slices of `blockWords` words:
 * a multiple of 32 (so the fused kernel fills whole output words), at least 32.
 */
@inline
export function panelColumns(blockWords: i32): i32 {
  const columns = PANEL_BYTES / max(blockWords << 2, 1);
  return max(columns & ~31, 32);
}

/** Returns the number of u32 words holding k signs, without the overflow of (k + 31) >> 5 near 2^31. */
@inline
export function packedWords(k: i32): i32 {
  return (k >>> 5) + <i32>((k & 31) != 0);
}

export function binaryGemm(a: usize, b: usize, m: i32, n: i32, k: i32, out: usize): void {
  if (m <= 0 || n <= 0) return;

  const words = packedWords(k);
  const rowBytes = <usize>words << 2;
  const outRowBytes = <usize>n << 2;
  const kBlocks = max((words + K_BLOCK_WORDS - 1) / K_BLOCK_WORDS, 1);
  const fullColumns = n & ~3;

  for (let kBlock = 0; kBlock < kBlocks; kBlock++) {
    const wordStart = kBlock * K_BLOCK_WORDS;
    const blockWords = min(K_BLOCK_WORDS, words - wordStart);
    const blockOffset = <usize>wordStart << 2;
    const first = kBlock == 0;
    const last = kBlock == kBlocks - 1;
    const panelWidth = panelColumns(blockWords);

    for (let panel = 0; panel < fullColumns; panel += panelWidth) {
      const panelEnd = min(panel + panelWidth, fullColumns);

      for (let i = 0; i < m; i += 2) {
        const a0 = a + <usize>i * rowBytes + blockOffset;
        const out0 = out + <usize>i * outRowBytes;
        // The last row of an odd M runs as both tile rows and stores the same results twice.
        const a1 = i + 1 < m ? a0 + rowBytes : a0;
        const out1 = i + 1 < m ? out0 + outRowBytes : out0;

        for (let j = panel; j < panelEnd; j += 4) {
          const b0 = b + <usize>j * rowBytes + blockOffset;
          const columnOffset = <usize>j << 2;
          binaryGemmTile2x4(
            a0,
            a1,
            b0,
            b0 + rowBytes,
            b0 + 2 * rowBytes,
            b0 + 3 * rowBytes,
            blockWords,
            out0 + columnOffset,
            out1 + columnOffset,
            k,
            first,
            last,
          );
        }
      }
    }

    for (let i = 0; i < m; i++) {
      const aRow = a + <usize>i * rowBytes + blockOffset;
      const outRow = out + <usize>i * outRowBytes;
      for (let j = fullColumns; j < n; j++) {
        const count = popcountRow(aRow, b + <usize>j * rowBytes + blockOffset, blockWords, false);
        storeCount(outRow + (<usize>j << 2), count, k, first, last);
      }
    }
  }
}

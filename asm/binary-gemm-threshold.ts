/**
 * Fused binary GEMM + threshold + pack:
 *
 *   acc[m, c] = K - 2 * popcount(a[m, :] XOR b[c, :])           (never stored)
 *   out[M, ceil(N/32)] (u32): bit (c mod 32) of word c >> 5 of row m is 1 (-1) unless
 *     acc >= thresholds[c]  when directions[c] >= 0
 *     acc <= thresholds[c]  when directions[c] <  0
 *
 * a is [M, W] and b is [N, W] packed signs, W = ceil(K / 32), with the layout of
 * binaryGemm. thresholds is i32[N] and directions is i8[N]. Pad bits past N are 0.
 *
 * Each 2 x 4 tile (thresholdTile2x4) compares its accumulators as soon as they are
 * counted and returns sign bits, which are OR-ed into the two output words they
 * belong to, so no int32 accumulator array is written. N is split into panels of
 * whole output words as in binaryGemm. The last N mod 4 columns go through popcountRow.
 * Limitation: K is not blocked, because a partial count would need a stored
 * accumulator, so rows longer than about 4 KiB (K > 32768) no longer keep a
 * tile's rows in L1 and run slower than in binaryGemm.
 */
import { packedWords, panelColumns } from './binary-gemm';
import { thresholdBit, thresholdTile2x4 } from './binary-gemm-tile';
import { popcountRow } from './packed-dot';

export function binaryGemmThresholdPack(
  a: usize,
  b: usize,
  m: i32,
  n: i32,
  k: i32,
  thresholds: usize,
  directions: usize,
  out: usize,
): void {
  if (m <= 0 || n <= 0) return;

  const words = packedWords(k);
  const rowBytes = <usize>words << 2;
  const outRowBytes = <usize>packedWords(n) << 2;
  const panelWidth = panelColumns(words);

  for (let panel = 0; panel < n; panel += panelWidth) {
    const panelEnd = min(panel + panelWidth, n);

    for (let i = 0; i < m; i += 2) {
      const a0 = a + <usize>i * rowBytes;
      const out0 = out + <usize>i * outRowBytes;
      // The last row of an odd M runs as both tile rows, so both rows' bits are equal.
      const a1 = i + 1 < m ? a0 + rowBytes : a0;
      const out1 = i + 1 < m ? out0 + outRowBytes : out0;

      // Panels start on multiples of 32 columns, so each output word is filled within one panel.
      for (let word = panel; word < panelEnd; word += 32) {
        const wordEnd = min(word + 32, n);
        const fullEnd = word + ((wordEnd - word) & ~3);
        let bits0: u32 = 0;
        let bits1: u32 = 0;

        for (let j = word; j < fullEnd; j += 4) {
          const b0 = b + <usize>j * rowBytes;
          const tileBits = thresholdTile2x4(
            a0,
            a1,
            b0,
            b0 + rowBytes,
            b0 + 2 * rowBytes,
            b0 + 3 * rowBytes,
            words,
            k,
            thresholds + (<usize>j << 2),
            directions + <usize>j,
          );
          bits0 |= (tileBits & 15) << (j - word);
          bits1 |= (tileBits >> 4) << (j - word);
        }

        for (let j = fullEnd; j < wordEnd; j++) {
          const column = b + <usize>j * rowBytes;
          bits0 |= thresholdBit(k - 2 * popcountRow(a0, column, words, false), thresholds, directions, j) << (j - word);
          bits1 |= thresholdBit(k - 2 * popcountRow(a1, column, words, false), thresholds, directions, j) << (j - word);
        }

        const wordOffset = <usize>(word >> 5) << 2;
        store<u32>(out1 + wordOffset, bits1);
        store<u32>(out0 + wordOffset, bits0);
      }
    }
  }
}

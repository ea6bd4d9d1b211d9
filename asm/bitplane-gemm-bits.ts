/**
 * k-bit GEMM by bit-plane decomposition of both operands:
 *
 *   out[M,N] (i32) = sum_i x[m,i] * w[n,i]
 *                  = sum_{p<A} sum_{j<B} 2^(p+j) * (popcount(x_p[m]) - 2 * popcount(x_p[m] AND s_j[n]))
 *
 * x is u8 [M,K] with every value below 2^A (A = activationBits, 1..8), and
 * x_p[m] is its bit-plane p packed like a sign row: element i in bit (i mod 32)
 * of word i >> 5, pad bits 0. The weights are odd integers
 * w[n,i] = sum_{j<B} 2^j * s_j[n,i] with s_j = +1 or -1 (B = weightBits, 1..8),
 * stored as B sign planes per row: w is u32 [N, B, W], W = ceil(K / 32), plane j
 * of row n at word (n * B + j) * W, bit 1 meaning -1. Each term is exact because
 * x_p * s = x_p - 2 * x_p * [s = -1] for x_p in {0, 1}.
 *
 * Summing the first term over j gives (2^B - 1) * rowSum(x), because
 * sum_p 2^p popcount(x_p) is the row sum when every x < 2^A (the host checks this).
 * All arithmetic wraps modulo 2^32, so the result is exact whenever the true
 * value fits in i32: |out| <= (2^A - 1) * (2^B - 1) * K, which the host checks.
 *
 * Scratch, from bitplaneGemmScratchBytes: planes u32 [M][8][W], then row sums i32 [M].
 * SIMD build: each (p, j) pair counts one activation plane against four weight
 * rows with v128.and + i8x16.popcnt. Scalar build: popcnt<u64> per column.
 */
import { packBitPlanes } from './bitplane-gemm';
import { packedWords } from './binary-gemm';
import { popcountRow, popcountRows4Simd } from './packed-dot';

/** Planes per activation row in the scratch that packBitPlanes fills. */
const PLANES: i32 = 8;

export function bitplaneGemmBits(
  x: usize,
  activationBits: i32,
  w: usize,
  weightBits: i32,
  m: i32,
  n: i32,
  k: i32,
  out: usize,
  scratch: usize,
): void {
  if (m <= 0 || n <= 0) return;

  const words = packedWords(k);
  const rowBytes = <usize>words << 2;
  const weightRowBytes = <usize>weightBits * rowBytes;
  const planes = scratch;
  const rowSums = scratch + <usize>m * <usize>PLANES * rowBytes;
  const rowSumFactor = (1 << weightBits) - 1;
  const columnBlocks = ASC_FEATURE_SIMD ? n >> 2 : 0;

  packBitPlanes(x, m, k, planes, rowSums);

  for (let i = 0; i < m; i++) {
    const planeRows = planes + <usize>i * <usize>PLANES * rowBytes;
    const positive = rowSumFactor * load<i32>(rowSums + (<usize>i << 2));
    const outRow = out + ((<usize>i * <usize>n) << 2);

    if (ASC_FEATURE_SIMD) {
      const positiveSplat = i32x4.splat(positive);
      for (let block = 0; block < columnBlocks; block++) {
        const j = block << 2;
        let negative = i32x4.splat(0);
        for (let q = 0; q < weightBits; q++) {
          const signPlanes = w + <usize>j * weightRowBytes + <usize>q * rowBytes;
          for (let p = 0; p < activationBits; p++) {
            const counts = popcountRows4Simd(planeRows + <usize>p * rowBytes, signPlanes, weightRowBytes, words, true);
            negative = i32x4.add(negative, i32x4.shl(counts, p + q));
          }
        }
        v128.store(outRow + (<usize>j << 2), i32x4.sub(positiveSplat, i32x4.shl(negative, 1)));
      }
    }

    for (let j = columnBlocks << 2; j < n; j++) {
      let negative = 0;
      for (let q = 0; q < weightBits; q++) {
        const signPlane = w + <usize>j * weightRowBytes + <usize>q * rowBytes;
        for (let p = 0; p < activationBits; p++) {
          negative += popcountRow(planeRows + <usize>p * rowBytes, signPlane, words, true) << (p + q);
        }
      }
      store<i32>(outRow + (<usize>j << 2), positive - 2 * negative);
    }
  }
}

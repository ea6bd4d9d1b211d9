/**
 * Accumulating float GEMM with a transposed left operand, for weight gradients:
 *
 *   acc[M,N] += a[K,M]ᵀ · b[K,N]    (a and b row-major, K the long shared axis)
 *
 * In a convolution's kernel gradient K is batch * OH * OW, tens of thousands
 * of rows, and a single floatGemm over all of K streams panels far larger than
 * the caches. This walks K in blocks of BLOCK_ROWS rows instead: each block is
 * one floatGemm with transposeA into a small product tile, added into acc.
 * acc is accumulated, not overwritten, so a caller that splits K across threads
 * gives each thread its own zeroed acc and sums them afterwards. acc sits at
 * the start of the scratch so that one per-thread address carries both.
 *
 * Scratch, from floatGemmAtBScratchBytes: acc [M,N], the [M,N] product of one
 * block, then floatGemm's scratch for one block, each padded to 16 bytes.
 */
import { floatGemm, floatGemmScratchBytes } from './float-gemm';

/** Rows of K per block: 256 rows keep a block's B panel (256 * 8 floats, 8 KiB) in L1. */
const BLOCK_ROWS: i32 = 256;

export function floatGemmAtBScratchBytes(m: i32, n: i32): f64 {
  const tile = Math.ceil((<f64>m * <f64>n * 4) / 16) * 16;
  return 2 * tile + floatGemmScratchBytes(m, BLOCK_ROWS, n);
}

export function floatGemmAtB(a: usize, b: usize, k: i32, m: i32, n: i32, scratch: usize): void {
  const tileBytes = (((<usize>m * <usize>n) << 2) + 15) & ~<usize>15;
  const acc = scratch;
  const product = scratch + tileBytes;
  const gemmScratch = product + tileBytes;
  const count = m * n;

  for (let row = 0; row < k; row += BLOCK_ROWS) {
    const rows = min(BLOCK_ROWS, k - row);
    floatGemm(a + ((<usize>row * <usize>m) << 2), b + ((<usize>row * <usize>n) << 2), m, rows, n, true, false, product, gemmScratch);

    let i = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 4 <= count; i += 4) {
        const offset = <usize>i << 2;
        v128.store(acc + offset, f32x4.add(v128.load(acc + offset), v128.load(product + offset)));
      }
    }
    for (; i < count; i++) {
      const offset = <usize>i << 2;
      store<f32>(acc + offset, load<f32>(acc + offset) + load<f32>(product + offset));
    }
  }
}

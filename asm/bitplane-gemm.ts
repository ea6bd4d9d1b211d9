/**
 * Bit-plane GEMM, unsigned 8-bit input against binary weights:
 *
 *   out[M,N] (i32) = sum_i x[m,i] * s[n,i],  x u8 [M,K],  s = +1 or -1 packed in w[N, W]
 *                  = sum_{p=0..7} 2^p * (popcount(plane_p[m]) - 2 * popcount(plane_p[m] AND w[n]))
 *
 * W = ceil(K / 32). plane_p[m] contains bit p of x[m, 0..K-1] in the weight
 * layout: element i in bit (i mod 32) of word i >> 5, pad bits 0. The identity
 * holds because x = sum_p 2^p x_p with x_p in {0, 1}, and x_p * s = x_p - 2 * x_p * [s = -1].
 * The first term summed over planes is the row sum of x, computed once per row.
 *
 * Scratch, from bitplaneGemmScratchBytes: planes u32 [M][8][W], then row sums i32 [M].
 * SIMD build: planes are built with i8x16.shl + i8x16.bitmask, and each row of
 * planes is counted against four weight rows at a time with v128.and + i8x16.popcnt.
 * Scalar build: per-element bit extraction and popcnt<u64>.
 */
import { popcountRow, popcountRows4Simd } from './packed-dot';

const PLANES: i32 = 8;

/**
 * Returns the scratch bytes bitplaneGemm needs. The result is an f64 so a size
 * past 4 GiB reaches the host intact, where it is rejected, instead of wrapping.
 */
export function bitplaneGemmScratchBytes(m: i32, k: i32): f64 {
  const words = Math.ceil(<f64>k / 32);
  return <f64>m * PLANES * words * 4 + <f64>m * 4;
}

/**
 * Stores the 8 bit-planes of `count` (at most 32) bytes at src as one word per
 * plane, planeBytes apart, and returns the sum of the bytes.
 */
@inline
function packPlaneWords(src: usize, count: i32, dst: usize, planeBytes: usize): i32 {
  let sum = 0;
  for (let p = 0; p < PLANES; p++) {
    let bits: u32 = 0;
    for (let j = 0; j < count; j++) {
      bits |= ((<u32>load<u8>(src + <usize>j) >> p) & 1) << j;
    }
    store<u32>(dst + <usize>p * planeBytes, bits);
    sum += <i32>popcnt<u32>(bits) << p;
  }
  return sum;
}

/** Same as packPlaneWords for a full word of 32 bytes (SIMD build only). */
@inline
function packPlaneWords32Simd(src: usize, dst: usize, planeBytes: usize): i32 {
  const low = v128.load(src);
  const high = v128.load(src, 16);
  let sum = 0;
  for (let p = 0; p < PLANES; p++) {
    // Shifting bit p into the top bit of each byte lets i8x16.bitmask collect it.
    const shift = 7 - p;
    const bits = <u32>i8x16.bitmask(i8x16.shl(low, shift)) | (<u32>i8x16.bitmask(i8x16.shl(high, shift)) << 16);
    store<u32>(dst + <usize>p * planeBytes, bits);
    sum += <i32>popcnt<u32>(bits) << p;
  }
  return sum;
}

/** Splits each row of x into 8 packed bit-planes and stores the row sums of x. */
export function packBitPlanes(x: usize, m: i32, k: i32, planes: usize, rowSums: usize): void {
  const words = (k + 31) >> 5;
  const fullWords = k >> 5;
  const tail = k & 31;
  const planeBytes = <usize>words << 2;

  for (let i = 0; i < m; i++) {
    const src = x + <usize>i * <usize>k;
    const dst = planes + <usize>i * <usize>PLANES * planeBytes;
    let rowSum = 0;

    for (let w = 0; w < fullWords; w++) {
      const wordSrc = src + (<usize>w << 5);
      const wordDst = dst + (<usize>w << 2);
      if (ASC_FEATURE_SIMD) {
        rowSum += packPlaneWords32Simd(wordSrc, wordDst, planeBytes);
      } else {
        rowSum += packPlaneWords(wordSrc, 32, wordDst, planeBytes);
      }
    }

    if (tail != 0) {
      rowSum += packPlaneWords(src + (<usize>fullWords << 5), tail, dst + (<usize>fullWords << 2), planeBytes);
    }

    store<i32>(rowSums + (<usize>i << 2), rowSum);
  }
}

export function bitplaneGemm(x: usize, w: usize, m: i32, n: i32, k: i32, out: usize, scratch: usize): void {
  const words = (k + 31) >> 5;
  const rowBytes = <usize>words << 2;
  const planes = scratch;
  const rowSums = scratch + <usize>m * <usize>PLANES * rowBytes;
  const columnBlocks = ASC_FEATURE_SIMD ? n >> 2 : 0;

  packBitPlanes(x, m, k, planes, rowSums);

  for (let i = 0; i < m; i++) {
    const planeRows = planes + <usize>i * <usize>PLANES * rowBytes;
    const rowSum = load<i32>(rowSums + (<usize>i << 2));
    const outRow = out + ((<usize>i * <usize>n) << 2);

    if (ASC_FEATURE_SIMD) {
      const rowSumSplat = i32x4.splat(rowSum);
      for (let block = 0; block < columnBlocks; block++) {
        const j = block << 2;
        const weightRows = w + <usize>j * rowBytes;
        let negative = i32x4.splat(0);
        for (let p = 0; p < PLANES; p++) {
          const counts = popcountRows4Simd(planeRows + <usize>p * rowBytes, weightRows, rowBytes, words, true);
          negative = i32x4.add(negative, i32x4.shl(counts, p));
        }
        v128.store(outRow + (<usize>j << 2), i32x4.sub(rowSumSplat, i32x4.shl(negative, 1)));
      }
    }

    for (let j = columnBlocks << 2; j < n; j++) {
      const weightRow = w + <usize>j * rowBytes;
      let negative = 0;
      for (let p = 0; p < PLANES; p++) {
        negative += popcountRow(planeRows + <usize>p * rowBytes, weightRow, words, true) << p;
      }
      store<i32>(outRow + (<usize>j << 2), rowSum - 2 * negative);
    }
  }
}

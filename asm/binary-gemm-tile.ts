/**
 * Register-blocked 2 x 4 tile, the inner loop of binaryGemm, binaryGemmThresholdPack
 * and popcountRoofline:
 *
 *   d[r][j] = sum_{w<W} popcount(a_r[w] XOR b_j[w]),  r = 0..1,  j = 0..3
 *
 * a_0, a_1, b_0..b_3 are packed sign rows of W u32 words (element i in bit
 * (i mod 32) of word i >> 5, bit 1 meaning -1, pad bits 0). Each loaded vector of
 * a is reused against four columns and each loaded vector of b against two rows,
 * so one 16-byte step costs 6 loads for 8 XOR-popcounts. Callers pass a_1 = a_0
 * for the last row of an odd M and handle the last N mod 4 columns with popcountRow.
 *
 * Overflow bound of the SIMD path: i8x16.popcnt adds at most 8 to a u8 lane per
 * vector, so a lane contains at most 31 * 8 = 248 <= 255 when it is widened. Widening
 * sums byte pairs into u16 lanes (at most 496), u16 pairs into u32 lanes (at most
 * 992), and the four u32 lanes into an i32 lane of the result. d is at most the
 * number of bits counted, so it fits in i32 for every K up to 2^31 - 1, the largest
 * value the i32 dimension can carry, and K - 2 * d is within [-K, K].
 *
 * Epilogues: binaryGemmTile2x4 stores d (first K block), adds it to the stored
 * partial count (later blocks) and stores K - 2 * d after the last block.
 * thresholdTile2x4 compares K - 2 * d with per-column thresholds and returns the
 * sign bits, so the fused kernel never stores an accumulator.
 *
 * Carry-save (Harley-Seal) accumulation popcounts x^y^z and maj(x, y, z) in
 * place of x, y and z. It measured about 3 to 12 percent faster than the direct
 * loop for a 2 x 2 tile. It needs twice the accumulators, though, so it does not
 * fit a 2 x 4 tile in 16 registers. The direct 2 x 4 tile was 1.9 to 2.3 times
 * faster than either 2 x 2 variant (AMD EPYC Zen 1, Node 20, L1-resident rows).
 */
import { VECTORS_PER_WIDEN, loadTailWords, sumLanes4, widenCounts } from './packed-dot';

const EPILOGUE_STORE: i32 = 0;
const EPILOGUE_THRESHOLD: i32 = 1;

/** Widens and sums four u8 count vectors into one i32x4 whose lane j is the total of vector j. */
@inline
function reduceCounts4(c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  return sumLanes4(widenCounts(c0), widenCounts(c1), widenCounts(c2), widenCounts(c3));
}

/** Returns the 4 sign bits of acc against 4 thresholds, bit j set when column j is -1 (SIMD build only). */
@inline
function thresholdBits4Simd(acc: v128, thresholds: usize, directions: usize): u32 {
  const threshold = v128.load(thresholds);
  const direction = i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(directions)));
  const upward = i32x4.ge_s(direction, i32x4.splat(0));
  const positive = v128.bitselect(i32x4.ge_s(acc, threshold), i32x4.le_s(acc, threshold), upward);
  return <u32>i32x4.bitmask(v128.not(positive));
}

/** Returns 1 when acc thresholds to -1 against column `column`, else 0. */
@inline
export function thresholdBit(acc: i32, thresholds: usize, directions: usize, column: i32): u32 {
  const threshold = load<i32>(thresholds + (<usize>column << 2));
  const positive = load<i8>(directions + <usize>column) >= 0 ? acc >= threshold : acc <= threshold;
  return <u32>!positive;
}

@inline
function tile2x4Simd(
  a0: usize,
  a1: usize,
  b0: usize,
  b1: usize,
  b2: usize,
  b3: usize,
  words: i32,
  epilogue: i32,
  out0: usize,
  out1: usize,
  k: i32,
  first: bool,
  last: bool,
  thresholds: usize,
  directions: usize,
): u32 {
  const vectors = words >> 2;
  const tailWords = words & 3;
  let sum0 = i32x4.splat(0);
  let sum1 = i32x4.splat(0);

  let v = 0;
  while (v < vectors) {
    const end = min(v + VECTORS_PER_WIDEN, vectors);
    let c00 = i8x16.splat(0);
    let c01 = i8x16.splat(0);
    let c02 = i8x16.splat(0);
    let c03 = i8x16.splat(0);
    let c10 = i8x16.splat(0);
    let c11 = i8x16.splat(0);
    let c12 = i8x16.splat(0);
    let c13 = i8x16.splat(0);
    for (; v < end; v++) {
      const offset = <usize>v << 4;
      const x0 = v128.load(a0 + offset);
      const x1 = v128.load(a1 + offset);
      let y = v128.load(b0 + offset);
      c00 = i8x16.add(c00, i8x16.popcnt(v128.xor(x0, y)));
      c10 = i8x16.add(c10, i8x16.popcnt(v128.xor(x1, y)));
      y = v128.load(b1 + offset);
      c01 = i8x16.add(c01, i8x16.popcnt(v128.xor(x0, y)));
      c11 = i8x16.add(c11, i8x16.popcnt(v128.xor(x1, y)));
      y = v128.load(b2 + offset);
      c02 = i8x16.add(c02, i8x16.popcnt(v128.xor(x0, y)));
      c12 = i8x16.add(c12, i8x16.popcnt(v128.xor(x1, y)));
      y = v128.load(b3 + offset);
      c03 = i8x16.add(c03, i8x16.popcnt(v128.xor(x0, y)));
      c13 = i8x16.add(c13, i8x16.popcnt(v128.xor(x1, y)));
    }
    sum0 = i32x4.add(sum0, reduceCounts4(c00, c01, c02, c03));
    sum1 = i32x4.add(sum1, reduceCounts4(c10, c11, c12, c13));
  }

  if (tailWords != 0) {
    const offset = <usize>vectors << 4;
    const x0 = loadTailWords(a0 + offset, tailWords);
    const x1 = loadTailWords(a1 + offset, tailWords);
    const y0 = loadTailWords(b0 + offset, tailWords);
    const y1 = loadTailWords(b1 + offset, tailWords);
    const y2 = loadTailWords(b2 + offset, tailWords);
    const y3 = loadTailWords(b3 + offset, tailWords);
    const row0 = reduceCounts4(
      i8x16.popcnt(v128.xor(x0, y0)),
      i8x16.popcnt(v128.xor(x0, y1)),
      i8x16.popcnt(v128.xor(x0, y2)),
      i8x16.popcnt(v128.xor(x0, y3)),
    );
    const row1 = reduceCounts4(
      i8x16.popcnt(v128.xor(x1, y0)),
      i8x16.popcnt(v128.xor(x1, y1)),
      i8x16.popcnt(v128.xor(x1, y2)),
      i8x16.popcnt(v128.xor(x1, y3)),
    );
    sum0 = i32x4.add(sum0, row0);
    sum1 = i32x4.add(sum1, row1);
  }

  const kSplat = i32x4.splat(k);
  if (epilogue == EPILOGUE_THRESHOLD) {
    const acc0 = i32x4.sub(kSplat, i32x4.shl(sum0, 1));
    const acc1 = i32x4.sub(kSplat, i32x4.shl(sum1, 1));
    return thresholdBits4Simd(acc0, thresholds, directions) | (thresholdBits4Simd(acc1, thresholds, directions) << 4);
  }

  if (!first) {
    sum0 = i32x4.add(sum0, v128.load(out0));
    sum1 = i32x4.add(sum1, v128.load(out1));
  }
  if (last) {
    sum0 = i32x4.sub(kSplat, i32x4.shl(sum0, 1));
    sum1 = i32x4.sub(kSplat, i32x4.shl(sum1, 1));
  }
  // Both loads precede both stores, so out1 = out0 stores the same values twice.
  v128.store(out1, sum1);
  v128.store(out0, sum0);
  return 0;
}

@inline
function tile2x4Scalar(
  a0: usize,
  a1: usize,
  b0: usize,
  b1: usize,
  b2: usize,
  b3: usize,
  words: i32,
  epilogue: i32,
  out0: usize,
  out1: usize,
  k: i32,
  first: bool,
  last: bool,
  thresholds: usize,
  directions: usize,
): u32 {
  const pairs = words >> 1;
  let s00: u64 = 0;
  let s01: u64 = 0;
  let s02: u64 = 0;
  let s03: u64 = 0;
  let s10: u64 = 0;
  let s11: u64 = 0;
  let s12: u64 = 0;
  let s13: u64 = 0;

  for (let q = 0; q < pairs; q++) {
    const offset = <usize>q << 3;
    const x0 = load<u64>(a0 + offset);
    const x1 = load<u64>(a1 + offset);
    let y = load<u64>(b0 + offset);
    s00 += popcnt<u64>(x0 ^ y);
    s10 += popcnt<u64>(x1 ^ y);
    y = load<u64>(b1 + offset);
    s01 += popcnt<u64>(x0 ^ y);
    s11 += popcnt<u64>(x1 ^ y);
    y = load<u64>(b2 + offset);
    s02 += popcnt<u64>(x0 ^ y);
    s12 += popcnt<u64>(x1 ^ y);
    y = load<u64>(b3 + offset);
    s03 += popcnt<u64>(x0 ^ y);
    s13 += popcnt<u64>(x1 ^ y);
  }

  if (words & 1) {
    const offset = <usize>pairs << 3;
    const x0 = load<u32>(a0 + offset);
    const x1 = load<u32>(a1 + offset);
    let y = load<u32>(b0 + offset);
    s00 += popcnt<u32>(x0 ^ y);
    s10 += popcnt<u32>(x1 ^ y);
    y = load<u32>(b1 + offset);
    s01 += popcnt<u32>(x0 ^ y);
    s11 += popcnt<u32>(x1 ^ y);
    y = load<u32>(b2 + offset);
    s02 += popcnt<u32>(x0 ^ y);
    s12 += popcnt<u32>(x1 ^ y);
    y = load<u32>(b3 + offset);
    s03 += popcnt<u32>(x0 ^ y);
    s13 += popcnt<u32>(x1 ^ y);
  }

  if (epilogue == EPILOGUE_THRESHOLD) {
    return (
      thresholdBit(k - 2 * <i32>s00, thresholds, directions, 0) |
      (thresholdBit(k - 2 * <i32>s01, thresholds, directions, 1) << 1) |
      (thresholdBit(k - 2 * <i32>s02, thresholds, directions, 2) << 2) |
      (thresholdBit(k - 2 * <i32>s03, thresholds, directions, 3) << 3) |
      (thresholdBit(k - 2 * <i32>s10, thresholds, directions, 0) << 4) |
      (thresholdBit(k - 2 * <i32>s11, thresholds, directions, 1) << 5) |
      (thresholdBit(k - 2 * <i32>s12, thresholds, directions, 2) << 6) |
      (thresholdBit(k - 2 * <i32>s13, thresholds, directions, 3) << 7)
    );
  }

  // With out1 = out0 a second read-modify-write would add the partial count twice.
  if (out1 != out0) {
    storeCount(out1, <i32>s10, k, first, last);
    storeCount(out1 + 4, <i32>s11, k, first, last);
    storeCount(out1 + 8, <i32>s12, k, first, last);
    storeCount(out1 + 12, <i32>s13, k, first, last);
  }
  storeCount(out0, <i32>s00, k, first, last);
  storeCount(out0 + 4, <i32>s01, k, first, last);
  storeCount(out0 + 8, <i32>s02, k, first, last);
  storeCount(out0 + 12, <i32>s03, k, first, last);
  return 0;
}

/** Stores a differing-bit count with the K-block rules of binaryGemmTile2x4. */
@inline
export function storeCount(address: usize, count: i32, k: i32, first: bool, last: bool): void {
  if (!first) count += load<i32>(address);
  store<i32>(address, last ? k - 2 * count : count);
}

/**
 * Counts the tile over `words` words and stores its 2 x 4 results at out0[0..3]
 * (row a_0) and out1[0..3] (row a_1). A first K block stores d, a later block adds
 * d to the stored partial count, and the last block stores K - 2 * total.
 * out1 may equal out0 when a_1 equals a_0, and then out0 receives row a_0's results.
 */
export function binaryGemmTile2x4(
  a0: usize,
  a1: usize,
  b0: usize,
  b1: usize,
  b2: usize,
  b3: usize,
  words: i32,
  out0: usize,
  out1: usize,
  k: i32,
  first: bool,
  last: bool,
): void {
  if (ASC_FEATURE_SIMD) {
    tile2x4Simd(a0, a1, b0, b1, b2, b3, words, EPILOGUE_STORE, out0, out1, k, first, last, 0, 0);
  } else {
    tile2x4Scalar(a0, a1, b0, b1, b2, b3, words, EPILOGUE_STORE, out0, out1, k, first, last, 0, 0);
  }
}

/**
 * Counts the tile over all `words` words of K and returns its sign bits, bit j for
 * row a_0 and bit 4 + j for row a_1. A bit is set when K - 2 * d thresholds to -1
 * against thresholds[j] (i32) and directions[j] (i8), with the rule of thresholdPack.
 */
export function thresholdTile2x4(
  a0: usize,
  a1: usize,
  b0: usize,
  b1: usize,
  b2: usize,
  b3: usize,
  words: i32,
  k: i32,
  thresholds: usize,
  directions: usize,
): u32 {
  if (ASC_FEATURE_SIMD) {
    return tile2x4Simd(a0, a1, b0, b1, b2, b3, words, EPILOGUE_THRESHOLD, 0, 0, k, true, true, thresholds, directions);
  }
  return tile2x4Scalar(a0, a1, b0, b1, b2, b3, words, EPILOGUE_THRESHOLD, 0, 0, k, true, true, thresholds, directions);
}

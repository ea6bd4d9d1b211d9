/**
 * Popcount reductions over packed sign rows, shared by the binary and the
 * bit-plane GEMM.
 *
 *   count[j] = sum_w popcount(a[w] OP b_j[w]),  w = 0 .. words-1,  OP = XOR or AND
 *
 * a is one row of `words` little-endian u32 words and b_j are rows of the same
 * length placed `rowBytes` apart. Pad bits are 0 in both operands, so whole
 * words can be counted without masking the last one.
 */

/**
 * Number of v128 popcounts a u8 lane can absorb before it must be widened:
 * i8x16.popcnt yields at most 8 per lane and 31 * 8 = 248 <= 255.
 */
export const VECTORS_PER_WIDEN: i32 = 31;

@inline
function combine(a: v128, b: v128, useAnd: bool): v128 {
  return useAnd ? v128.and(a, b) : v128.xor(a, b);
}

/** Widens sixteen u8 lane counts to four u32 lanes (pairwise sums, no overflow). */
@inline
export function widenCounts(counts: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(counts));
}

/**
 * Loads the last 1 to 3 words of a row into the low lanes of a vector and
 * zero-fills the rest, so the tail goes through the same popcount as a full vector.
 */
@inline
export function loadTailWords(ptr: usize, tailWords: i32): v128 {
  if (tailWords == 1) return v128.load32_zero(ptr);
  if (tailWords == 2) return v128.load64_zero(ptr);
  return v128.load32_lane(ptr, v128.load64_zero(ptr), 2, 8);
}

/**
 * Reduces four i32x4 vectors to one vector whose lane j is the sum of the
 * lanes of vector j.
 */
@inline
export function sumLanes4(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  // [s0.0+s0.2, s1.0+s1.2, s0.1+s0.3, s1.1+s1.3] and the same for s2, s3.
  const s01 = i32x4.add(i32x4.shuffle(s0, s1, 0, 4, 1, 5), i32x4.shuffle(s0, s1, 2, 6, 3, 7));
  const s23 = i32x4.add(i32x4.shuffle(s2, s3, 0, 4, 1, 5), i32x4.shuffle(s2, s3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(s01, s23, 0, 1, 4, 5), i32x4.shuffle(s01, s23, 2, 3, 6, 7));
}

/**
 * Counts one row a against four consecutive rows b_0..b_3 (SIMD build only).
 * Returns count[j] in lane j.
 */
@inline
export function popcountRows4Simd(a: usize, b: usize, rowBytes: usize, words: i32, useAnd: bool): v128 {
  const vectors = words >> 2;
  const tailWords = words & 3;
  const b0 = b;
  const b1 = b0 + rowBytes;
  const b2 = b1 + rowBytes;
  const b3 = b2 + rowBytes;
  let sum0 = i32x4.splat(0);
  let sum1 = i32x4.splat(0);
  let sum2 = i32x4.splat(0);
  let sum3 = i32x4.splat(0);

  let v = 0;
  while (v < vectors) {
    const end = min(v + VECTORS_PER_WIDEN, vectors);
    let counts0 = i8x16.splat(0);
    let counts1 = i8x16.splat(0);
    let counts2 = i8x16.splat(0);
    let counts3 = i8x16.splat(0);
    for (; v < end; v++) {
      const offset = <usize>v << 4;
      const av = v128.load(a + offset);
      counts0 = i8x16.add(counts0, i8x16.popcnt(combine(av, v128.load(b0 + offset), useAnd)));
      counts1 = i8x16.add(counts1, i8x16.popcnt(combine(av, v128.load(b1 + offset), useAnd)));
      counts2 = i8x16.add(counts2, i8x16.popcnt(combine(av, v128.load(b2 + offset), useAnd)));
      counts3 = i8x16.add(counts3, i8x16.popcnt(combine(av, v128.load(b3 + offset), useAnd)));
    }
    sum0 = i32x4.add(sum0, widenCounts(counts0));
    sum1 = i32x4.add(sum1, widenCounts(counts1));
    sum2 = i32x4.add(sum2, widenCounts(counts2));
    sum3 = i32x4.add(sum3, widenCounts(counts3));
  }

  if (tailWords != 0) {
    const offset = <usize>vectors << 4;
    const av = loadTailWords(a + offset, tailWords);
    sum0 = i32x4.add(sum0, widenCounts(i8x16.popcnt(combine(av, loadTailWords(b0 + offset, tailWords), useAnd))));
    sum1 = i32x4.add(sum1, widenCounts(i8x16.popcnt(combine(av, loadTailWords(b1 + offset, tailWords), useAnd))));
    sum2 = i32x4.add(sum2, widenCounts(i8x16.popcnt(combine(av, loadTailWords(b2 + offset, tailWords), useAnd))));
    sum3 = i32x4.add(sum3, widenCounts(i8x16.popcnt(combine(av, loadTailWords(b3 + offset, tailWords), useAnd))));
  }

  return sumLanes4(sum0, sum1, sum2, sum3);
}

/**
 * Counts one row a against one row b with 64-bit popcounts. Serves the
 * scalar bit-plane GEMMs and the last n mod 4 columns of every GEMM.
 */
@inline
export function popcountRow(a: usize, b: usize, words: i32, useAnd: bool): i32 {
  const pairs = words >> 1;
  let count: i64 = 0;

  for (let q = 0; q < pairs; q++) {
    const offset = <usize>q << 3;
    const x = load<u64>(a + offset);
    const y = load<u64>(b + offset);
    count += popcnt<u64>(useAnd ? x & y : x ^ y);
  }

  if (words & 1) {
    const offset = <usize>pairs << 3;
    const x = load<u32>(a + offset);
    const y = load<u32>(b + offset);
    count += <i64>popcnt<u32>(useAnd ? x & y : x ^ y);
  }
  return <i32>count;
}

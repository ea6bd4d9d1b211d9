/**
 * Threshold and pack (batch norm + sign folded into integer thresholds):
 *
 *   out[rows, W] (u32) = pack(!positive(acc[rows, C] (i32))),  W = ceil(C / 32)
 *   positive(acc[r, c]) = acc >= thresholds[c]  when directions[c] >= 0
 *                         acc <= thresholds[c]  when directions[c] <  0
 *
 * thresholds is i32[C] and directions is i8[C]. Column c goes to bit
 * (c mod 32) of word c >> 5, bit 1 meaning -1; pad bits past C are 0.
 *
 * SIMD build: i32x4 compares for 16 columns at a time, both results narrowed
 * to bytes, picked per column by the direction mask and read with i8x16.bitmask.
 * Scalar build: one compare per column.
 */

/** Returns the sign bits of 16 columns, bit j set when column j is -1 (SIMD build only). */
@inline
function thresholdBits16(acc: usize, thresholds: usize, directions: usize): u32 {
  const acc0 = v128.load(acc);
  const acc1 = v128.load(acc, 16);
  const acc2 = v128.load(acc, 32);
  const acc3 = v128.load(acc, 48);
  const t0 = v128.load(thresholds);
  const t1 = v128.load(thresholds, 16);
  const t2 = v128.load(thresholds, 32);
  const t3 = v128.load(thresholds, 48);

  // Compare masks are all ones (-1) or 0, and saturating narrows keep both values.
  const atLeast = i8x16.narrow_i16x8_s(
    i16x8.narrow_i32x4_s(i32x4.ge_s(acc0, t0), i32x4.ge_s(acc1, t1)),
    i16x8.narrow_i32x4_s(i32x4.ge_s(acc2, t2), i32x4.ge_s(acc3, t3)),
  );
  const atMost = i8x16.narrow_i16x8_s(
    i16x8.narrow_i32x4_s(i32x4.le_s(acc0, t0), i32x4.le_s(acc1, t1)),
    i16x8.narrow_i32x4_s(i32x4.le_s(acc2, t2), i32x4.le_s(acc3, t3)),
  );
  const upward = i8x16.ge_s(v128.load(directions), i8x16.splat(0));

  const positive = v128.bitselect(atLeast, atMost, upward);
  return <u32>i8x16.bitmask(v128.not(positive));
}

/** Returns the sign bits of `count` (at most 32) columns. */
@inline
function thresholdBits(acc: usize, thresholds: usize, directions: usize, count: i32): u32 {
  let bits: u32 = 0;
  for (let j = 0; j < count; j++) {
    const value = load<i32>(acc + (<usize>j << 2));
    const threshold = load<i32>(thresholds + (<usize>j << 2));
    const positive = load<i8>(directions + <usize>j) >= 0 ? value >= threshold : value <= threshold;
    bits |= <u32>!positive << j;
  }
  return bits;
}

export function thresholdPack(acc: usize, rows: i32, cols: i32, thresholds: usize, directions: usize, out: usize): void {
  const words = (cols + 31) >> 5;
  const fullWords = cols >> 5;
  const tail = cols & 31;
  const rowBytes = <usize>cols << 2;

  for (let r = 0; r < rows; r++) {
    const src = acc + <usize>r * rowBytes;
    const dst = out + ((<usize>r * <usize>words) << 2);

    for (let w = 0; w < fullWords; w++) {
      const column = <usize>w << 5;
      const accWord = src + (column << 2);
      const thresholdWord = thresholds + (column << 2);
      const directionWord = directions + column;
      let bits: u32;
      if (ASC_FEATURE_SIMD) {
        bits =
          thresholdBits16(accWord, thresholdWord, directionWord) |
          (thresholdBits16(accWord + 64, thresholdWord + 64, directionWord + 16) << 16);
      } else {
        bits = thresholdBits(accWord, thresholdWord, directionWord, 32);
      }
      store<u32>(dst + (<usize>w << 2), bits);
    }

    if (tail != 0) {
      const column = <usize>fullWords << 5;
      const bits = thresholdBits(src + (column << 2), thresholds + (column << 2), directions + column, tail);
      store<u32>(dst + (<usize>fullWords << 2), bits);
    }
  }
}

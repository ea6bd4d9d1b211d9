/**
 * Sign packing along the reduction axis:
 *
 *   words[rows, W] (u32) = pack(x[rows, K] (f32) < 0),  W = ceil(K / 32)
 *
 * Element i of a row goes to bit (i mod 32) of word i >> 5. The bit is 1 when
 * x < 0 (sign -1) and 0 otherwise, so -0.0, +0.0 and NaN pack as +1. The test
 * is a float comparison and never reads the IEEE sign bit. Pad bits past K
 * in the last word are 0.
 *
 * SIMD build: f32x4.lt masks of 16 elements are narrowed to bytes and read
 * with i8x16.bitmask, two per word. Scalar build: one compare per element.
 */

/** Returns the sign bits of the 16 floats at src, bit j set when src[j] < 0 (SIMD build only). */
@inline
function signBits16(src: usize): u32 {
  const zero = f32x4.splat(0);
  const mask0 = f32x4.lt(v128.load(src), zero);
  const mask1 = f32x4.lt(v128.load(src, 16), zero);
  const mask2 = f32x4.lt(v128.load(src, 32), zero);
  const mask3 = f32x4.lt(v128.load(src, 48), zero);

  // Lanes are all ones (-1) or 0, and saturating narrows keep both values, so byte j is the mask of src[j].
  const bytes = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(mask0, mask1), i16x8.narrow_i32x4_s(mask2, mask3));
  return <u32>i8x16.bitmask(bytes);
}

/** Returns the sign bits of `count` (at most 32) floats at src. */
@inline
function signBits(src: usize, count: i32): u32 {
  let bits: u32 = 0;
  for (let j = 0; j < count; j++) {
    bits |= <u32>(load<f32>(src + (<usize>j << 2)) < 0) << j;
  }
  return bits;
}

export function packSigns(x: usize, rows: i32, k: i32, out: usize): void {
  const words = (k + 31) >> 5;
  const fullWords = k >> 5;
  const tail = k & 31;
  const rowBytes = <usize>k << 2;

  for (let r = 0; r < rows; r++) {
    const src = x + <usize>r * rowBytes;
    const dst = out + ((<usize>r * <usize>words) << 2);

    for (let w = 0; w < fullWords; w++) {
      const wordSrc = src + (<usize>w << 7);
      let bits: u32;
      if (ASC_FEATURE_SIMD) {
        bits = signBits16(wordSrc) | (signBits16(wordSrc + 64) << 16);
      } else {
        bits = signBits(wordSrc, 32);
      }
      store<u32>(dst + (<usize>w << 2), bits);
    }

    if (tail != 0) {
      store<u32>(dst + (<usize>fullWords << 2), signBits(src + (<usize>fullWords << 7), tail));
    }
  }
}

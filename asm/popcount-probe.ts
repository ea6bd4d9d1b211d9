/**
 * Test hook for the byte popcount that the packed kernels rely on:
 *
 *   dst[0..15] (u8) = popcount(src[j]) for each of the 16 bytes at src
 *
 * SIMD build: one i8x16.popcnt. Scalar build: popcnt<u32> per byte, so the
 * same test runs against both builds.
 */
export function popcountBytes16(src: usize, dst: usize): void {
  if (ASC_FEATURE_SIMD) {
    v128.store(dst, i8x16.popcnt(v128.load(src)));
  } else {
    for (let j: usize = 0; j < 16; j++) {
      store<u8>(dst + j, <u8>popcnt<u32>(load<u8>(src + j)));
    }
  }
}

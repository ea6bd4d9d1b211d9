/**
 * Binary max-pooling on packed NHWC signs over VALID windows:
 *
 *   out[N,OH,OW,Wc] (u32) = AND_{py<PH, px<PW} x[n, oy*SH + py, ox*SW + px, :],  Wc = ceil(C / 32)
 *
 * x is [N, H, W, Wc] u32 words, channel c in bit (c mod 32) of word c >> 5, bit 1
 * meaning -1, pad bits 0. The max of signs is +1 when any input is +1, and +1 is
 * bit 0, so the max is the AND of the bits. Pad bits stay 0.
 *
 * SIMD build: v128.and over four words at a time. Scalar build and the last
 * Wc mod 4 words: u32 AND. The host validates the shape and passes OH and OW.
 */

export function binaryMaxPool2d(
  input: usize,
  out: usize,
  batch: i32,
  height: i32,
  width: i32,
  channels: i32,
  poolHeight: i32,
  poolWidth: i32,
  strideHeight: i32,
  strideWidth: i32,
  outHeight: i32,
  outWidth: i32,
): void {
  if (batch == 0 || outHeight == 0 || outWidth == 0) return;

  const words = (channels + 31) >> 5;
  const vectors = ASC_FEATURE_SIMD ? words >> 2 : 0;
  const pixelBytes = <usize>words << 2;
  const rowBytes = <usize>width * pixelBytes;
  const imageBytes = <usize>height * rowBytes;

  let dst = out;
  for (let n = 0; n < batch; n++) {
    const image = input + <usize>n * imageBytes;
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        // Top-left pixel of the window.
        const corner = image + <usize>(oy * strideHeight) * rowBytes + <usize>(ox * strideWidth) * pixelBytes;

        // Main loop (SIMD build): 128 bits of channels at a time.
        if (ASC_FEATURE_SIMD) {
          for (let v = 0; v < vectors; v++) {
            const offset = <usize>v << 4;
            let acc = v128.load(corner + offset);
            for (let py = 0; py < poolHeight; py++) {
              for (let px = 0; px < poolWidth; px++) {
                acc = v128.and(acc, v128.load(corner + <usize>py * rowBytes + <usize>px * pixelBytes + offset));
              }
            }
            v128.store(dst + offset, acc);
          }
        }

        // Remainder: the last Wc mod 4 words (every word in the scalar build).
        for (let w = vectors << 2; w < words; w++) {
          const offset = <usize>w << 2;
          let acc = load<u32>(corner + offset);
          for (let py = 0; py < poolHeight; py++) {
            for (let px = 0; px < poolWidth; px++) {
              acc &= load<u32>(corner + <usize>py * rowBytes + <usize>px * pixelBytes + offset);
            }
          }
          store<u32>(dst + offset, acc);
        }

        dst += pixelBytes;
      }
    }
  }
}

/**
 * Binary 2-D convolution on packed NHWC signs (direct, one output pixel at a time):
 *
 *   out[N,OH,OW,O] (i32) = sum_{ky<KH, kx<KW} tap(n, oy*SH - padTop + ky, ox*SW - padLeft + kx, o, ky, kx)
 *   tap = C - 2 * popcount(x[n, y, x, :] XOR w[o, ky, kx, :])   when (y, x) lies in the H x W image
 *   tap = padValue * tapSum[o, ky, kx]                           otherwise (padValue in {+1, 0, -1})
 *
 * x is [N, H, W, Wc] and w is [O, KH, KW, Wc] u32 words, Wc = ceil(C / 32),
 * channel c in bit (c mod 32) of word c >> 5, bit 1 meaning -1, pad bits 0.
 * tapSum[o, ky, kx] = C - 2 * popcount(w[o, ky, kx, :]) is the sum of the tap's
 * C weight signs, kept in the scratch region as i32 [O, KH * KW].
 *
 * The in-image taps of one kernel row are consecutive pixels, so their words
 * form one contiguous run in both x and w, counted by one popcount reduction.
 * SIMD build: four filters per pass with v128.xor + i8x16.popcnt. Scalar
 * build: popcnt<u64> per filter. Pixels whose window crosses the border then
 * add padValue times the weight sums of their padded taps.
 *
 * The host validates the shape and resolves SAME/VALID into outHeight,
 * outWidth, padTop and padLeft. The kernel does not check them.
 */
import { popcountRow, popcountRows4Simd } from './packed-dot';

/** Returns the bytes of scratch binaryConv2d needs for the per-tap weight sums. */
export function binaryConv2dScratchBytes(outChannels: i32, kernelHeight: i32, kernelWidth: i32): usize {
  return (<usize>outChannels * <usize>kernelHeight * <usize>kernelWidth) << 2;
}

/**
 * Returns sum_{taps outside [kyBegin, kyEnd) x [kxBegin, kxEnd)} tapSum[tap]
 * for one filter, whose KH * KW sums start at `filterSums`.
 */
@inline
function paddedTapSum(
  filterSums: usize,
  kernelHeight: i32,
  kernelWidth: i32,
  kyBegin: i32,
  kyEnd: i32,
  kxBegin: i32,
  kxEnd: i32,
): i32 {
  let sum = 0;
  for (let ky = 0; ky < kernelHeight; ky++) {
    const rowInside = ky >= kyBegin && ky < kyEnd;
    for (let kx = 0; kx < kernelWidth; kx++) {
      if (rowInside && kx >= kxBegin && kx < kxEnd) continue;
      sum += load<i32>(filterSums + ((<usize>(ky * kernelWidth + kx)) << 2));
    }
  }
  return sum;
}

export function binaryConv2d(
  input: usize,
  weights: usize,
  out: usize,
  scratch: usize,
  batch: i32,
  height: i32,
  width: i32,
  channels: i32,
  outChannels: i32,
  kernelHeight: i32,
  kernelWidth: i32,
  strideHeight: i32,
  strideWidth: i32,
  padTop: i32,
  padLeft: i32,
  outHeight: i32,
  outWidth: i32,
  padValue: i32,
): void {
  if (batch == 0 || outHeight == 0 || outWidth == 0 || outChannels == 0) return;

  const words = (channels + 31) >> 5;
  const pixelBytes = <usize>words << 2;
  const taps = kernelHeight * kernelWidth;
  const filterBytes = <usize>taps * pixelBytes;
  const rowBytes = <usize>width * pixelBytes;
  const imageBytes = <usize>height * rowBytes;
  const outPixelBytes = <usize>outChannels << 2;
  const filterBlocks = ASC_FEATURE_SIMD ? outChannels >> 2 : 0;

  // tapSum[o, tap] = C - 2 * (number of -1 weights), read only for padded taps.
  const allTaps = outChannels * taps;
  for (let t = 0; t < allTaps; t++) {
    const tapWords = weights + <usize>t * pixelBytes;
    let negative = 0;
    for (let w = 0; w < words; w++) negative += <i32>popcnt<u32>(load<u32>(tapWords + (<usize>w << 2)));
    store<i32>(scratch + (<usize>t << 2), channels - 2 * negative);
  }

  let dst = out;
  for (let n = 0; n < batch; n++) {
    const image = input + <usize>n * imageBytes;
    for (let oy = 0; oy < outHeight; oy++) {
      const yStart = oy * strideHeight - padTop;
      const kyBegin = max(0, -yStart);
      const kyEnd = max(kyBegin, min(kernelHeight, height - yStart));

      for (let ox = 0; ox < outWidth; ox++) {
        const xStart = ox * strideWidth - padLeft;
        const kxBegin = max(0, -xStart);
        const kxEnd = max(kxBegin, min(kernelWidth, width - xStart));
        const runWords = (kxEnd - kxBegin) * words;
        const insideTaps = (kyEnd - kyBegin) * (kxEnd - kxBegin);
        const insideCount = insideTaps * channels;
        // The run of kernel row ky starts at pixel (yStart + ky, xStart + kxBegin) and at tap (ky, kxBegin).
        const runColumn = xStart + kxBegin;
        const runWeights = weights + <usize>kxBegin * pixelBytes;

        // Main loop (SIMD build): four filters per pass over the in-image kernel rows.
        if (ASC_FEATURE_SIMD) {
          const countSplat = i32x4.splat(insideCount);
          for (let block = 0; block < filterBlocks; block++) {
            const o = block << 2;
            let differing = i32x4.splat(0);
            for (let ky = kyBegin; ky < kyEnd; ky++) {
              const a = image + <usize>(yStart + ky) * rowBytes + <usize>runColumn * pixelBytes;
              const b = runWeights + <usize>o * filterBytes + <usize>(ky * kernelWidth) * pixelBytes;
              differing = i32x4.add(differing, popcountRows4Simd(a, b, filterBytes, runWords, false));
            }
            v128.store(dst + (<usize>o << 2), i32x4.sub(countSplat, i32x4.shl(differing, 1)));
          }
        }

        // Remainder: the last outChannels mod 4 filters (every filter in the scalar build).
        for (let o = filterBlocks << 2; o < outChannels; o++) {
          let differing = 0;
          for (let ky = kyBegin; ky < kyEnd; ky++) {
            const a = image + <usize>(yStart + ky) * rowBytes + <usize>runColumn * pixelBytes;
            const b = runWeights + <usize>o * filterBytes + <usize>(ky * kernelWidth) * pixelBytes;
            differing += popcountRow(a, b, runWords, false);
          }
          store<i32>(dst + (<usize>o << 2), insideCount - 2 * differing);
        }

        // Epilogue: a window that crosses the border adds padValue times its padded taps' weight sums.
        if (padValue != 0 && insideTaps != taps) {
          for (let o = 0; o < outChannels; o++) {
            const filterSums = scratch + ((<usize>(o * taps)) << 2);
            const padded = paddedTapSum(filterSums, kernelHeight, kernelWidth, kyBegin, kyEnd, kxBegin, kxEnd);
            const outPtr = dst + (<usize>o << 2);
            store<i32>(outPtr, load<i32>(outPtr) + padValue * padded);
          }
        }

        dst += outPixelBytes;
      }
    }
  }
}

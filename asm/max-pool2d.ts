/**
 * Float max-pooling of the training graph over VALID windows of NHWC input:
 *
 *   out[n, oy, ox, c] = max_{py<PH, px<PW} x[n, oy*SH + py, ox*SW + px, c]
 *   winners[n, oy, ox, c] = flat index into x of the first maximum in row-major window order
 *
 * A later tap replaces the best only when strictly greater, which keeps the
 * first maximum and matches the TypeScript reference (a NaN is kept only as
 * the first tap). The backward pass scatters each output gradient to its
 * winner; overlapping windows can share a winner, so it adds.
 */

export function maxPool2dForward(
  x: usize,
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
  out: usize,
  winners: usize,
): void {
  let target: i32 = 0;

  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const first = ((n * height + oy * strideHeight) * width + ox * strideWidth) * channels;
        // The first tap seeds every channel, then later taps compete channel by channel.
        for (let c = 0; c < channels; c++) {
          store<f32>(out + (<usize>(target + c) << 2), load<f32>(x + (<usize>(first + c) << 2)));
          store<i32>(winners + (<usize>(target + c) << 2), first + c);
        }
        for (let py = 0; py < poolHeight; py++) {
          for (let px = 0; px < poolWidth; px++) {
            if (py == 0 && px == 0) continue;
            const source = first + (py * width + px) * channels;
            for (let c = 0; c < channels; c++) {
              const value = load<f32>(x + (<usize>(source + c) << 2));
              const slot = <usize>(target + c) << 2;
              if (value > load<f32>(out + slot)) {
                store<f32>(out + slot, value);
                store<i32>(winners + slot, source + c);
              }
            }
          }
        }
        target += channels;
      }
    }
  }
}

/** dx (inputLength floats, zeroed first)[winners[i]] += grad[i] for i < outLength. */
export function maxPool2dBackward(grad: usize, winners: usize, outLength: i32, dx: usize, inputLength: i32): void {
  memory.fill(dx, 0, <usize>inputLength << 2);
  for (let i = 0; i < outLength; i++) {
    const slot = dx + (<usize>load<i32>(winners + (<usize>i << 2)) << 2);
    store<f32>(slot, load<f32>(slot) + load<f32>(grad + (<usize>i << 2)));
  }
}

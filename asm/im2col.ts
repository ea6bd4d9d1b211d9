/**
 * im2col and col2im for the float convolutions of the training graph, on
 * NHWC activations:
 *
 *   cols[N*OH*OW, KH*KW*C], column (ky * KW + kx) * C + c of row (n * OH + oy) * OW + ox
 *   contains x[n, oy*SH - padTop + ky, ox*SW - padLeft + kx, c], or padValue outside the image.
 *
 * The column order is the row-major order of a [KH, KW, C, O] kernel, so
 * cols · kernel is the NHWC output without reordering the kernel. col2im is
 * the adjoint: it sums every in-image entry of a column gradient back into
 * the input gradient. The host validates shapes and passes OH, OW and the
 * leading padding (TensorFlow's SAME split, as in binary-conv2d.ts).
 */

/** Copies `count` floats from src to dst; short runs (the few channels of a first layer) skip the bulk-copy call. */
@inline
function copyFloats(dst: usize, src: usize, count: i32): void {
  if (count >= 8) {
    memory.copy(dst, src, <usize>count << 2);
    return;
  }
  for (let c = 0; c < count; c++) store<f32>(dst + (<usize>c << 2), load<f32>(src + (<usize>c << 2)));
}

/** Sets `count` floats at dst to value. */
@inline
function fillFloats(dst: usize, value: f32, count: i32): void {
  for (let c = 0; c < count; c++) store<f32>(dst + (<usize>c << 2), value);
}

/** dst[c] += src[c] for c < count, four lanes at a time in the SIMD build. */
@inline
function addFloats(dst: usize, src: usize, count: i32): void {
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 4 <= count; c += 4) {
      const offset = <usize>c << 2;
      v128.store(dst + offset, f32x4.add(v128.load(dst + offset), v128.load(src + offset)));
    }
  }
  for (; c < count; c++) {
    const offset = <usize>c << 2;
    store<f32>(dst + offset, load<f32>(dst + offset) + load<f32>(src + offset));
  }
}

export function im2col(
  x: usize,
  batch: i32,
  height: i32,
  width: i32,
  channels: i32,
  kernelHeight: i32,
  kernelWidth: i32,
  strideHeight: i32,
  strideWidth: i32,
  padTop: i32,
  padLeft: i32,
  outHeight: i32,
  outWidth: i32,
  padValue: f32,
  cols: usize,
): void {
  const tapBytes = <usize>channels << 2;
  let dst = cols;

  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        for (let ky = 0; ky < kernelHeight; ky++) {
          const y = oy * strideHeight - padTop + ky;
          const rowInside = y >= 0 && y < height;
          for (let kx = 0; kx < kernelWidth; kx++) {
            const column = ox * strideWidth - padLeft + kx;
            if (rowInside && column >= 0 && column < width) {
              const src = x + ((<usize>((n * height + y) * width + column) * <usize>channels) << 2);
              copyFloats(dst, src, channels);
            } else {
              fillFloats(dst, padValue, channels);
            }
            dst += tapBytes;
          }
        }
      }
    }
  }
}

/** Adjoint of im2col: dx (zeroed first) gets the sum of every in-image entry of dcols; padded taps drop out. */
export function col2im(
  dcols: usize,
  batch: i32,
  height: i32,
  width: i32,
  channels: i32,
  kernelHeight: i32,
  kernelWidth: i32,
  strideHeight: i32,
  strideWidth: i32,
  padTop: i32,
  padLeft: i32,
  outHeight: i32,
  outWidth: i32,
  dx: usize,
): void {
  const tapBytes = <usize>channels << 2;
  memory.fill(dx, 0, (<usize>batch * <usize>height * <usize>width * <usize>channels) << 2);
  let src = dcols;

  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        for (let ky = 0; ky < kernelHeight; ky++) {
          const y = oy * strideHeight - padTop + ky;
          const rowInside = y >= 0 && y < height;
          for (let kx = 0; kx < kernelWidth; kx++) {
            const column = ox * strideWidth - padLeft + kx;
            if (rowInside && column >= 0 && column < width) {
              addFloats(dx + ((<usize>((n * height + y) * width + column) * <usize>channels) << 2), src, channels);
            }
            src += tapBytes;
          }
        }
      }
    }
  }
}

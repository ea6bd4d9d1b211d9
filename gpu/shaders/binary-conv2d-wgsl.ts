import { GEMM_K_STEP, gemmTileWgsl, XOR_POPCOUNT_ACCUMULATE } from './gemm-tile-wgsl.js';

/**
 * WGSL for binary 2-D convolution over packed NHWC signs, as an implicit GEMM
 * on the tile skeleton of gemm-tile-wgsl.ts:
 *   out[N*OH*OW, O] (i32) = KH*KW*C - 2 * sum_w countOneBits(patch[pixel, w] ^ weights[o, w])
 * with input u32 [N, H, W, CW], weights u32 [O, KH, KW, CW], CW = ceil(C/32).
 * A filter row is already the GEMM's B row of KH*KW*CW words, and the output
 * [N, OH, OW, O] is the GEMM's [pixels, O]. The A row of a pixel is its
 * receptive field, read in place (im2col addressing in load_a, never
 * materialized): word w is channel word w % CW of tap w / CW.
 *
 * Padding: a tap outside the image loads as word 0, the packing of +1 on every
 * channel, which is exact for padValue +1. For padValue 0 or -1 the epilogue
 * adds (padValue - 1) * (C - 2 * popcount(filter tap)) per padded tap, turning
 * the +1 contribution into padValue times the tap's weight sum, as the
 * reference does. Only pixels whose window crosses the border pay for it.
 * Channel pad bits are 0 in input and weights, so they add nothing.
 *
 * pad_top and pad_left are those of the rows held in `input`, which the host
 * may cut into bands of image rows; height is the rows held per image.
 */
export const BINARY_CONV2D_WGSL = gemmTileWgsl({
  header: 'out[pixel, o] = KH*KW*C - 2 * sum_w countOneBits(patch[pixel, w] ^ weights[o, w]) + padded-tap correction',
  aPlanes: 1,
  bPlanes: 1,
  kStep: GEMM_K_STEP,
  params: `  // KH * KW * C: the true length of each dot product.
  k: u32,
  channels: u32,
  channel_words: u32,
  height: u32,
  width: u32,
  out_height: u32,
  out_width: u32,
  kernel_height: u32,
  kernel_width: u32,
  stride_height: u32,
  stride_width: u32,
  pad_top: u32,
  pad_left: u32,
  // Value of a padded tap: 1, 0 or -1.
  pad_value: i32,`,
  reads: ['input: array<u32>', 'weights: array<u32>'],
  output: 'out: array<i32>',
  declarations: /* wgsl */ `
// The image of an output pixel and the input coordinates of its window's top-left tap.
struct Window {
  image: u32,
  y: i32,
  x: i32,
}

fn window_of(pixel: u32) -> Window {
  let ox = pixel % params.out_width;
  let oy = (pixel / params.out_width) % params.out_height;
  let image = pixel / (params.out_width * params.out_height);
  return Window(image, i32(oy * params.stride_height) - i32(params.pad_top), i32(ox * params.stride_width) - i32(params.pad_left));
}

fn inside_image(y: i32, x: i32) -> bool {
  return y >= 0 && y < i32(params.height) && x >= 0 && x < i32(params.width);
}

// C - 2 * popcount of the filter's tap: the sum of its C weight signs.
fn tap_weight_sum(column: u32, tap: u32) -> i32 {
  let first_word = column * params.words_per_row + tap * params.channel_words;
  var negative = 0u;
  for (var w = 0u; w < params.channel_words; w++) {
    negative += countOneBits(weights[first_word + w]);
  }
  return i32(params.channels) - 2 * i32(negative);
}
`,
  loadA: /* wgsl */ `fn load_a(pixel: u32, plane: u32, word: u32) -> u32 {
  let window = window_of(pixel);
  let tap = word / params.channel_words;
  let y = window.y + i32(tap / params.kernel_width);
  let x = window.x + i32(tap % params.kernel_width);
  if (!inside_image(y, x)) {
    return 0u;
  }
  return input[((window.image * params.height + u32(y)) * params.width + u32(x)) * params.channel_words + word % params.channel_words];
}`,
  loadB: /* wgsl */ `fn load_b(column: u32, plane: u32, word: u32) -> u32 {
  return weights[column * params.words_per_row + word];
}`,
  accumulate: XOR_POPCOUNT_ACCUMULATE,
  epilogue: /* wgsl */ `
  for (var r = 0u; r < BLOCK; r++) {
    let pixel = row_base + local_id.y + r * WORKGROUP_SIDE;
    if (pixel >= params.m) {
      continue;
    }

    // Padded taps were counted as +1 inputs; move each to pad_value.
    var correction = vec4<i32>(0);
    let window = window_of(pixel);
    let window_inside = inside_image(window.y, window.x) &&
      inside_image(window.y + i32(params.kernel_height) - 1, window.x + i32(params.kernel_width) - 1);
    if (params.pad_value != 1 && !window_inside) {
      for (var tap = 0u; tap < params.kernel_height * params.kernel_width; tap++) {
        if (inside_image(window.y + i32(tap / params.kernel_width), window.x + i32(tap % params.kernel_width))) {
          continue;
        }
        for (var c = 0u; c < BLOCK; c++) {
          let column = column_base + local_id.x + c * WORKGROUP_SIDE;
          if (column < params.n) {
            correction[c] += tap_weight_sum(column, tap);
          }
        }
      }
    }

    let values = vec4<i32>(i32(params.k)) - 2 * vec4<i32>(acc[r]) + (params.pad_value - 1) * correction;
    for (var c = 0u; c < BLOCK; c++) {
      let column = column_base + local_id.x + c * WORKGROUP_SIDE;
      if (column < params.n) {
        out[pixel * params.n + column] = values[c];
      }
    }
  }`,
});

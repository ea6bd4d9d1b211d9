import { FLAT_INDEX_WGSL, FLAT_WORKGROUP_SIZE } from './flat-grid-wgsl.js';

/**
 * WGSL for threshold-and-pack: acc i32 [rows, cols] -> words u32 [rows, ceil(cols/32)].
 *
 * Column c is +1 (bit 0) when acc >= thresholds[c] for directions[c] >= 0,
 * and when acc <= thresholds[c] for directions[c] < 0 (a batch norm with
 * negative gamma flips the comparison); otherwise its bit is 1 (-1). Column c
 * goes to bit (c mod 32) of word floor(c / 32); pad bits past cols stay 0.
 * The host widens the Int8Array directions to i32, since WGSL storage has no i8.
 *
 * One invocation writes one word, on the flat grid of flat-grid-wgsl.ts.
 */

/** The sign rule shared with the fused binary GEMM; needs `thresholds` and `directions` bindings of array<i32>. */
export const THRESHOLD_BIT_WGSL = /* wgsl */ `
// 1 (the packed -1) unless accumulator value passes the threshold of its column.
fn threshold_bit(value: i32, column: u32) -> u32 {
  let threshold = thresholds[column];
  let positive = select(value <= threshold, value >= threshold, directions[column] >= 0);
  return select(1u, 0u, positive);
}
`;

export const THRESHOLD_PACK_WGSL = /* wgsl */ `
// words[r, w] bit j = threshold_bit(acc[r, 32*w + j], 32*w + j), for 32*w + j < cols; pad bits are 0.
struct Params {
  rows: u32,
  cols: u32,
  words_per_row: u32,
  first_item: u32,
  end_item: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> acc: array<i32>;
@group(0) @binding(2) var<storage, read> thresholds: array<i32>;
@group(0) @binding(3) var<storage, read> directions: array<i32>;
@group(0) @binding(4) var<storage, read_write> words: array<u32>;
${FLAT_INDEX_WGSL}${THRESHOLD_BIT_WGSL}
@compute @workgroup_size(${FLAT_WORKGROUP_SIZE})
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) num_workgroups: vec3<u32>,
  @builtin(local_invocation_index) local_index: u32,
) {
  let word_index = flat_index(workgroup_id, num_workgroups, local_index);
  if (word_index >= params.end_item) {
    return;
  }

  let row = word_index / params.words_per_row;
  let first_column = (word_index % params.words_per_row) * 32u;
  let valid_bits = min(32u, params.cols - first_column);
  let row_start = row * params.cols;

  var packed = 0u;
  for (var bit = 0u; bit < valid_bits; bit++) {
    packed |= threshold_bit(acc[row_start + first_column + bit], first_column + bit) << bit;
  }

  words[word_index] = packed;
}
`;

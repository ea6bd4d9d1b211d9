/**
 * WGSL for sign-and-pack: x f32 [rows, K] -> words u32 [rows, ceil(K/32)].
 *
 * Element i of a row goes to bit (i mod 32) of word floor(i / 32), words are
 * little-endian u32, and a bit is 1 only for x < 0 (meaning -1). So -0.0 and
 * +0.0 pack as +1, and the pad bits past K stay 0. WGSL lets implementations
 * assume no NaN, so the bit for a NaN input is unspecified. The kernel compares
 * with `< 0.0` on purpose: reading the IEEE sign bit would turn -0.0 into -1.
 *
 * One invocation writes one word. The flat word index is spread over the x
 * and y dispatch dimensions so that more than maxComputeWorkgroupsPerDimension
 * workgroups fit in one dispatch.
 */
export const PACK_SIGNS_WORKGROUP_SIZE = 64;

export const PACK_SIGNS_WGSL = /* wgsl */ `
// words[r, w] bit j = (x[r, 32*w + j] < 0.0), for 32*w + j < K; pad bits are 0.
struct Params {
  rows: u32,
  k: u32,
  words_per_row: u32,
  total_words: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> words: array<u32>;

@compute @workgroup_size(${PACK_SIGNS_WORKGROUP_SIZE})
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) num_workgroups: vec3<u32>,
  @builtin(local_invocation_index) local_index: u32,
) {
  let word_index = (workgroup_id.y * num_workgroups.x + workgroup_id.x) * ${PACK_SIGNS_WORKGROUP_SIZE}u + local_index;
  if (word_index >= params.total_words) {
    return;
  }

  let row = word_index / params.words_per_row;
  let word_in_row = word_index % params.words_per_row;
  let first_element = word_in_row * 32u;
  let valid_bits = min(32u, params.k - first_element);
  let row_start = row * params.k;

  var packed = 0u;
  for (var bit = 0u; bit < valid_bits; bit++) {
    if (x[row_start + first_element + bit] < 0.0) {
      packed |= 1u << bit;
    }
  }

  words[word_index] = packed;
}
`;

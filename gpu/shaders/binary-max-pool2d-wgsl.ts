import { FLAT_INDEX_WGSL, FLAT_WORKGROUP_SIZE } from './flat-grid-wgsl.js';

/**
 * WGSL for binary max-pooling over packed NHWC signs, VALID windows:
 *   out[n, oy, ox, w] = AND over py < PH, px < PW of input[n, oy*SH + py, ox*SW + px, w]
 * with input u32 [N, H, W, CW] and out u32 [N, OH, OW, CW], CW = ceil(C/32).
 * The max of signs is +1 (bit 0) as soon as one input is +1, so a bit stays 1
 * (-1) only when it is 1 in every word of the window: the AND. Pad bits are 0
 * in every input word, so they stay 0.
 *
 * One invocation writes one output word, on the flat grid of flat-grid-wgsl.ts.
 * height is the rows held per image, which the host may cut into bands.
 */
export const BINARY_MAX_POOL2D_WGSL = /* wgsl */ `
// out[n, oy, ox, w] = AND of input[n, oy*SH + py, ox*SW + px, w] over the window.
struct Params {
  channel_words: u32,
  height: u32,
  width: u32,
  out_height: u32,
  out_width: u32,
  pool_height: u32,
  pool_width: u32,
  stride_height: u32,
  stride_width: u32,
  first_item: u32,
  end_item: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
${FLAT_INDEX_WGSL}
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

  let word = word_index % params.channel_words;
  let pixel = word_index / params.channel_words;
  let ox = pixel % params.out_width;
  let oy = (pixel / params.out_width) % params.out_height;
  let image = pixel / (params.out_width * params.out_height);

  var packed = 0xffffffffu;
  for (var py = 0u; py < params.pool_height; py++) {
    let y = oy * params.stride_height + py;
    for (var px = 0u; px < params.pool_width; px++) {
      let x = ox * params.stride_width + px;
      packed &= input[((image * params.height + y) * params.width + x) * params.channel_words + word];
    }
  }

  out[word_index] = packed;
}
`;

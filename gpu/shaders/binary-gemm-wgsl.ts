/**
 * WGSL for the tiled binary GEMM:
 *   out[m, n] = K - 2 * sum_w countOneBits(a[m, w] ^ b[n, w])
 * with a u32 [M, W], b u32 [N, W], W = ceil(K/32) and out i32 [M, N].
 *
 * Packed signs are little-endian u32 words, element i in bit (i mod 32) of
 * word floor(i / 32), bit 1 = -1, and pad bits are 0 in both operands, so
 * the XOR of the pad bits is 0 and needs no mask.
 *
 * Each 16x16 workgroup computes a 16x16 block of outputs and walks K in steps
 * of 16 words. In each step every invocation loads one word of the A tile and
 * one of the B tile into workgroup memory. Rows or words outside the operands
 * load as 0, which adds nothing to the popcount.
 */
export const GEMM_TILE = 16;

export const BINARY_GEMM_WGSL = /* wgsl */ `
// out[m, n] = K - 2 * sum_w countOneBits(a[m, w] ^ b[n, w]); tile ${GEMM_TILE}x${GEMM_TILE} outputs, ${GEMM_TILE} words per K step.
const TILE: u32 = ${GEMM_TILE}u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  words_per_row: u32,
  // Offsets in workgroups, for dispatches split at maxComputeWorkgroupsPerDimension.
  row_tile_offset: u32,
  column_tile_offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;

var<workgroup> a_tile: array<array<u32, ${GEMM_TILE}>, ${GEMM_TILE}>;
var<workgroup> b_tile: array<array<u32, ${GEMM_TILE}>, ${GEMM_TILE}>;

@compute @workgroup_size(${GEMM_TILE}, ${GEMM_TILE})
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(local_invocation_id) local_id: vec3<u32>,
) {
  let row_base = (workgroup_id.y + params.row_tile_offset) * TILE;
  let column_base = (workgroup_id.x + params.column_tile_offset) * TILE;
  let row = row_base + local_id.y;
  let column = column_base + local_id.x;

  // Rows of b that this invocation loads: the tile's columns, indexed by local_id.y.
  let load_a_row = row_base + local_id.y;
  let load_b_row = column_base + local_id.y;

  // No early return here: every invocation must reach the barriers, so
  // out-of-range invocations load zeros and only skip the store.
  var differing = 0u;
  for (var word_base = 0u; word_base < params.words_per_row; word_base += TILE) {
    let word = word_base + local_id.x;

    var a_word = 0u;
    if (load_a_row < params.m && word < params.words_per_row) {
      a_word = a[load_a_row * params.words_per_row + word];
    }
    var b_word = 0u;
    if (load_b_row < params.n && word < params.words_per_row) {
      b_word = b[load_b_row * params.words_per_row + word];
    }
    a_tile[local_id.y][local_id.x] = a_word;
    b_tile[local_id.y][local_id.x] = b_word;
    workgroupBarrier();

    for (var i = 0u; i < TILE; i++) {
      differing += countOneBits(a_tile[local_id.y][i] ^ b_tile[local_id.x][i]);
    }
    workgroupBarrier();
  }

  if (row < params.m && column < params.n) {
    out[row * params.n + column] = i32(params.k) - 2 * i32(differing);
  }
}
`;

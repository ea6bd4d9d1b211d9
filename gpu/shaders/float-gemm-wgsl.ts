/**
 * WGSL for the tiled float32 GEMM:
 *   out[m, n] = sum_p opA(a)[m, p] * opB(b)[p, n]
 * with opA(a) = a [M, K], or the transpose of a stored as [K, M] when
 * transpose_a is set, and opB(b) = b [K, N], or the transpose of b stored as
 * [N, K] when transpose_b is set. All operands are row-major f32.
 *
 * Each 8x8 workgroup computes a 32x32 block of outputs, 4x4 per invocation
 * held in registers, and walks K in steps of 16. In each step the 64
 * invocations load a 32x16 tile of opA(a) and a 16x32 tile of opB(b) into
 * workgroup memory, 8 elements of each per invocation. Elements outside the
 * operands load as 0, which adds nothing to the sum. Register blocking keeps
 * the barrier count low, which matters on SwiftShader, where every barrier
 * switches between the invocations of a workgroup in software.
 *
 * Each output is summed in float32 in increasing p, so results differ from a
 * float64 reference by rounding, and the compiler may contract the
 * multiply-add into an FMA.
 */
export const FLOAT_GEMM_TILE = 32;
const K_STEP = 16;
const WORKGROUP_SIDE = 8;
const OUTPUTS_PER_SIDE = FLOAT_GEMM_TILE / WORKGROUP_SIDE;
const LOADS_PER_INVOCATION = (FLOAT_GEMM_TILE * K_STEP) / (WORKGROUP_SIDE * WORKGROUP_SIDE);

export const FLOAT_GEMM_WGSL = /* wgsl */ `
// out[m, n] = sum_p opA(a)[m, p] * opB(b)[p, n]; ${FLOAT_GEMM_TILE}x${FLOAT_GEMM_TILE} outputs per workgroup, ${OUTPUTS_PER_SIDE}x${OUTPUTS_PER_SIDE} per invocation, ${K_STEP} elements per K step.
const TILE: u32 = ${FLOAT_GEMM_TILE}u;
const K_STEP: u32 = ${K_STEP}u;
const SIDE: u32 = ${WORKGROUP_SIDE}u;
const OUTPUTS: u32 = ${OUTPUTS_PER_SIDE}u;
const LOADS: u32 = ${LOADS_PER_INVOCATION}u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  transpose_a: u32,
  transpose_b: u32,
  // Offsets in workgroups, for dispatches split at maxComputeWorkgroupsPerDimension.
  row_tile_offset: u32,
  column_tile_offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> a_tile: array<array<f32, ${K_STEP}>, ${FLOAT_GEMM_TILE}>;
var<workgroup> b_tile: array<array<f32, ${FLOAT_GEMM_TILE}>, ${K_STEP}>;

fn load_a(row: u32, p: u32) -> f32 {
  if (row >= params.m || p >= params.k) {
    return 0.0;
  }
  if (params.transpose_a != 0u) {
    return a[p * params.m + row];
  }
  return a[row * params.k + p];
}

fn load_b(p: u32, column: u32) -> f32 {
  if (p >= params.k || column >= params.n) {
    return 0.0;
  }
  if (params.transpose_b != 0u) {
    return b[column * params.k + p];
  }
  return b[p * params.n + column];
}

@compute @workgroup_size(${WORKGROUP_SIDE}, ${WORKGROUP_SIDE})
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(local_invocation_id) local_id: vec3<u32>,
  @builtin(local_invocation_index) local_index: u32,
) {
  let row_base = (workgroup_id.y + params.row_tile_offset) * TILE;
  let column_base = (workgroup_id.x + params.column_tile_offset) * TILE;
  let thread_row = local_id.y * OUTPUTS;
  let thread_column = local_id.x * OUTPUTS;

  // No early return here: every invocation must reach the barriers, so
  // out-of-range invocations load zeros and only skip the store.
  var sums: array<f32, ${OUTPUTS_PER_SIDE * OUTPUTS_PER_SIDE}>;
  for (var p_base = 0u; p_base < params.k; p_base += K_STEP) {
    for (var load = 0u; load < LOADS; load++) {
      let element = local_index + load * SIDE * SIDE;
      let tile_row = element / K_STEP;
      let tile_p = element % K_STEP;
      a_tile[tile_row][tile_p] = load_a(row_base + tile_row, p_base + tile_p);
      let b_p = element / TILE;
      let b_column = element % TILE;
      b_tile[b_p][b_column] = load_b(p_base + b_p, column_base + b_column);
    }
    workgroupBarrier();

    for (var p = 0u; p < K_STEP; p++) {
      var a_values: array<f32, ${OUTPUTS_PER_SIDE}>;
      for (var i = 0u; i < OUTPUTS; i++) {
        a_values[i] = a_tile[thread_row + i][p];
      }
      for (var j = 0u; j < OUTPUTS; j++) {
        let b_value = b_tile[p][thread_column + j];
        for (var i = 0u; i < OUTPUTS; i++) {
          sums[i * OUTPUTS + j] += a_values[i] * b_value;
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < OUTPUTS; i++) {
    let row = row_base + thread_row + i;
    for (var j = 0u; j < OUTPUTS; j++) {
      let column = column_base + thread_column + j;
      if (row < params.m && column < params.n) {
        out[row * params.n + column] = sums[i * OUTPUTS + j];
      }
    }
  }
}
`;

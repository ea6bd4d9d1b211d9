/**
 * WGSL for per-feature sums over the batch:
 *   out[c] = sum_r x[r, c]   with x f32 [rows, columns] and out f32 [columns]
 * One invocation per column adds its rows in increasing r, so the order is
 * fixed and the result repeats from run to run. Batches are small (hundreds
 * of rows), so a column needs no tree reduction.
 */
export const FLOAT_COLUMN_SUM_WORKGROUP_SIZE = 64;

export const FLOAT_COLUMN_SUM_WGSL = /* wgsl */ `
// out[c] = sum_r x[r, c]
struct Params {
  rows: u32,
  columns: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(${FLOAT_COLUMN_SUM_WORKGROUP_SIZE})
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) workgroup_count: vec3<u32>,
  @builtin(local_invocation_index) local_index: u32,
) {
  let column = (workgroup_id.y * workgroup_count.x + workgroup_id.x) * ${FLOAT_COLUMN_SUM_WORKGROUP_SIZE}u + local_index;
  if (column >= params.columns) {
    return;
  }

  var sum = 0.0;
  for (var r = 0u; r < params.rows; r++) {
    sum += x[r * params.columns + column];
  }

  out[column] = sum;
}
`;

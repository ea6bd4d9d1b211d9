/**
 * The flat grid of the element-wise packed kernels (threshold-pack, bit-plane
 * pack, max-pool): one invocation per output item, numbered
 *   index = first_item + (workgroup_id.y * num_workgroups.x + workgroup_id.x) * 64 + local_index
 * and run for first_item <= index < end_item. Spreading the index over x and y
 * fits up to maxComputeWorkgroupsPerDimension^2 workgroups in one dispatch, and
 * first_item lets the host split anything larger into several dispatches.
 * A kernel's Params struct must have `first_item` and `end_item` members.
 */
export const FLAT_WORKGROUP_SIZE = 64;

export const FLAT_INDEX_WGSL = /* wgsl */ `
const FLAT_WORKGROUP_SIZE: u32 = ${FLAT_WORKGROUP_SIZE}u;

fn flat_index(workgroup_id: vec3<u32>, num_workgroups: vec3<u32>, local_index: u32) -> u32 {
  return params.first_item + (workgroup_id.y * num_workgroups.x + workgroup_id.x) * FLAT_WORKGROUP_SIZE + local_index;
}
`;

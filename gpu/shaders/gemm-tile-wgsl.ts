/**
 * The tiled, register-blocked GEMM skeleton that every packed GEMM-shaped
 * kernel is built from: binary GEMM, the fused GEMM + threshold + pack, binary
 * convolution (an implicit GEMM) and the bit-plane GEMM.
 *
 *   acc[m, n] = sum over words w < words_per_row of f(a planes of row m at w, b planes of row n at w)
 *
 * Both operands are rows of u32 words along the reduction axis; a row may hold
 * several planes (the bit-planes of k-bit operands), plane p of row r at word
 * (r * planes + p) * words_per_row + w. A kernel supplies `load_a` and
 * `load_b` (how to fetch one word, e.g. the im2col addressing of a
 * convolution), the accumulation of one word step and the epilogue.
 *
 * Tiling: a 16x16 workgroup owns a 64x64 block of outputs, and each invocation
 * a 4x4 register block of it: rows local_id.y + 16 r and columns
 * local_id.x + 16 c (r, c < 4), so neighbouring invocations write neighbouring
 * columns. K is walked in steps of K_STEP words per plane. In each step the
 * workgroup copies the 64-row slices of A and B into workgroup memory as
 * vec4<u32>: element (word, plane, y) holds rows y, y + 16, y + 32, y + 48,
 * exactly the four an invocation needs, so one load brings a whole block side
 * and the 16 invocations of a row read 16 consecutive vec4s. Every tile word
 * then feeds 4 outputs from registers instead of 1, which is what register
 * blocking buys: 2 shared-memory loads per 16 popcounts instead of 32.
 * Invocations whose whole block lies past m or n still load and meet the
 * barriers but skip the popcounts.
 *
 * Rows, columns and words outside the operands load as 0. The binary kernels
 * count popcount(a ^ b), to which a 0 pair adds nothing; the bit-plane kernel
 * counts popcount(a & b), where a 0 adds nothing either.
 *
 * Workgroup tiles are numbered from row_tile_offset and column_tile_offset,
 * so a grid over maxComputeWorkgroupsPerDimension runs as several dispatches.
 */

/** Invocations per side of a workgroup. */
export const GEMM_WORKGROUP_SIDE = 16;
/** Outputs per side of an invocation's register block (one vec4 per row). */
export const GEMM_BLOCK = 4;
/** Outputs per side of a workgroup's tile: 64, a multiple of 32 so a tile covers whole packed output words. */
export const GEMM_TILE = GEMM_WORKGROUP_SIDE * GEMM_BLOCK;
/**
 * Words of a K step of a single-plane operand: two 64 x 4 word tiles, 2 KiB of workgroup memory.
 * Small on purpose: SwiftShader's pipeline compile time grows with workgroup memory (about 2.5 s
 * per 4 KiB), and a small footprint leaves room for more workgroups per GPU core.
 */
export const GEMM_K_STEP = 4;
/** Members every tile kernel's Params struct starts with, in this order. */
export const GEMM_TILE_PARAMS = 5;

/** The parts of a tile kernel; each string is WGSL spliced into the skeleton at its place. */
export interface GemmTileKernel {
  /** One comment line stating the kernel's math. */
  header: string;
  /** Planes per row of A and of B (1 for sign operands). */
  aPlanes: number;
  bPlanes: number;
  /** Words per plane loaded in one K step; a tile holds at most max(GEMM_K_STEP, planes) words per row. */
  kStep: number;
  /** Params members after the shared five, e.g. `k: u32,` lines. */
  params: string;
  /** Read-only storage bindings, e.g. `a: array<u32>`, bound from @binding(1) on. */
  reads: string[];
  /** The read-write output binding, bound last, e.g. `out: array<i32>`. */
  output: string;
  /** Extra module-scope declarations: workgroup variables and helper functions. */
  declarations: string;
  /** `fn load_a(row: u32, plane: u32, word: u32) -> u32`, called only for row < m and word < words_per_row. */
  loadA: string;
  /** `fn load_b(column: u32, plane: u32, word: u32) -> u32`, called only for column < n and word < words_per_row. */
  loadB: string;
  /** Statements before the K loop, e.g. extra accumulators. `acc` is declared already. */
  setup?: string;
  /** Statements run for each `word` of a K step; they read the tiles with a_tile_rows and b_tile_columns and update acc. */
  accumulate: string;
  /** Statements after the K loop; they run in uniform control flow and may use barriers. */
  epilogue: string;
}

/** Accumulation of one word step for sign operands: acc[r][c] += popcount(a ^ b). */
export const XOR_POPCOUNT_ACCUMULATE = /* wgsl */ `
        let rows = a_tile_rows(word, 0u, local_id.y);
        let columns = b_tile_columns(word, 0u, local_id.x);
        for (var r = 0u; r < BLOCK; r++) {
          acc[r] += countOneBits(vec4<u32>(rows[r]) ^ columns);
        }`;

/** Builds the WGSL of one tile kernel around the shared skeleton. */
export function gemmTileWgsl(kernel: GemmTileKernel): string {
  const aSlots = GEMM_TILE * kernel.aPlanes * kernel.kStep;
  const bSlots = GEMM_TILE * kernel.bPlanes * kernel.kStep;
  const maxSlots = GEMM_TILE * Math.max(GEMM_K_STEP, kernel.aPlanes, kernel.bPlanes);
  if (aSlots > maxSlots || bSlots > maxSlots) {
    throw new Error(`gemmTileWgsl: ${kernel.aPlanes} and ${kernel.bPlanes} planes of ${kernel.kStep} words overflow the tile`);
  }
  const reads = kernel.reads.map((declaration, i) => `@group(0) @binding(${i + 1}) var<storage, read> ${declaration};`).join('\n');
  const output = `@group(0) @binding(${kernel.reads.length + 1}) var<storage, read_write> ${kernel.output};`;

  return /* wgsl */ `
// ${kernel.header}
// Tile ${GEMM_TILE}x${GEMM_TILE} outputs per workgroup, ${GEMM_BLOCK}x${GEMM_BLOCK} per invocation, ${kernel.kStep} words per plane per K step.
const WORKGROUP_SIDE: u32 = ${GEMM_WORKGROUP_SIDE}u;
const INVOCATIONS: u32 = ${GEMM_WORKGROUP_SIDE * GEMM_WORKGROUP_SIDE}u;
const BLOCK: u32 = ${GEMM_BLOCK}u;
const TILE: u32 = ${GEMM_TILE}u;
const K_STEP: u32 = ${kernel.kStep}u;
const A_PLANES: u32 = ${kernel.aPlanes}u;
const B_PLANES: u32 = ${kernel.bPlanes}u;
const A_SLOTS: u32 = ${aSlots}u;
const B_SLOTS: u32 = ${bSlots}u;

struct Params {
  m: u32,
  n: u32,
  // Words per plane of a row of A and of B.
  words_per_row: u32,
  // Offsets in workgroups, for dispatches split at maxComputeWorkgroupsPerDimension.
  row_tile_offset: u32,
  column_tile_offset: u32,
${kernel.params}
}

@group(0) @binding(0) var<uniform> params: Params;
${reads}
${output}

// Tile row r of plane p at word w: component r / 16 of element (w * PLANES + p) * 16 + r % 16.
var<workgroup> a_tile: array<vec4<u32>, A_SLOTS / BLOCK>;
var<workgroup> b_tile: array<vec4<u32>, B_SLOTS / BLOCK>;
${kernel.declarations}
${kernel.loadA}
${kernel.loadB}

// The words of the four rows y, y + 16, y + 32 and y + 48 of an invocation's block.
fn a_tile_rows(word: u32, plane: u32, y: u32) -> vec4<u32> {
  return a_tile[(word * A_PLANES + plane) * WORKGROUP_SIDE + y];
}

// The words of the four columns x, x + 16, x + 32 and x + 48 of an invocation's block.
fn b_tile_columns(word: u32, plane: u32, x: u32) -> vec4<u32> {
  return b_tile[(word * B_PLANES + plane) * WORKGROUP_SIDE + x];
}

@compute @workgroup_size(${GEMM_WORKGROUP_SIDE}, ${GEMM_WORKGROUP_SIDE})
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(local_invocation_id) local_id: vec3<u32>,
  @builtin(local_invocation_index) local_index: u32,
) {
  let row_base = (workgroup_id.y + params.row_tile_offset) * TILE;
  let column_base = (workgroup_id.x + params.column_tile_offset) * TILE;
  // acc[r][c]: row row_base + local_id.y + 16 r, column column_base + local_id.x + 16 c.
  var acc: array<vec4<u32>, BLOCK>;
  // The block's first row and column are its smallest, so this says whether any output of it exists.
  let block_in_range = row_base + local_id.y < params.m && column_base + local_id.x < params.n;
${kernel.setup === undefined ? '' : `${kernel.setup}\n`}
  // No early return: every invocation must reach the barriers, so tiles past
  // the operands load zeros and the epilogue skips their stores.
  for (var word_base = 0u; word_base < params.words_per_row; word_base += K_STEP) {
    for (var slot = local_index; slot < A_SLOTS; slot += INVOCATIONS) {
      let word = slot % K_STEP;
      let plane = (slot / K_STEP) % A_PLANES;
      let row = slot / (K_STEP * A_PLANES);
      var value = 0u;
      if (row_base + row < params.m && word_base + word < params.words_per_row) {
        value = load_a(row_base + row, plane, word_base + word);
      }
      a_tile[(word * A_PLANES + plane) * WORKGROUP_SIDE + row % WORKGROUP_SIDE][row / WORKGROUP_SIDE] = value;
    }
    for (var slot = local_index; slot < B_SLOTS; slot += INVOCATIONS) {
      let word = slot % K_STEP;
      let plane = (slot / K_STEP) % B_PLANES;
      let column = slot / (K_STEP * B_PLANES);
      var value = 0u;
      if (column_base + column < params.n && word_base + word < params.words_per_row) {
        value = load_b(column_base + column, plane, word_base + word);
      }
      b_tile[(word * B_PLANES + plane) * WORKGROUP_SIDE + column % WORKGROUP_SIDE][column / WORKGROUP_SIDE] = value;
    }
    workgroupBarrier();

    if (block_in_range) {
      for (var word = 0u; word < K_STEP; word++) {${kernel.accumulate}
      }
    }
    workgroupBarrier();
  }
${kernel.epilogue}
}
`;
}

import { FLAT_INDEX_WGSL, FLAT_WORKGROUP_SIZE } from './flat-grid-wgsl.js';
import { GEMM_K_STEP, gemmTileWgsl } from './gemm-tile-wgsl.js';

/**
 * WGSL for the bit-plane GEMM of k-bit unsigned activations against k-bit
 * signed weights, in two passes.
 *
 * Pass 1, bit-plane pack: x uint8 [M, K] -> planes u32 [M, P, W], W = ceil(K/32),
 * P = activationBits: bit i of word w of plane p is bit p of x[m, 32*w + i];
 * pad bits are 0. WGSL storage has no u8, so x is bound as array<u32> with 4
 * bytes per word, little-endian (the host pads the upload to a whole word),
 * and byte j is (x[j / 4] >> (8 * (j % 4))) & 0xff.
 *
 * Pass 2, GEMM on the tile skeleton of gemm-tile-wgsl.ts with P planes per row
 * of A and Q = weightBits sign planes per row of B (w u32 [N, Q, W], bit 1 =
 * -1). With x = sum_p 2^p x_p and w = sum_q 2^q (1 - 2 s_q):
 *   out[m, n] = (2^Q - 1) * sum_i x[m, i] - 2 * sum_{p,q} 2^(p+q) * popcount(x_p & s_q)
 * where sum_i x[m, i] = sum_p 2^p popcount(x_p) is counted from the same tile
 * words. The sums run in u32; they wrap, but the result is exact modulo 2^32,
 * and the callers check that |out| fits in i32 (or, for 8-bit bitplaneGemm,
 * wrap exactly as the reference's Int32Array store does).
 *
 * Why a first pass rather than building planes on the fly in the tile loader:
 * one plane word is a bit transpose of 32 bytes, and each of the ceil(N/64)
 * column tiles would redo it for the same rows, at about the cost of the
 * popcounts it feeds. The pass does it once per element and writes
 * M * P * W words, no more than the bytes of x, and the GEMM then loads its
 * A tile like any other packed operand.
 */

/** Pass 1 for `planes` = activationBits planes; one invocation per (row, word) writes that word of every plane. */
export function bitplanePackWgsl(planes: number): string {
  return /* wgsl */ `
// planes[(m * PLANES + p) * W + w] bit i = bit p of x[m, 32*w + i], for 32*w + i < k; pad bits are 0.
const PLANES: u32 = ${planes}u;

struct Params {
  rows: u32,
  k: u32,
  words_per_row: u32,
  first_item: u32,
  end_item: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> planes: array<u32>;
${FLAT_INDEX_WGSL}
fn x_byte(index: u32) -> u32 {
  return (x[index / 4u] >> ((index % 4u) * 8u)) & 0xffu;
}

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
  let word = word_index % params.words_per_row;
  let first_element = row * params.k + word * 32u;
  let valid_bits = min(32u, params.k - word * 32u);

  var plane_words: array<u32, PLANES>;
  for (var bit = 0u; bit < valid_bits; bit++) {
    let value = x_byte(first_element + bit);
    for (var p = 0u; p < PLANES; p++) {
      plane_words[p] |= ((value >> p) & 1u) << bit;
    }
  }

  for (var p = 0u; p < PLANES; p++) {
    planes[(row * PLANES + p) * params.words_per_row + word] = plane_words[p];
  }
}
`;
}

/** Words per plane in a K step: as many as fit GEMM_K_STEP words per tile row, and at least 1. */
export function bitplaneKStep(activationBits: number, weightBits: number): number {
  return Math.max(1, Math.floor(GEMM_K_STEP / Math.max(activationBits, weightBits)));
}

/** Pass 2 for activationBits planes of x against weightBits sign planes of w. */
export function bitplaneGemmWgsl(activationBits: number, weightBits: number): string {
  return gemmTileWgsl({
    header: 'out[m, n] = (2^Q - 1) * sum_p 2^p popcount(x_p) - 2 * sum_{p,q} 2^(p+q) popcount(x_p & s_q)',
    aPlanes: activationBits,
    bPlanes: weightBits,
    kStep: bitplaneKStep(activationBits, weightBits),
    params: '',
    reads: ['planes: array<u32>', 'w: array<u32>'],
    output: 'out: array<i32>',
    declarations: /* wgsl */ `
// sum_q 2^q: the weight whose sign planes are all +1.
const WEIGHT_PLANE_SUM: u32 = ${2 ** weightBits - 1}u;
`,
    loadA: /* wgsl */ `fn load_a(row: u32, plane: u32, word: u32) -> u32 {
  return planes[(row * A_PLANES + plane) * params.words_per_row + word];
}`,
    loadB: /* wgsl */ `fn load_b(column: u32, plane: u32, word: u32) -> u32 {
  return w[(column * B_PLANES + plane) * params.words_per_row + word];
}`,
    setup: `  // row_sum[r] = sum_i x[row, i] of block row r.
  var row_sum: array<u32, BLOCK>;`,
    accumulate: /* wgsl */ `
        var columns: array<vec4<u32>, B_PLANES>;
        for (var q = 0u; q < B_PLANES; q++) {
          columns[q] = b_tile_columns(word, q, local_id.x);
        }
        for (var p = 0u; p < A_PLANES; p++) {
          let rows = a_tile_rows(word, p, local_id.y);
          for (var r = 0u; r < BLOCK; r++) {
            row_sum[r] += countOneBits(rows[r]) << p;
            for (var q = 0u; q < B_PLANES; q++) {
              acc[r] += countOneBits(vec4<u32>(rows[r]) & columns[q]) << vec4<u32>(p + q);
            }
          }
        }`,
    epilogue: /* wgsl */ `
  for (var r = 0u; r < BLOCK; r++) {
    let row = row_base + local_id.y + r * WORKGROUP_SIDE;
    for (var c = 0u; c < BLOCK; c++) {
      let column = column_base + local_id.x + c * WORKGROUP_SIDE;
      if (row < params.m && column < params.n) {
        out[row * params.n + column] = bitcast<i32>(row_sum[r] * WEIGHT_PLANE_SUM - 2u * acc[r][c]);
      }
    }
  }`,
  });
}

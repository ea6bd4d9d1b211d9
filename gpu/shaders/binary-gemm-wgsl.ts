import { GEMM_K_STEP, GEMM_TILE, gemmTileWgsl, XOR_POPCOUNT_ACCUMULATE } from './gemm-tile-wgsl.js';
import { THRESHOLD_BIT_WGSL } from './threshold-pack-wgsl.js';

/**
 * WGSL for the binary GEMM and its fused threshold-and-pack form, both on the
 * shared tile skeleton of gemm-tile-wgsl.ts (64x64 outputs per workgroup, 4x4
 * per invocation):
 *   out[m, n] = K - 2 * sum_w countOneBits(a[m, w] ^ b[n, w])
 * with a u32 [M, W], b u32 [N, W], W = ceil(K/32) and out i32 [M, N].
 *
 * Packed signs are little-endian u32 words, element i in bit (i mod 32) of
 * word floor(i / 32), bit 1 = -1, and pad bits are 0 in both operands, so
 * the XOR of the pad bits is 0 and needs no mask.
 *
 * The fused kernel never writes the accumulators: each invocation turns its
 * 4x4 block into sign bits with the rule of threshold-pack-wgsl.ts and ORs
 * them into the workgroup's 64 rows x 2 words (a tile's 64 columns start at a
 * multiple of 32, so they are exactly two output words), which one invocation
 * per word then stores: out u32 [M, ceil(N/32)].
 */

const SIGN_OPERANDS = {
  aPlanes: 1,
  bPlanes: 1,
  kStep: GEMM_K_STEP,
  params: `  // The true number of signs per row: the dot product is k - 2 * popcount.
  k: u32,`,
  loadA: /* wgsl */ `fn load_a(row: u32, plane: u32, word: u32) -> u32 {
  return a[row * params.words_per_row + word];
}`,
  loadB: /* wgsl */ `fn load_b(column: u32, plane: u32, word: u32) -> u32 {
  return b[column * params.words_per_row + word];
}`,
  accumulate: XOR_POPCOUNT_ACCUMULATE,
};

export const BINARY_GEMM_WGSL = gemmTileWgsl({
  ...SIGN_OPERANDS,
  header: 'out[m, n] = K - 2 * sum_w countOneBits(a[m, w] ^ b[n, w])',
  reads: ['a: array<u32>', 'b: array<u32>'],
  output: 'out: array<i32>',
  declarations: '',
  epilogue: /* wgsl */ `
  for (var r = 0u; r < BLOCK; r++) {
    let row = row_base + local_id.y + r * WORKGROUP_SIDE;
    for (var c = 0u; c < BLOCK; c++) {
      let column = column_base + local_id.x + c * WORKGROUP_SIDE;
      if (row < params.m && column < params.n) {
        out[row * params.n + column] = i32(params.k) - 2 * i32(acc[r][c]);
      }
    }
  }`,
});

const WORDS_PER_TILE_ROW = GEMM_TILE / 32;

export const BINARY_GEMM_THRESHOLD_PACK_WGSL = gemmTileWgsl({
  ...SIGN_OPERANDS,
  header: 'out[m, n / 32] bit n % 32 = threshold_bit(K - 2 * sum_w countOneBits(a[m, w] ^ b[n, w]), n)',
  params: `${SIGN_OPERANDS.params}
  // Words per output row: ceil(n / 32).
  out_words: u32,`,
  reads: ['a: array<u32>', 'b: array<u32>', 'thresholds: array<i32>', 'directions: array<i32>'],
  output: 'out: array<u32>',
  declarations: /* wgsl */ `
const WORDS_PER_TILE_ROW: u32 = ${WORDS_PER_TILE_ROW}u;

// The tile's output bits, row-major; workgroup memory starts zeroed.
var<workgroup> packed_tile: array<atomic<u32>, ${GEMM_TILE * WORDS_PER_TILE_ROW}>;
${THRESHOLD_BIT_WGSL}`,
  epilogue: /* wgsl */ `
  for (var r = 0u; r < BLOCK; r++) {
    let tile_row = local_id.y + r * WORKGROUP_SIDE;
    let row = row_base + tile_row;
    for (var c = 0u; c < BLOCK; c++) {
      let tile_column = local_id.x + c * WORKGROUP_SIDE;
      let column = column_base + tile_column;
      if (row < params.m && column < params.n && threshold_bit(i32(params.k) - 2 * i32(acc[r][c]), column) != 0u) {
        atomicOr(&packed_tile[tile_row * WORDS_PER_TILE_ROW + tile_column / 32u], 1u << (tile_column % 32u));
      }
    }
  }
  workgroupBarrier();

  if (local_index < TILE * WORDS_PER_TILE_ROW) {
    let row = row_base + local_index / WORDS_PER_TILE_ROW;
    let word = column_base / 32u + local_index % WORDS_PER_TILE_ROW;
    if (row < params.m && word < params.out_words) {
      out[row * params.out_words + word] = atomicLoad(&packed_tile[local_index]);
    }
  }`,
});

/**
 * Float GEMM, f32 row-major:
 *
 *   c[M,N] = op(a)[M,K] · op(b)[K,N]
 *   op(a) = a stored [M,K], or a^T with a stored [K,M] when transposeA
 *   op(b) = b stored [K,N], or b^T with b stored [N,K] when transposeB
 *
 * Both operands are first copied into contiguous panels, so one micro-kernel
 * serves all four transpose combinations.
 *   A panels: ceil(M / MR) panels of [K][MR] floats, rows past M zero-filled.
 *   B panels: ceil(N / NR) panels of [K][NR] floats, columns past N zero-filled.
 * The micro-kernel keeps an MR x NR tile of c in registers. It walks K once
 * and does one rank-1 update per step. The outer loop takes one B panel
 * (K * NR * 4 bytes, 25 KB for K = 784 in the SIMD build) and runs every A
 * panel against it, so the B panel is reused from cache.
 * Limitation: K is not blocked, so for K of a few thousand the B panel no
 * longer fits a 32 KB L1 data cache and throughput drops.
 *
 * SIMD build: MR = 4, NR = 8, eight f32x4 accumulators, a broadcast with
 * v128.load32_splat. WASM SIMD has no fused multiply-add, so each step rounds
 * the product before the sum. Scalar build: MR = 4, NR = 4, sixteen f32 locals.
 *
 * Scratch, from floatGemmScratchBytes: A panels, B panels, then one MR x NR
 * tile used to store edge tiles.
 */

const MR: i32 = 4;
const NR: i32 = ASC_FEATURE_SIMD ? 8 : 4;
const TILE_BYTES: usize = <usize>(MR * NR) << 2;

/** Returns the bytes of ceil(rows / width) panels of [k][width] floats, a multiple of 16 because width is a multiple of 4. */
@inline
function panelsBytes(rows: i32, k: i32, width: i32): usize {
  const panels = (rows + width - 1) / width;
  return (<usize>panels * <usize>width * <usize>k) << 2;
}

/**
 * Returns the scratch bytes floatGemm needs. The result is an f64 so a size
 * past 4 GiB reaches the host intact, where it is rejected, instead of wrapping.
 */
export function floatGemmScratchBytes(m: i32, k: i32, n: i32): f64 {
  const aPanels = Math.ceil(<f64>m / MR) * MR * <f64>k * 4;
  const bPanels = Math.ceil(<f64>n / NR) * NR * <f64>k * 4;
  return aPanels + bPanels + <f64>TILE_BYTES;
}

/**
 * Copies `count` rows of op(x) into panels of [k][width], zero-filling the
 * rows of the last panel past `count`. Row r of op(x) is x[r, 0..k-1] when x
 * is stored [count, k] (transposed = false), or column r of x when x is
 * stored [k, count] (transposed = true).
 */
function packPanels(x: usize, count: i32, k: i32, transposed: bool, width: i32, dst: usize): void {
  const panels = (count + width - 1) / width;
  const widthBytes = <usize>width << 2;

  for (let panel = 0; panel < panels; panel++) {
    const first = panel * width;
    const valid = min(width, count - first);
    const panelDst = dst + <usize>panel * <usize>k * widthBytes;

    if (transposed) {
      // Step p of the panel is a contiguous run of x's row p, so read row by row.
      const stride = <usize>count << 2;
      for (let p = 0; p < k; p++) {
        const src = x + <usize>p * stride + (<usize>first << 2);
        const out = panelDst + <usize>p * widthBytes;
        if (ASC_FEATURE_SIMD && valid == width) {
          for (let r = 0; r < width; r += 4) v128.store(out + (<usize>r << 2), v128.load(src + (<usize>r << 2)));
          continue;
        }
        for (let r = 0; r < valid; r++) {
          store<f32>(out + (<usize>r << 2), load<f32>(src + (<usize>r << 2)));
        }
        for (let r = valid; r < width; r++) {
          store<f32>(out + (<usize>r << 2), 0);
        }
      }
    } else {
      let r = 0;
      if (ASC_FEATURE_SIMD) {
        for (; r + 4 <= valid; r += 4) {
          transposeFourRows(x + ((<usize>(first + r) * <usize>k) << 2), k, panelDst + (<usize>r << 2), widthBytes);
        }
      }
      for (; r < width; r++) {
        const src = x + ((<usize>(first + r) * <usize>k) << 2);
        const out = panelDst + (<usize>r << 2);
        if (r < valid) {
          for (let p = 0; p < k; p++) {
            store<f32>(out + <usize>p * widthBytes, load<f32>(src + (<usize>p << 2)));
          }
        } else {
          for (let p = 0; p < k; p++) {
            store<f32>(out + <usize>p * widthBytes, 0);
          }
        }
      }
    }
  }
}

/**
 * Writes four consecutive rows of a row-major [rows, k] matrix into four lanes
 * of a panel: step p of the panel gets the rows' elements p. The strided
 * scalar copy alone took about a quarter of the float GEMM time when training
 * a ConvNet at batch 50, where each packed weight panel serves only 50 rows.
 * Four steps at a time go through a 4 x 4 transpose in registers (SIMD build only).
 */
@inline
function transposeFourRows(src: usize, k: i32, out: usize, widthBytes: usize): void {
  const rowBytes = <usize>k << 2;
  let p = 0;

  for (; p + 4 <= k; p += 4) {
    const at = src + (<usize>p << 2);
    const row0 = v128.load(at);
    const row1 = v128.load(at + rowBytes);
    const row2 = v128.load(at + 2 * rowBytes);
    const row3 = v128.load(at + 3 * rowBytes);
    const low01 = i32x4.shuffle(row0, row1, 0, 4, 1, 5);
    const low23 = i32x4.shuffle(row2, row3, 0, 4, 1, 5);
    const high01 = i32x4.shuffle(row0, row1, 2, 6, 3, 7);
    const high23 = i32x4.shuffle(row2, row3, 2, 6, 3, 7);
    const dst = out + <usize>p * widthBytes;
    v128.store(dst, i32x4.shuffle(low01, low23, 0, 1, 4, 5));
    v128.store(dst + widthBytes, i32x4.shuffle(low01, low23, 2, 3, 6, 7));
    v128.store(dst + 2 * widthBytes, i32x4.shuffle(high01, high23, 0, 1, 4, 5));
    v128.store(dst + 3 * widthBytes, i32x4.shuffle(high01, high23, 2, 3, 6, 7));
  }

  for (; p < k; p++) {
    const dst = out + <usize>p * widthBytes;
    for (let i = 0; i < 4; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + <usize>i * rowBytes + (<usize>p << 2)));
  }
}

/** Copies the top-left rows x cols corner of an MR x NR tile into c. */
@inline
function storeTileCorner(tile: usize, c: usize, rowStride: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      store<f32>(c + <usize>r * rowStride + (<usize>j << 2), load<f32>(tile + (<usize>(r * NR + j) << 2)));
    }
  }
}

/** Computes c[0..rows-1, 0..cols-1] = A panel · B panel over k steps with MR = 4 and NR = 8 (SIMD build only). */
@inline
function microKernel4x8Simd(
  aPanel: usize,
  bPanel: usize,
  k: i32,
  c: usize,
  rowStride: usize,
  rows: i32,
  cols: i32,
  tile: usize,
): void {
  let acc0x0123 = f32x4.splat(0);
  let acc0x4567 = f32x4.splat(0);
  let acc1x0123 = f32x4.splat(0);
  let acc1x4567 = f32x4.splat(0);
  let acc2x0123 = f32x4.splat(0);
  let acc2x4567 = f32x4.splat(0);
  let acc3x0123 = f32x4.splat(0);
  let acc3x4567 = f32x4.splat(0);
  let ap = aPanel;
  let bp = bPanel;

  for (let p = 0; p < k; p++) {
    const b0123 = v128.load(bp);
    const b4567 = v128.load(bp, 16);
    const a0 = v128.load32_splat(ap);
    const a1 = v128.load32_splat(ap, 4);
    const a2 = v128.load32_splat(ap, 8);
    const a3 = v128.load32_splat(ap, 12);
    acc0x0123 = f32x4.add(acc0x0123, f32x4.mul(a0, b0123));
    acc0x4567 = f32x4.add(acc0x4567, f32x4.mul(a0, b4567));
    acc1x0123 = f32x4.add(acc1x0123, f32x4.mul(a1, b0123));
    acc1x4567 = f32x4.add(acc1x4567, f32x4.mul(a1, b4567));
    acc2x0123 = f32x4.add(acc2x0123, f32x4.mul(a2, b0123));
    acc2x4567 = f32x4.add(acc2x4567, f32x4.mul(a2, b4567));
    acc3x0123 = f32x4.add(acc3x0123, f32x4.mul(a3, b0123));
    acc3x4567 = f32x4.add(acc3x4567, f32x4.mul(a3, b4567));
    ap += 16;
    bp += 32;
  }

  const full = rows == 4 && cols == 8;
  const dst = full ? c : tile;
  const stride = full ? rowStride : 32;
  v128.store(dst, acc0x0123);
  v128.store(dst, acc0x4567, 16);
  v128.store(dst + stride, acc1x0123);
  v128.store(dst + stride, acc1x4567, 16);
  v128.store(dst + 2 * stride, acc2x0123);
  v128.store(dst + 2 * stride, acc2x4567, 16);
  v128.store(dst + 3 * stride, acc3x0123);
  v128.store(dst + 3 * stride, acc3x4567, 16);
  if (!full) storeTileCorner(tile, c, rowStride, rows, cols);
}

/** Computes the same product as microKernel4x8Simd with MR = 4, NR = 4 and scalar accumulators (scalar build). */
@inline
function microKernel4x4(
  aPanel: usize,
  bPanel: usize,
  k: i32,
  c: usize,
  rowStride: usize,
  rows: i32,
  cols: i32,
  tile: usize,
): void {
  let acc00: f32 = 0, acc01: f32 = 0, acc02: f32 = 0, acc03: f32 = 0;
  let acc10: f32 = 0, acc11: f32 = 0, acc12: f32 = 0, acc13: f32 = 0;
  let acc20: f32 = 0, acc21: f32 = 0, acc22: f32 = 0, acc23: f32 = 0;
  let acc30: f32 = 0, acc31: f32 = 0, acc32: f32 = 0, acc33: f32 = 0;
  let ap = aPanel;
  let bp = bPanel;

  for (let p = 0; p < k; p++) {
    const b0 = load<f32>(bp);
    const b1 = load<f32>(bp, 4);
    const b2 = load<f32>(bp, 8);
    const b3 = load<f32>(bp, 12);
    const a0 = load<f32>(ap);
    const a1 = load<f32>(ap, 4);
    const a2 = load<f32>(ap, 8);
    const a3 = load<f32>(ap, 12);
    acc00 += a0 * b0; acc01 += a0 * b1; acc02 += a0 * b2; acc03 += a0 * b3;
    acc10 += a1 * b0; acc11 += a1 * b1; acc12 += a1 * b2; acc13 += a1 * b3;
    acc20 += a2 * b0; acc21 += a2 * b1; acc22 += a2 * b2; acc23 += a2 * b3;
    acc30 += a3 * b0; acc31 += a3 * b1; acc32 += a3 * b2; acc33 += a3 * b3;
    ap += 16;
    bp += 16;
  }

  const full = rows == 4 && cols == 4;
  const dst = full ? c : tile;
  const stride = full ? rowStride : 16;
  store<f32>(dst, acc00); store<f32>(dst, acc01, 4); store<f32>(dst, acc02, 8); store<f32>(dst, acc03, 12);
  const dst1 = dst + stride;
  store<f32>(dst1, acc10); store<f32>(dst1, acc11, 4); store<f32>(dst1, acc12, 8); store<f32>(dst1, acc13, 12);
  const dst2 = dst1 + stride;
  store<f32>(dst2, acc20); store<f32>(dst2, acc21, 4); store<f32>(dst2, acc22, 8); store<f32>(dst2, acc23, 12);
  const dst3 = dst2 + stride;
  store<f32>(dst3, acc30); store<f32>(dst3, acc31, 4); store<f32>(dst3, acc32, 8); store<f32>(dst3, acc33, 12);
  if (!full) storeTileCorner(tile, c, rowStride, rows, cols);
}

export function floatGemm(
  a: usize,
  b: usize,
  m: i32,
  k: i32,
  n: i32,
  transposeA: bool,
  transposeB: bool,
  c: usize,
  scratch: usize,
): void {
  const aPanels = scratch;
  const bPanels = aPanels + panelsBytes(m, k, MR);
  const tile = bPanels + panelsBytes(n, k, NR);
  const aPanelBytes = (<usize>MR * <usize>k) << 2;
  const bPanelBytes = (<usize>NR * <usize>k) << 2;
  const rowStride = <usize>n << 2;

  // Row i of op(a) is a row of a unless transposeA. Column j of op(b) is a row of b only when transposeB.
  packPanels(a, m, k, transposeA, MR, aPanels);
  packPanels(b, n, k, !transposeB, NR, bPanels);

  for (let j = 0; j < n; j += NR) {
    const bPanel = bPanels + <usize>(j / NR) * bPanelBytes;
    const cols = min(NR, n - j);
    for (let i = 0; i < m; i += MR) {
      const aPanel = aPanels + <usize>(i / MR) * aPanelBytes;
      const rows = min(MR, m - i);
      const cTile = c + <usize>i * rowStride + (<usize>j << 2);
      if (ASC_FEATURE_SIMD) {
        microKernel4x8Simd(aPanel, bPanel, k, cTile, rowStride, rows, cols, tile);
      } else {
        microKernel4x4(aPanel, bPanel, k, cTile, rowStride, rows, cols, tile);
      }
    }
  }
}

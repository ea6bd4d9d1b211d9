/**
 * The kernel set that every backend implements. Kernels work on flat,
 * row-major typed arrays and know nothing about tensors or layers, so the
 * same op code runs on the TypeScript reference, WASM and (later) WebGPU.
 *
 * Bit layout shared by all packed kernels: a row of K signs is stored in
 * ceil(K / 32) little-endian 32-bit words, element i in bit (i mod 32) of
 * word floor(i / 32); bit 1 means -1, bit 0 means +1; pad bits are 0.
 */
export interface Backend {
  /** Short identifier shown in logs and JSON summaries: 'reference', 'wasm-simd', 'wasm-scalar'. */
  readonly name: string;

  /**
   * Float GEMM: c[M,N] = op(a) · op(b), where op(a) is [M,K] and op(b) is [K,N].
   * With transposeA the array a is stored as [K,M]; with transposeB, b is stored as [N,K].
   */
  matmul(
    a: Float32Array,
    b: Float32Array,
    m: number,
    k: number,
    n: number,
    transposeA: boolean,
    transposeB: boolean,
  ): Float32Array;

  /**
   * Sign and pack along the reduction axis: x[rows, k] -> words[rows, ceil(k/32)].
   * sign(x) = +1 for x >= 0 (-0.0 included), so only x < 0 sets a bit.
   */
  packSigns(x: Float32Array, rows: number, k: number): Uint32Array;

  /**
   * Binary GEMM: out[M,N] = K - 2 * popcount(a[m,:] XOR b[n,:]) over K true elements,
   * with a packed as [M, ceil(K/32)] and b as [N, ceil(K/32)].
   */
  binaryGemm(a: Uint32Array, b: Uint32Array, m: number, n: number, k: number): Int32Array;

  /**
   * Bit-plane GEMM for unsigned 8-bit input against binary weights:
   * out[M,N] = sum_i x[m,i] * w[n,i] = sum_{p=0..7} 2^p * (popcount(plane_p) - 2 * popcount(plane_p AND w)),
   * with x as uint8 [M,K] and w packed as [N, ceil(K/32)].
   */
  bitplaneGemm(x: Uint8Array, w: Uint32Array, m: number, n: number, k: number): Int32Array;

  /**
   * Threshold and pack: turns integer accumulators acc[rows, cols] into packed signs
   * [rows, ceil(cols/32)]. Column c is +1 when acc >= thresholds[c] if directions[c] = 1,
   * and when acc <= thresholds[c] if directions[c] = -1; otherwise its bit is set (-1).
   */
  thresholdPack(
    acc: Int32Array,
    rows: number,
    cols: number,
    thresholds: Int32Array,
    directions: Int8Array,
  ): Uint32Array;
}

/** Number of 32-bit words that hold k packed signs. */
export function wordsPerRow(k: number): number {
  return Math.ceil(k / 32);
}

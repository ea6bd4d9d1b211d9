/**
 * The kernel set that every backend implements. Kernels work on flat,
 * row-major typed arrays and know nothing about tensors or layers, so the
 * same op code runs on the TypeScript reference, WASM and (later) WebGPU.
 *
 * Bit layout shared by all packed kernels: a row of K signs is stored in
 * ceil(K / 32) little-endian 32-bit words, with element i in bit (i mod 32) of
 * word floor(i / 32). Bit 1 means -1 and bit 0 means +1. Pad bits are 0.
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
   * k-bit GEMM by plane decomposition: unsigned activations x[m,i] in [0, 2^activationBits)
   * (uint8 [M,K]) against signed odd weights w[n,i] = sum_{j<weightBits} 2^j * s_j[n,i], s_j in {-1,+1},
   * stored as weightBits sign planes per row: w is [N, weightBits, ceil(K/32)] words, plane j of row n at
   * words (n * weightBits + j) * ceil(K/32). out[M,N] = sum_{p,j} 2^(p+j) * (popcount(x_p) - 2 * popcount(x_p AND s_j)).
   * With weightBits = 1 and activationBits = 8 it equals bitplaneGemm.
   */
  bitplaneGemmBits(
    x: Uint8Array,
    activationBits: number,
    w: Uint32Array,
    weightBits: number,
    m: number,
    n: number,
    k: number,
  ): Int32Array;

  /**
   * Fused binary GEMM + threshold + pack: the packed signs of thresholdPack(binaryGemm(a, b), ...)
   * without materializing the int32 accumulators, so a hidden layer's output leaves the kernel
   * packed for the next layer. Returns [M, ceil(N/32)] words.
   */
  binaryGemmThresholdPack(
    a: Uint32Array,
    b: Uint32Array,
    m: number,
    n: number,
    k: number,
    thresholds: Int32Array,
    directions: Int8Array,
  ): Uint32Array;

  /**
   * Binary 2-D convolution over NHWC activations packed along channels:
   * input [N, H, W, ceil(C/32)] words, weights [O, KH, KW, ceil(C/32)] words (same layout per filter),
   * output int32 [N, OH, OW, O] = sum over taps and channels of x * w. Taps that fall in the padding
   * take the value `padValue` (+1, 0 or -1) for every channel, so the result is exact for each padding.
   */
  binaryConv2d(input: Uint32Array, weights: Uint32Array, shape: BinaryConv2dShape): Int32Array;

  /**
   * Binary max-pooling on packed NHWC signs: the max of signs is +1 when any input is +1, so each
   * output word is the AND of the window's words (bit 1 means -1). VALID windows only.
   * Returns [N, OH, OW, ceil(C/32)] words.
   */
  binaryMaxPool2d(input: Uint32Array, shape: MaxPool2dShape): Uint32Array;

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

  // Float kernels of the training graph (STE training of binarized ConvNets).
  // They fuse im2col with the GEMM so the [N*OH*OW, KH*KW*C] column matrix never leaves the backend.

  /**
   * Float 2-D convolution over NHWC input: y[N, OH, OW, O] = im2col(x) · kernel, with kernel [KH, KW, C, O]
   * and padded taps set to shape.padValue.
   */
  conv2dForward(x: Float32Array, kernel: Float32Array, shape: BinaryConv2dShape): Float32Array;

  /** Input gradient of conv2dForward: dx[N, H, W, C] = col2im(grad · kernelᵀ); padded taps get no gradient. */
  conv2dBackwardInput(grad: Float32Array, kernel: Float32Array, shape: BinaryConv2dShape): Float32Array;

  /** Kernel gradient of conv2dForward: dkernel[KH, KW, C, O] = im2col(x)ᵀ · grad. */
  conv2dBackwardKernel(x: Float32Array, grad: Float32Array, shape: BinaryConv2dShape): Float32Array;

  /**
   * Float max-pooling over VALID windows of NHWC input. `winners` holds, per output, the flat input
   * index of the first maximum in row-major window order (a later tap wins only when strictly greater).
   */
  maxPool2dForward(x: Float32Array, shape: MaxPool2dShape): { out: Float32Array; winners: Int32Array };

  /** Input gradient of maxPool2dForward: dx[winners[i]] += grad[i], dx of `inputLength` floats. */
  maxPool2dBackward(grad: Float32Array, winners: Int32Array, inputLength: number): Float32Array;

  /**
   * Batch-norm forward with batch statistics over x[samples, features]: f64 mean, biased variance and
   * 1 / sqrt(variance + epsilon) per feature, normalized = (x - mean) * inverseStd and
   * out = gamma * normalized + beta, each rounded to float32 once.
   */
  batchNormForward(
    x: Float32Array,
    samples: number,
    features: number,
    gamma: Float32Array,
    beta: Float32Array,
    epsilon: number,
  ): BatchNormForwardResult;

  /**
   * Batch-norm backward: f64 sums gradSum = sum(g) and gradDot = sum(g * normalized) per feature and,
   * when inputGrad is set, dx = gamma * inverseStd / B * (B * g - gradSum - normalized * gradDot).
   */
  batchNormBackward(
    grad: Float32Array,
    normalized: Float32Array,
    samples: number,
    features: number,
    gamma: Float32Array,
    inverseStd: Float64Array,
    inputGrad: boolean,
  ): BatchNormBackwardResult;
}

/**
 * The float kernels of the training graph. AsyncBackend (WebGPU) leaves them out: the packed
 * inference graph never calls them.
 */
export type TrainingKernel =
  | 'conv2dForward'
  | 'conv2dBackwardInput'
  | 'conv2dBackwardKernel'
  | 'maxPool2dForward'
  | 'maxPool2dBackward'
  | 'batchNormForward'
  | 'batchNormBackward';

export interface BatchNormForwardResult {
  out: Float32Array;
  normalized: Float32Array;
  mean: Float64Array;
  variance: Float64Array;
  inverseStd: Float64Array;
}

export interface BatchNormBackwardResult {
  gradSum: Float64Array;
  gradDot: Float64Array;
  /** The input gradient, or null when it was not asked for. */
  dx: Float32Array | null;
}

export interface BinaryConv2dShape {
  batch: number;
  height: number;
  width: number;
  channels: number;
  outChannels: number;
  kernelHeight: number;
  kernelWidth: number;
  strideHeight: number;
  strideWidth: number;
  /** 'same': output ceil(H / stride), padding split as TensorFlow does (extra row/column at the end); 'valid': no padding. */
  padding: 'same' | 'valid';
  /** Value of padded taps: 1 ("one padding", free in packed form), 0 (zero padding) or -1. */
  padValue: 1 | 0 | -1;
}

export interface MaxPool2dShape {
  batch: number;
  height: number;
  width: number;
  channels: number;
  poolHeight: number;
  poolWidth: number;
  strideHeight: number;
  strideWidth: number;
}

/** Output height and width of a convolution or pooling window, with TensorFlow's SAME/VALID rules. */
export function windowOutputSize(size: number, window: number, stride: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - window) / stride) + 1;
}

/** Number of 32-bit words that hold k packed signs. */
export function wordsPerRow(k: number): number {
  return Math.ceil(k / 32);
}

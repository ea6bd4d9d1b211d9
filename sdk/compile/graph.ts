/**
 * The packed inference graph: what `compileModel` produces, what a `.qnn`
 * file stores and what `runPacked` executes. Weights are packed signs
 * (bit 1 means -1, element i in bit i mod 32 of word i / 32, pad bits 0).
 */

/** Input encoding of a packed dense or convolution layer. */
export type PackedInputKind =
  /** Unsigned 8-bit values (the model input), multiplied through bit-planes. */
  | 'uint8'
  /** Packed signs produced by the previous layer. */
  | 'signs';

/**
 * Per-channel float32 epilogue applied to the integer accumulator, in this
 * order and with float32 rounding after every step, so it reproduces the
 * training graph bit for bit:
 *   v = acc * inputScale; v = v + bias[c]; v = v * scale[c] + shift[c].
 */
export interface DenseEpilogue {
  /** Real value of one accumulator unit: 1 for sign inputs, the pixel scale for uint8 input. */
  inputScale: number;
  /** Dense bias, or null when the layer has none. */
  bias: Float32Array | null;
  /** Batch-norm scale and shift in inference mode, or null when no batch norm follows. */
  scale: Float32Array | null;
  shift: Float32Array | null;
}

/** Output of a hidden layer: batch norm + sign folded into integer thresholds. */
export interface SignOutput {
  kind: 'signs';
  /** Per channel: output is +1 when acc >= threshold (direction 1) or acc <= threshold (direction -1). */
  thresholds: Int32Array;
  directions: Int8Array;
}

/** Output of the last layer: float class scores from the integer accumulator. */
export interface ScoreOutput {
  kind: 'scores';
  epilogue: DenseEpilogue;
}

export interface PackedDenseLayer {
  kind: 'dense';
  input: PackedInputKind;
  inputs: number;
  units: number;
  /** Packed binary weights [units, ceil(inputs / 32)]. */
  weights: Uint32Array;
  output: SignOutput | ScoreOutput;
}

/** A VALID max-pooling window with its strides. */
export interface PoolWindow {
  poolHeight: number;
  poolWidth: number;
  strideHeight: number;
  strideWidth: number;
}

/**
 * Binary 2-D convolution over an NHWC input of `height` x `width` x `channels`,
 * with batch norm + the next layer's sign folded into per-channel thresholds.
 * Its output is packed signs [OH', OW', outChannels], packed along channels.
 */
export interface PackedConv2dLayer {
  kind: 'conv2d';
  input: PackedInputKind;
  height: number;
  width: number;
  channels: number;
  outChannels: number;
  kernelHeight: number;
  kernelWidth: number;
  strideHeight: number;
  strideWidth: number;
  padding: 'same' | 'valid';
  /**
   * Value of a tap in the padding, in units of the layer input. Signs input takes
   * 1, 0 or -1. uint8 input takes an integer number of uint8 units, which need
   * not fit in a byte: a real 1.0 at input scale 1/256 is 256.
   */
  padValue: number;
  /**
   * Packed binary weights. Signs input: [outChannels, kernelHeight, kernelWidth, ceil(channels / 32)],
   * each tap packed along channels, as binaryConv2d takes them. uint8 input:
   * [outChannels, ceil(kernelHeight * kernelWidth * channels / 32)], each filter packed in
   * im2col order (ky, kx, c), as bitplaneGemm takes them.
   */
  weights: Uint32Array;
  /**
   * Max-pooling of the integer accumulators before the threshold (the order
   * Conv -> MaxPool -> BatchNorm), or null. Executed exactly for both threshold
   * directions: see poolReadyThresholds in pool-thresholds.ts.
   */
  pool: PoolWindow | null;
  output: SignOutput;
}

/** Max-pooling of packed signs [height, width, channels]: the AND of the window's words. */
export interface PackedMaxPool2dLayer extends PoolWindow {
  kind: 'maxPool2d';
  height: number;
  width: number;
  channels: number;
}

/**
 * Flattening of packed signs [height, width, channels] into one row of
 * height * width * channels signs in NHWC order, as the training graph's Flatten does.
 */
export interface PackedFlattenLayer {
  kind: 'flatten';
  height: number;
  width: number;
  channels: number;
}

/** Input encoding of a packed k-bit dense layer: the uint8 model input, packed signs, or unsigned k-bit codes in bytes. */
export type PackedKbitInputKind = PackedInputKind | 'codes';

/**
 * Output of a hidden k-bit dense layer: the next layer's unsigned activation
 * codes u = c + 2^(bits-1), one byte each, where c is the next layer's linear code.
 */
export interface CodeOutput {
  kind: 'codes';
  /** Bits of the next layer's linear input quantizer, 1..8. */
  bits: number;
  /**
   * Thresholds [units, 2^bits - 1]: threshold t - 1 of a unit is the accumulator
   * where its code reaches t. The code is the number of levels whose test is true:
   * acc >= threshold (direction 1) or acc <= threshold (direction -1).
   */
  thresholds: Int32Array;
  /** Per unit: 1 when the code is non-decreasing in the accumulator, -1 when non-increasing. */
  directions: Int8Array;
}

/**
 * Dense layer with k-bit weights and k-bit (or uint8, or sign) activations,
 * computed by bitplaneGemmBits on unsigned activation codes u and odd weights w'.
 * The integer accumulator is
 *   acc = gemmScale * sum_i u_i w'_i + rowSumScale * sum_i u_i + correction[unit],
 * which equals sum_i x_i w_i in units of epilogue.inputScale (see compile-kbit.ts).
 */
export interface PackedDenseKbitLayer {
  kind: 'dense-kbit';
  input: PackedKbitInputKind;
  inputs: number;
  units: number;
  /** Bits per activation code that the kernel reads: 8 for uint8, 1 for signs, the code bits for codes. */
  activationBits: number;
  /** Sign planes per weight, 1..8. */
  weightBits: number;
  /**
   * Odd weights w' = sum_j 2^j s_j as sign planes [units, weightBits, ceil(inputs / 32)]
   * words, plane j of unit n at words (n * weightBits + j) * ceil(inputs / 32).
   */
  weights: Uint32Array;
  gemmScale: number;
  rowSumScale: number;
  /** Per unit: the integer term that the activation offset and weight offset leave. */
  correction: Int32Array;
  output: SignOutput | CodeOutput | ScoreOutput;
}

/**
 * Output of a layer that feeds GlobalAveragePooling2D: the float32 values of
 * the epilogue (the training graph's batch-normalized outputs), bit for bit.
 */
export interface FloatOutput {
  kind: 'floats';
  epilogue: DenseEpilogue;
}

/**
 * 2-D convolution with k-bit weights and k-bit (or uint8, or sign) activations
 * over an NHWC input, computed as im2col on unsigned activation codes and
 * bitplaneGemmBits, as a dense-kbit layer computes a row. im2col writes code 0
 * for a padded tap, and padTapSums adds what the training graph's pad value
 * contributes beyond code 0, so border positions are exact. Per output position:
 *   acc = gemmScale * sum u w' + rowSumScale * sum u + correction[o] + sum over padded taps of padTapSums[o, tap].
 */
export interface PackedConv2dKbitLayer {
  kind: 'conv2d-kbit';
  input: PackedKbitInputKind;
  height: number;
  width: number;
  channels: number;
  outChannels: number;
  kernelHeight: number;
  kernelWidth: number;
  strideHeight: number;
  strideWidth: number;
  padding: 'same' | 'valid';
  activationBits: number;
  weightBits: number;
  /** Odd weights as sign planes [outChannels, weightBits, ceil(kernelHeight * kernelWidth * channels / 32)], im2col order (ky, kx, c). */
  weights: Uint32Array;
  gemmScale: number;
  rowSumScale: number;
  /** Per output channel: the integer term of the offsets, as if every tap held code 0 where padded. */
  correction: Int32Array;
  /** [outChannels, kernelHeight * kernelWidth]: accumulator a padded tap adds beyond code 0; all 0 for VALID or a pad equal to code 0. */
  padTapSums: Int32Array;
  /** Max-pooling of the accumulators before the epilogue (Conv -> MaxPool -> BatchNorm), or null. */
  pool: PoolWindow | null;
  /** Max-pooling of the outputs (signs, codes or floats) after the epilogue (BatchNorm -> MaxPool), or null. */
  outputPool: PoolWindow | null;
  output: SignOutput | CodeOutput | FloatOutput;
}

/** Output of GlobalAveragePooling2D for the next Dense layer: that layer's input quantizer applied to the means. */
export type GlobalPoolOutput = { kind: 'signs' } | { kind: 'codes'; bits: number; step: number };

/**
 * Mean over height and width of the previous layer's float32 values [height, width, channels].
 * It sums in float64 in row-major pixel order and divides as the training layer does. The next
 * Dense layer's input quantizer then turns the means into packed signs or unsigned codes.
 */
export interface PackedGlobalAveragePool2dLayer {
  kind: 'globalAveragePool2d';
  height: number;
  width: number;
  channels: number;
  output: GlobalPoolOutput;
}

export type PackedLayer =
  | PackedDenseLayer
  | PackedDenseKbitLayer
  | PackedConv2dLayer
  | PackedConv2dKbitLayer
  | PackedMaxPool2dLayer
  | PackedFlattenLayer
  | PackedGlobalAveragePool2dLayer;

/** A packed MLP: dense layers only, the graphs of .qnn format version 1. */
export interface PackedModel {
  /** Shape of one input sample, e.g. [784]. */
  inputShape: number[];
  layers: PackedDenseLayer[];
}

/** A packed network of any supported layer kinds; every PackedModel is one. */
export interface PackedNetwork {
  /** Shape of one input sample, e.g. [784] or [28, 28, 1] (NHWC without the batch axis). */
  inputShape: number[];
  layers: PackedLayer[];
}

/** Returns true when every layer is dense, so the network is a PackedModel. */
export function isPackedModel(network: PackedNetwork): network is PackedModel {
  return network.layers.every((layer) => layer.kind === 'dense');
}

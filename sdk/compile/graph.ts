/**
 * The packed inference graph: what `compileModel` produces, what a `.qnn`
 * file stores and what `runPacked` executes. Weights are packed signs
 * (bit 1 means -1, element i in bit i mod 32 of word i / 32, pad bits 0).
 */

/** Input encoding of a packed dense layer. */
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

export type PackedLayer = PackedDenseLayer;

export interface PackedModel {
  /** Shape of one input sample, e.g. [784]. */
  inputShape: number[];
  layers: PackedLayer[];
}

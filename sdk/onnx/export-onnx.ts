/**
 * Export of a packed network to ONNX (standard operators, opset 13) or QONNX.
 * QONNX files pass binary weights and activations through BipolarQuant / Quant
 * of the domain qonnx.custom_op.general, and k-bit layers stay in standard
 * operators. Both graphs take float32 raw pixels 0..255 shaped
 * [N, ...inputShape] and return float32 class scores [N, classes].
 *
 * Exactness: every accumulator is a sum of integers (pixels times +-1, or +-1
 * times +-1) whose magnitude stays below 2^24, so float32 MatMul and Conv give
 * the packed engine's integers exactly in any summation order. Thresholds are
 * clamped to the reachable accumulator range, so they are exact float32 values too.
 */
import { convGeometry } from '../layers/im2col.js';
import { QnnError } from '../errors.js';
import type { CodeOutput, DenseEpilogue, PackedConv2dLayer, PackedDenseKbitLayer, PackedDenseLayer, PackedModel, PackedNetwork, SignOutput } from '../compile/graph.js';
import { encodeOnnxModel } from './onnx-schema.js';
import { OnnxGraphBuilder, floatValueInfo } from './graph-builder.js';
import { convWeightsToKernel, denseWeightsToMatrix, kbitWeightsToMatrix } from './unpack-weights.js';

export type OnnxExportFormat = 'onnx' | 'qonnx';

export interface ExportOnnxOptions {
  format: OnnxExportFormat;
}

/** Domain of the QONNX quantization operators. */
export const QONNX_DOMAIN = 'qonnx.custom_op.general';

/** Largest integer up to which every integer is a float32 value. */
const FLOAT32_EXACT_LIMIT = 2 ** 24;

/** Tensor layouts the exporter tracks between layers. */
type Layout = 'flat' | 'nhwc' | 'nchw';

interface Cursor {
  tensor: string;
  layout: Layout;
  /** Spatial shape of nhwc/nchw tensors. */
  height: number;
  width: number;
  channels: number;
}

/** Encodes a packed network as an ONNX or QONNX model file. Throws QnnError for layer kinds it cannot express. */
export function exportOnnx(network: PackedNetwork | PackedModel, options: ExportOnnxOptions): Uint8Array {
  if (options.format !== 'onnx' && options.format !== 'qonnx') {
    throw new QnnError(`exportOnnx: format must be 'onnx' or 'qonnx', got '${String(options.format)}'`);
  }
  const qonnx = options.format === 'qonnx';
  const builder = new OnnxGraphBuilder();
  const emitter = new LayerEmitter(builder, qonnx);

  const input = 'input';
  const shape = network.inputShape;
  let cursor: Cursor = shape.length === 3
    ? { tensor: input, layout: 'nhwc', height: shape[0], width: shape[1], channels: shape[2] }
    : { tensor: input, layout: 'flat', height: 1, width: 1, channels: shape.reduce((a, b) => a * b, 1) };
  if (shape.length !== 1 && shape.length !== 3) throw new QnnError(`exportOnnx: input shape must be [features] or [height, width, channels], got [${shape.join(', ')}]`);

  if (qonnx) cursor = { ...cursor, tensor: emitter.uint8Quant(cursor.tensor) };

  let classes = 0;
  for (const [index, layer] of network.layers.entries()) {
    if (layer.kind === 'dense') {
      cursor = emitter.dense(layer, cursor);
      if (layer.output.kind === 'scores') classes = layer.units;
    } else if (layer.kind === 'conv2d') {
      cursor = emitter.conv2d(layer, cursor);
    } else if (layer.kind === 'maxPool2d') {
      const pooled = emitter.maxPool(emitter.toNchw(cursor), layer);
      cursor = { ...cursor, tensor: pooled, layout: 'nchw', height: Math.floor((layer.height - layer.poolHeight) / layer.strideHeight) + 1, width: Math.floor((layer.width - layer.poolWidth) / layer.strideWidth) + 1 };
    } else if (layer.kind === 'flatten') {
      cursor = emitter.toFlat(cursor);
    } else if (layer.kind === 'dense-kbit') {
      cursor = emitter.denseKbit(layer, cursor);
      if (layer.output.kind === 'scores') classes = layer.units;
    } else if (layer.kind === 'conv2d-kbit' || layer.kind === 'globalAveragePool2d') {
      // Limitation: k-bit convolutions and global average pooling have no ONNX emitter yet.
      throw new QnnError(`exportOnnx: layer ${index} is a ${layer.kind} layer, which ONNX export does not support yet; run the network with runPacked or export a model without it`);
    } else {
      throw new QnnError(`exportOnnx: layer ${index} has unknown kind '${String((layer as { kind: unknown }).kind)}'`);
    }
  }
  if (classes === 0) throw new QnnError('exportOnnx: the network must end in a dense layer with score output');

  const opsetImport = [{ domain: '', version: 13 }];
  if (qonnx) opsetImport.push({ domain: QONNX_DOMAIN, version: 1 });
  const graph = {
    name: qonnx ? 'qnn_sdk_qonnx' : 'qnn_sdk_onnx',
    node: builder.nodes,
    initializer: builder.initializers,
    input: [floatValueInfo(input, shape)],
    output: [floatValueInfo(cursor.tensor, [classes])],
  };
  return encodeOnnxModel({ irVersion: 8, producerName: 'qnn-sdk', producerVersion: '0.1.0', opsetImport, graph });
}

/** Emits the ONNX nodes of each packed layer kind into one graph. */
class LayerEmitter {
  private readonly one: string;
  private readonly minusOne: string;

  constructor(
    private readonly builder: OnnxGraphBuilder,
    private readonly qonnx: boolean,
  ) {
    this.one = builder.scalar('one', 1);
    this.minusOne = builder.scalar('minus_one', -1);
  }

  /** QONNX: marks the input as 8-bit unsigned integers, an identity on pixels 0..255. */
  uint8Quant(tensor: string): string {
    const b = this.builder;
    const zero = b.scalar('zero_point', 0);
    const bits = b.scalar('bitwidth', 8);
    return b.node('Quant', [tensor, this.one, zero, bits], { signed: 0, narrow: 0, rounding_mode: 'ROUND' }, QONNX_DOMAIN);
  }

  /** QONNX: a float +-1 weight initializer behind BipolarQuant; plain ONNX: the initializer itself. */
  private weights(stem: string, dims: number[], values: Float32Array): string {
    const tensor = this.builder.floatTensor(stem, dims, values);
    if (!this.qonnx) return tensor;
    return this.builder.node('BipolarQuant', [tensor, this.one], {}, QONNX_DOMAIN);
  }

  dense(layer: PackedDenseLayer, cursor: Cursor): Cursor {
    const flat = this.toFlat(cursor);
    const weights = this.weights('dense_weights', [layer.inputs, layer.units], denseWeightsToMatrix(layer));
    const acc = this.builder.node('MatMul', [flat.tensor, weights]);
    const bound = (layer.input === 'uint8' ? 255 : 1) * layer.inputs;

    const output = layer.output;
    const tensor = output.kind === 'signs' ? this.threshold(acc, output, bound, [layer.units]) : this.epilogue(acc, output.epilogue, layer.units);
    return { tensor, layout: 'flat', height: 1, width: 1, channels: layer.units };
  }

  conv2d(layer: PackedConv2dLayer, cursor: Cursor): Cursor {
    const b = this.builder;
    const input = this.toNchw(cursor);
    const { height, width, channels, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth } = layer;
    const { outHeight, outWidth, padTop, padLeft } = convGeometry({ ...layer, batch: 1 });
    const padBottom = Math.max(0, (outHeight - 1) * strideHeight + kernelHeight - height - padTop);
    const padRight = Math.max(0, (outWidth - 1) * strideWidth + kernelWidth - width - padLeft);

    // ONNX Conv pads with zeros, so other pad values (one padding) go through an explicit Pad.
    let source = input;
    let pads = [padTop, padLeft, padBottom, padRight];
    if (layer.padValue !== 0 && pads.some((pad) => pad > 0)) {
      const padShape = b.int64Tensor('pads', [0, 0, padTop, padLeft, 0, 0, padBottom, padRight]);
      source = b.node('Pad', [input, padShape, b.scalar('pad_value', layer.padValue)], { mode: 'constant' });
      pads = [0, 0, 0, 0];
    }

    const kernel = this.weights('conv_weights', [outChannels, channels, kernelHeight, kernelWidth], convWeightsToKernel(layer));
    let acc = b.node('Conv', [source, kernel], { kernel_shape: [kernelHeight, kernelWidth], strides: [strideHeight, strideWidth], pads });
    let outH = outHeight;
    let outW = outWidth;
    if (layer.pool !== null) {
      acc = this.maxPool(acc, layer.pool);
      outH = Math.floor((outHeight - layer.pool.poolHeight) / layer.pool.strideHeight) + 1;
      outW = Math.floor((outWidth - layer.pool.poolWidth) / layer.pool.strideWidth) + 1;
    }

    const padMagnitude = Math.max(layer.input === 'uint8' ? 255 : 1, Math.abs(layer.padValue));
    const bound = padMagnitude * kernelHeight * kernelWidth * channels;
    const tensor = this.threshold(acc, layer.output, bound, [outChannels, 1, 1]);
    return { tensor, layout: 'nchw', height: outH, width: outW, channels: outChannels };
  }

  /**
   * Emits a k-bit dense layer in standard operators (both formats):
   * acc = gemmScale * MatMul(u, w') + rowSumScale * ReduceSum(u) + correction,
   * with u the unsigned activation codes (pixels, (s + 1) / 2 for signs, or the
   * previous layer's codes) and w' the odd weights. Every term is an integer
   * below 2^24, so float32 gives the packed engine's int32 accumulator.
   */
  denseKbit(layer: PackedDenseKbitLayer, cursor: Cursor): Cursor {
    const b = this.builder;
    const flat = this.toFlat(cursor);
    const { inputs, units } = layer;
    const codes = layer.input === 'signs' ? b.node('Mul', [b.node('Add', [flat.tensor, this.one]), b.scalar('half', 0.5)]) : flat.tensor;

    const weights = b.floatTensor('kbit_weights', [inputs, units], kbitWeightsToMatrix(layer));
    let acc = b.node('Mul', [b.node('MatMul', [codes, weights]), b.scalar('gemm_scale', layer.gemmScale)]);
    if (layer.rowSumScale !== 0) {
      const rowSum = b.node('ReduceSum', [codes, b.int64Tensor('axes', [1])], { keepdims: 1 });
      acc = b.node('Add', [acc, b.node('Mul', [rowSum, b.scalar('row_sum_scale', layer.rowSumScale)])]);
    }
    acc = b.node('Add', [acc, b.floatTensor('correction', [units], layer.correction)]);

    const maxCode = layer.input === 'uint8' ? 255 : 2 ** layer.activationBits - 1;
    const maxWeight = 2 ** layer.weightBits - 1;
    const maxCorrection = layer.correction.reduce((max, value) => Math.max(max, Math.abs(value)), 0);
    const bound = Math.abs(layer.gemmScale) * maxCode * maxWeight * inputs + Math.abs(layer.rowSumScale) * maxCode * inputs + maxCorrection;

    const output = layer.output;
    let tensor: string;
    if (output.kind === 'signs') tensor = this.threshold(acc, output, bound, [units]);
    else if (output.kind === 'codes') tensor = this.levelCodes(acc, output, bound, units);
    else tensor = this.epilogue(acc, output.epilogue, units);
    return { tensor, layout: 'flat', height: 1, width: 1, channels: units };
  }

  /** Emits the unsigned codes of a CodeOutput: per unit, the number of levels whose test d * acc >= d * t passes. */
  private levelCodes(acc: string, output: CodeOutput, bound: number, units: number): string {
    const b = this.builder;
    this.checkExact(bound);
    const levels = 2 ** output.bits - 1;
    const directions = Float32Array.from(output.directions, (d) => (d < 0 ? -1 : 1));
    const signedThresholds = new Float32Array(units * levels);
    for (let c = 0; c < units; c++) {
      for (let level = 0; level < levels; level++) {
        const clamped = Math.min(Math.max(output.thresholds[c * levels + level], -bound - 1), bound + 1);
        signedThresholds[c * levels + level] = directions[c] * clamped;
      }
    }

    const column = b.node('Unsqueeze', [acc, b.int64Tensor('axes', [2])]);
    const flipped = b.node('Mul', [column, b.floatTensor('directions', [units, 1], directions)]);
    const passes = b.node('GreaterOrEqual', [flipped, b.floatTensor('level_thresholds', [units, levels], signedThresholds)]);
    const counts = b.node('Cast', [passes], { to: 1 });
    return b.node('ReduceSum', [counts, b.int64Tensor('axes', [2])], { keepdims: 0 });
  }

  private checkExact(bound: number): void {
    if (bound + 1 >= FLOAT32_EXACT_LIMIT) {
      throw new QnnError(`exportOnnx: accumulators reach ${bound}, beyond 2^24, where float32 stops representing every integer, so the ONNX graph cannot reproduce the thresholds exactly; this layer is too large to export`);
    }
  }

  maxPool(tensor: string, window: { poolHeight: number; poolWidth: number; strideHeight: number; strideWidth: number }): string {
    return this.builder.node('MaxPool', [tensor], { kernel_shape: [window.poolHeight, window.poolWidth], strides: [window.strideHeight, window.strideWidth] });
  }

  /**
   * Emits sign(threshold test) as +-1. With d the direction, the packed test
   * "acc >= t" (d = 1) or "acc <= t" (d = -1) is d * acc >= d * t, so one
   * comparison serves both. Plain ONNX uses GreaterOrEqual + Where, because
   * ONNX Sign(0) is 0; QONNX uses Sub + BipolarQuant, whose test is x >= 0.
   * `bound` is the largest reachable |acc|; thresholds outside it are clamped.
   */
  private threshold(acc: string, output: SignOutput, bound: number, constantDims: number[]): string {
    const b = this.builder;
    this.checkExact(bound);
    const channels = output.thresholds.length;
    const directions = Float32Array.from(output.directions, (d) => (d < 0 ? -1 : 1));
    const signedThresholds = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      const clamped = Math.min(Math.max(output.thresholds[c], -bound - 1), bound + 1);
      signedThresholds[c] = directions[c] * clamped;
    }

    const flipped = directions.every((d) => d === 1) ? acc : b.node('Mul', [acc, b.floatTensor('directions', constantDims, directions)]);
    const thresholds = b.floatTensor('thresholds', constantDims, signedThresholds);
    if (this.qonnx) {
      const margin = b.node('Sub', [flipped, thresholds]);
      return b.node('BipolarQuant', [margin, this.one], {}, QONNX_DOMAIN);
    }
    const passes = b.node('GreaterOrEqual', [flipped, thresholds]);
    return b.node('Where', [passes, this.one, this.minusOne]);
  }

  /** Emits the score epilogue step by step, so each float32 rounding matches applyEpilogue. */
  private epilogue(acc: string, epilogue: DenseEpilogue, units: number): string {
    const b = this.builder;
    let value = acc;
    if (epilogue.inputScale !== 1) value = b.node('Mul', [value, b.scalar('input_scale', epilogue.inputScale)]);
    if (epilogue.bias !== null) value = b.node('Add', [value, b.floatTensor('bias', [units], epilogue.bias)]);
    if (epilogue.scale !== null && epilogue.shift !== null) {
      value = b.node('Mul', [value, b.floatTensor('norm_scale', [units], epilogue.scale)]);
      value = b.node('Add', [value, b.floatTensor('norm_shift', [units], epilogue.shift)]);
    }
    return value;
  }

  toNchw(cursor: Cursor): string {
    if (cursor.layout === 'nchw') return cursor.tensor;
    if (cursor.layout === 'nhwc') return this.builder.node('Transpose', [cursor.tensor], { perm: [0, 3, 1, 2] });
    throw new QnnError('exportOnnx: a convolution or pooling layer follows a flat layer; the packed graph has no such order');
  }

  toFlat(cursor: Cursor): Cursor {
    if (cursor.layout === 'flat') return cursor;

    // The packed Flatten orders elements as NHWC, so NCHW activations are transposed back first.
    const nhwc = cursor.layout === 'nchw' ? this.builder.node('Transpose', [cursor.tensor], { perm: [0, 2, 3, 1] }) : cursor.tensor;
    const tensor = this.builder.node('Flatten', [nhwc], { axis: 1 });
    return { tensor, layout: 'flat', height: 1, width: 1, channels: cursor.height * cursor.width * cursor.channels };
  }
}

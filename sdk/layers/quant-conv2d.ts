import { ShapeError } from '../errors.js';
import { add } from '../ops/elementwise.js';
import type { Random } from '../random.js';
import { Tensor, formatShape } from '../tensor/tensor.js';
import { type Quantizer, checkQuantizer, isBinaryQuantizer } from '../quantizers/quantizer-spec.js';
import { quantize } from './dense.js';
import { type ConvWindow, conv2d, convGeometry } from './im2col.js';
import { type ForwardContext, Layer, type Parameter } from './layer.js';

export interface QuantConv2DOptions {
  /** Window step along height and width; a number sets both. Default 1. */
  strides?: number | [number, number];
  /** 'same' keeps ceil(size / stride) outputs, with TensorFlow's split of the padding; 'valid' pads nothing. Default 'same'. */
  padding?: 'same' | 'valid';
  /**
   * Value of the taps that fall in the padding, applied after the input quantizer.
   * 1 ("one padding", Larq's pad_values=1.0) keeps a binary input binary, so the packed
   * engine pads for free; 0 is zero padding; -1 is the other binary value. Default 1.
   */
  padValue?: 1 | 0 | -1;
  /** Quantizer for the latent kernel in the forward pass. Default 'ste_sign'. */
  kernelQuantizer?: Quantizer;
  /** Quantizer for the layer input; null for a first layer on real-valued input. Default 'ste_sign'. */
  inputQuantizer?: Quantizer;
  /** Clips latent kernel weights to [-clip, clip] after each optimizer step; null disables it. Default 1. */
  kernelClip?: number | null;
  /**
   * Multiplies the kernel's learning rate by sqrt((fanIn + fanOut) / 1.5) with
   * fanIn = KH*KW*C and fanOut = KH*KW*O, the inverse of the Glorot uniform bound,
   * as for Dense. On by default for binarized kernels.
   */
  glorotLearningRateScale?: boolean;
  /** Adds a bias per output channel. Default false. */
  useBias?: boolean;
  name?: string;
}

let convCount = 0;

/**
 * Binarized 2-D convolution over NHWC input, like Larq's QuantConv2D:
 * y[n, oy, ox, o] = sum_{ky, kx, c} pad(q_in(x))[n, oy*SH + ky, ox*SW + kx, c] * q_k(W)[ky, kx, c, o] (+ b[o]).
 * The kernel is stored as [KH, KW, C, O]. Forward and backward run as im2col
 * and float GEMM fused in the active backend (conv2dForward and its two
 * gradients), so the gradients are those of im2col followed by matmul.
 */
export class QuantConv2D extends Layer {
  readonly filters: number;
  readonly kernelHeight: number;
  readonly kernelWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly padding: 'same' | 'valid';
  readonly padValue: 1 | 0 | -1;
  readonly kernelQuantizer: Quantizer;
  readonly inputQuantizer: Quantizer;
  readonly kernelClip: number | null;
  readonly glorotLearningRateScale: boolean;
  readonly useBias: boolean;
  kernel: Tensor = Tensor.zeros([0]);
  bias: Tensor | null = null;

  constructor(filters: number, kernelSize: number | [number, number], options: QuantConv2DOptions = {}) {
    super(options.name ?? `quant_conv2d_${convCount++}`);
    const [kernelHeight, kernelWidth] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    const [strideHeight, strideWidth] = typeof options.strides === 'object' ? options.strides : [options.strides ?? 1, options.strides ?? 1];
    const integers = { filters, kernelHeight, kernelWidth, strideHeight, strideWidth };
    for (const [field, value] of Object.entries(integers)) {
      if (!Number.isInteger(value) || value <= 0) throw new ShapeError(`${this.name}: ${field} must be a positive integer, got ${value}`);
    }

    this.filters = filters;
    this.kernelHeight = kernelHeight;
    this.kernelWidth = kernelWidth;
    this.strideHeight = strideHeight;
    this.strideWidth = strideWidth;
    this.padding = options.padding ?? 'same';
    this.padValue = options.padValue ?? 1;
    if (this.padding !== 'same' && this.padding !== 'valid') {
      throw new ShapeError(`${this.name}: padding must be 'same' or 'valid', got '${String(this.padding)}'`);
    }
    if (this.padValue !== 1 && this.padValue !== 0 && this.padValue !== -1) {
      throw new ShapeError(`${this.name}: padValue must be 1, 0 or -1, got ${String(this.padValue)}`);
    }
    this.kernelQuantizer = options.kernelQuantizer === undefined ? 'ste_sign' : options.kernelQuantizer;
    this.inputQuantizer = options.inputQuantizer === undefined ? 'ste_sign' : options.inputQuantizer;
    this.kernelClip = options.kernelClip === undefined ? 1 : options.kernelClip;
    checkQuantizer(this.name, 'kernelQuantizer', this.kernelQuantizer);
    checkQuantizer(this.name, 'inputQuantizer', this.inputQuantizer);
    this.glorotLearningRateScale = options.glorotLearningRateScale ?? this.kernelQuantizer !== null;
    this.useBias = options.useBias ?? false;
  }

  /** Input channels C, known once the layer is built. */
  get channels(): number {
    return this.kernel.shape[2];
  }

  outputShape(inputShape: number[]): number[] {
    this.checkInputShape(inputShape);
    const [height, width] = inputShape;
    const { outHeight, outWidth } = convGeometry(this.window(1, height, width, inputShape[2]));
    return [outHeight, outWidth, this.filters];
  }

  /** Returns the window geometry of this layer on a [batch, height, width, channels] input. */
  window(batch: number, height: number, width: number, channels: number): ConvWindow {
    const { kernelHeight, kernelWidth, strideHeight, strideWidth, padding } = this;
    return { batch, height, width, channels, kernelHeight, kernelWidth, strideHeight, strideWidth, padding };
  }

  protected override createParameters(inputShape: number[], random: Random): void {
    this.checkInputShape(inputShape);
    const channels = inputShape[2];
    const fanIn = this.kernelHeight * this.kernelWidth * channels;
    const fanOut = this.kernelHeight * this.kernelWidth * this.filters;

    // Binarized kernels start uniform over the whole clip range, as for Dense.
    const bound = this.kernelQuantizer !== null ? (this.kernelClip ?? 1) : Math.sqrt(6 / (fanIn + fanOut));
    const kernel = new Float32Array(fanIn * this.filters);
    for (let i = 0; i < kernel.length; i++) kernel[i] = random.uniform(-bound, bound);
    this.kernel = new Tensor(kernel, [this.kernelHeight, this.kernelWidth, channels, this.filters], true);
    this.bias = this.useBias ? Tensor.zeros([this.filters], true) : null;
  }

  /** The learning-rate multiplier of the kernel. */
  get kernelLearningRateScale(): number {
    if (!this.glorotLearningRateScale) return 1;
    const taps = this.kernelHeight * this.kernelWidth;
    return Math.sqrt((taps * this.channels + taps * this.filters) / 1.5);
  }

  override parameters(): Parameter[] {
    const params: Parameter[] = [
      { name: `${this.name}/kernel`, value: this.kernel, learningRateScale: this.kernelLearningRateScale, clip: this.kernelClip },
    ];
    if (this.bias !== null) params.push({ name: `${this.name}/bias`, value: this.bias, learningRateScale: 1, clip: null });
    return params;
  }

  forward(x: Tensor, context: ForwardContext): Tensor {
    if (x.rank !== 4 || x.shape[3] !== this.channels) {
      throw new ShapeError(`${this.name}: expected input [batch, height, width, ${this.channels}], got ${formatShape(x.shape)}`);
    }
    const [batch, height, width, channels] = x.shape;
    this.checkInputShape([height, width, channels]);

    const input = quantize(x, this.inputQuantizer, context, 'input');
    const kernel = quantize(this.kernel, this.kernelQuantizer, context, 'kernel');
    const binaryOperands = isBinaryQuantizer(this.inputQuantizer) && isBinaryQuantizer(this.kernelQuantizer);
    const out = conv2d(input, kernel, this.window(batch, height, width, channels), this.padValue, binaryOperands);
    return this.bias === null ? out : add(out, this.bias);
  }

  private checkInputShape(inputShape: number[]): void {
    if (inputShape.length !== 3) {
      throw new ShapeError(`${this.name}: convolutions take NHWC images [height, width, channels] per sample, got ${formatShape(inputShape)}`);
    }
    const [height, width] = inputShape;
    if (this.padding === 'valid' && (height < this.kernelHeight || width < this.kernelWidth)) {
      throw new ShapeError(
        `${this.name}: the ${this.kernelHeight}x${this.kernelWidth} kernel is larger than the ${height}x${width} input, ` +
          "which leaves no output with 'valid' padding",
      );
    }
  }
}

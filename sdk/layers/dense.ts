import { QnnError, ShapeError } from '../errors.js';
import { add } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { type Quantizer, type QuantizerRole, applyQuantizer, checkQuantizer, isBinaryQuantizer } from '../quantizers/quantizer-spec.js';
import type { Random } from '../random.js';
import { Tensor, formatShape } from '../tensor/tensor.js';
import { type TrainingContext, checkGradientBits } from '../training/gradient-quantization.js';
import { matmulQuantizedGradient } from '../training/quantized-gradient-matmul.js';
import { type ForwardContext, Layer, type Parameter } from './layer.js';

export type { Quantizer, QuantizerSpec } from '../quantizers/quantizer-spec.js';

export interface DenseOptions {
  /** Adds a bias vector after the matmul. */
  useBias?: boolean;
  /** Quantizer for the latent kernel in the forward pass: a binarizer name, a k-bit spec such as { kind: 'linear', bits: 2 }, or null. */
  kernelQuantizer?: Quantizer;
  /** Quantizer for the layer input, with the same choices as kernelQuantizer. */
  inputQuantizer?: Quantizer;
  /** Clips latent kernel weights to [-clip, clip] after each optimizer step; null disables it. */
  kernelClip?: number | null;
  /**
   * Multiplies the kernel's learning rate by sqrt((fanIn + fanOut) / 1.5), the
   * inverse of the Glorot uniform bound, as the BinaryNet training code does.
   * On by default for binarized kernels.
   */
  glorotLearningRateScale?: boolean;
  /**
   * With quantized gradients (FitOptions.gradientBits) and a binarized input,
   * computes the kernel gradient as a bit-plane GEMM on packed operands
   * instead of a float GEMM. Both give the same values. Default true.
   */
  bitwiseBackward?: boolean;
  name?: string;
}

let denseCount = 0;

/**
 * Fully connected layer y = q_in(x) · q_k(W) + b. With no quantizers it is a
 * float layer; `QuantDense` sets binarized defaults. The kernel is stored as
 * [inputs, units].
 */
export class Dense extends Layer {
  readonly units: number;
  readonly useBias: boolean;
  readonly kernelQuantizer: Quantizer;
  readonly inputQuantizer: Quantizer;
  readonly kernelClip: number | null;
  readonly glorotLearningRateScale: boolean;
  readonly bitwiseBackward: boolean;
  kernel: Tensor = Tensor.zeros([0]);
  bias: Tensor | null = null;

  constructor(units: number, options: DenseOptions = {}) {
    super(options.name ?? `dense_${denseCount++}`);
    if (!Number.isInteger(units) || units <= 0) throw new ShapeError(`${this.name}: units must be a positive integer, got ${units}`);
    this.units = units;
    this.useBias = options.useBias ?? true;
    this.kernelQuantizer = options.kernelQuantizer ?? null;
    this.inputQuantizer = options.inputQuantizer ?? null;
    checkQuantizer(this.name, 'kernelQuantizer', this.kernelQuantizer);
    checkQuantizer(this.name, 'inputQuantizer', this.inputQuantizer);
    this.kernelClip = options.kernelClip ?? null;
    this.glorotLearningRateScale = options.glorotLearningRateScale ?? this.kernelQuantizer !== null;
    this.bitwiseBackward = options.bitwiseBackward ?? true;
  }

  get inputs(): number {
    return this.kernel.shape[0];
  }

  outputShape(inputShape: number[]): number[] {
    this.checkInputShape(inputShape);
    return [this.units];
  }

  protected override createParameters(inputShape: number[], random: Random): void {
    this.checkInputShape(inputShape);
    const fanIn = inputShape[0];

    // Glorot uniform bound; binarized kernels start across the whole clip range,
    // as BinaryNet does, so early sign flips are not all near zero.
    const bound = this.kernelQuantizer !== null ? (this.kernelClip ?? 1) : Math.sqrt(6 / (fanIn + this.units));
    const kernel = new Float32Array(fanIn * this.units);
    for (let i = 0; i < kernel.length; i++) kernel[i] = random.uniform(-bound, bound);
    this.kernel = new Tensor(kernel, [fanIn, this.units], true);
    this.bias = this.useBias ? Tensor.zeros([this.units], true) : null;
  }

  /** The learning-rate multiplier of the kernel. */
  get kernelLearningRateScale(): number {
    return this.glorotLearningRateScale ? Math.sqrt((this.inputs + this.units) / 1.5) : 1;
  }

  override parameters(): Parameter[] {
    const params: Parameter[] = [
      { name: `${this.name}/kernel`, value: this.kernel, learningRateScale: this.kernelLearningRateScale, clip: this.kernelClip },
    ];
    if (this.bias !== null) params.push({ name: `${this.name}/bias`, value: this.bias, learningRateScale: 1, clip: null });
    return params;
  }

  /**
   * Computes q_in(x) · q_k(W) + b. When training with context.gradientBits
   * set, the kernel gradient is computed from k-bit output gradients.
   */
  forward(x: Tensor, context: TrainingContext): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inputs) {
      throw new ShapeError(`${this.name}: expected input [batch, ${this.inputs}], got ${formatShape(x.shape)}`);
    }

    const input = quantize(x, this.inputQuantizer, context, 'input');
    const kernel = quantize(this.kernel, this.kernelQuantizer, context, 'kernel');

    const gradientBits = context.training ? context.gradientBits : undefined;
    let product: Tensor;
    if (gradientBits === undefined) {
      product = matmul(input, kernel);
    } else {
      checkGradientBits(this.name, gradientBits);
      // Only a ±1 input lets the bit-plane GEMM replace the float one.
      const bitwise = this.bitwiseBackward && isBinaryQuantizer(this.inputQuantizer);
      product = matmulQuantizedGradient(input, kernel, { bits: gradientBits, random: context.random, bitwise });
    }
    return this.bias === null ? product : add(product, this.bias);
  }

  private checkInputShape(inputShape: number[]): void {
    if (inputShape.length !== 1) {
      throw new ShapeError(`${this.name}: dense layers take flat inputs [features], got ${formatShape(inputShape)}; add a Flatten layer first`);
    }
  }
}

/**
 * Dense layer with binarized kernel and (by default) binarized input, like
 * Larq's QuantDense: kernel and input quantizers default to the
 * straight-through sign, latent weights are clipped to [-1, 1], no bias.
 * Pass `inputQuantizer: null` for a first layer whose input is real-valued.
 */
export class QuantDense extends Dense {
  constructor(units: number, options: DenseOptions = {}) {
    super(units, {
      useBias: false,
      kernelQuantizer: 'ste_sign',
      inputQuantizer: 'ste_sign',
      kernelClip: 1,
      ...options,
    });
  }
}

/**
 * Applies a kernel or input quantizer with its straight-through gradient.
 * Stochastic binarization is a training-time regularizer, so inference uses
 * the deterministic sign. DoReFa specs quantize weights and activations
 * differently, so they need `role`.
 */
export function quantize(x: Tensor, quantizer: Quantizer, context: ForwardContext, role?: QuantizerRole): Tensor {
  if (role === undefined && quantizer !== null && typeof quantizer === 'object' && quantizer.kind === 'dorefa') {
    throw new QnnError("quantize: a DoReFa quantizer needs role 'kernel' or 'input', because it quantizes weights and activations differently");
  }
  return applyQuantizer(x, quantizer, role ?? 'input', context.training, context.random);
}

import { getBackend } from '../backends/active-backend.js';
import { ShapeError } from '../errors.js';
import { Tensor, formatShape } from '../tensor/tensor.js';
import { type ForwardContext, Layer, type Parameter } from './layer.js';

export interface BatchNormOptions {
  /** Weight of the old value in the running-statistics update: running = momentum * running + (1 - momentum) * batch. */
  momentum?: number;
  epsilon?: number;
  name?: string;
}

let batchNormCount = 0;

/**
 * Batch normalization over the last axis: features are the last dimension, and
 * every other axis counts as samples, so [batch, h, w, c] input normalizes
 * each channel c over batch * h * w values.
 * Training: y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta with batch
 * statistics, running statistics updated. Inference: y = x * scale + shift with
 * scale = gamma / sqrt(running_var + eps) and shift = beta - running_mean * scale,
 * each step rounded to float32; the packed compiler folds exactly this affine map
 * into thresholds, which is why inference never uses another formula.
 */
export class BatchNorm extends Layer {
  readonly momentum: number;
  readonly epsilon: number;
  gamma: Tensor = Tensor.zeros([0]);
  beta: Tensor = Tensor.zeros([0]);
  runningMean = new Float32Array(0);
  runningVariance = new Float32Array(0);

  constructor(options: BatchNormOptions = {}) {
    super(options.name ?? `batch_norm_${batchNormCount++}`);
    this.momentum = options.momentum ?? 0.9;
    this.epsilon = options.epsilon ?? 1e-4;
  }

  get features(): number {
    return this.gamma.size;
  }

  outputShape(inputShape: number[]): number[] {
    return [...inputShape];
  }

  protected override createParameters(inputShape: number[]): void {
    if (inputShape.length === 0) throw new ShapeError(`${this.name}: expected a per-sample shape [..., features], got ${formatShape(inputShape)}`);
    const features = inputShape[inputShape.length - 1];
    this.gamma = new Tensor(new Float32Array(features).fill(1), [features], true);
    this.beta = Tensor.zeros([features], true);
    this.runningMean = new Float32Array(features);
    this.runningVariance = new Float32Array(features).fill(1);
  }

  override parameters(): Parameter[] {
    return [
      { name: `${this.name}/gamma`, value: this.gamma, learningRateScale: 1, clip: null },
      { name: `${this.name}/beta`, value: this.beta, learningRateScale: 1, clip: null },
    ];
  }

  override trainingState(): Float32Array[] {
    return [this.runningMean, this.runningVariance];
  }

  /** Per-feature float32 scale and shift of the inference-mode affine map. */
  inferenceAffine(): { scale: Float32Array; shift: Float32Array } {
    const scale = new Float32Array(this.features);
    const shift = new Float32Array(this.features);
    for (let f = 0; f < this.features; f++) {
      scale[f] = this.gamma.data[f] / Math.sqrt(this.runningVariance[f] + this.epsilon);
      shift[f] = this.beta.data[f] - this.runningMean[f] * scale[f];
    }
    return { scale, shift };
  }

  forward(x: Tensor, context: ForwardContext): Tensor {
    if (x.rank < 2 || x.shape[x.rank - 1] !== this.features) {
      throw new ShapeError(`${this.name}: expected input [batch, ..., ${this.features}], got ${formatShape(x.shape)}`);
    }
    return context.training ? this.forwardTraining(x) : this.forwardInference(x);
  }

  private forwardInference(x: Tensor): Tensor {
    const { scale, shift } = this.inferenceAffine();
    const features = this.features;
    const samples = x.size / features;
    const out = new Float32Array(x.size);

    // Math.fround on the product, then the float32 store, gives IEEE float32 rounding after each step.
    for (let b = 0; b < samples; b++) {
      for (let f = 0; f < features; f++) {
        const i = b * features + f;
        out[i] = Math.fround(x.data[i] * scale[f]) + shift[f];
      }
    }

    // Limitation: gamma and beta get no gradient through the inference path; training uses batch statistics.
    return Tensor.fromOp(out, x.shape, [x], (grad) => {
      const gx = new Float32Array(x.size);
      for (let i = 0; i < gx.length; i++) gx[i] = grad[i] * scale[i % features];
      x.accumulateGrad(gx);
    });
  }

  private forwardTraining(x: Tensor): Tensor {
    const features = this.features;
    // Every axis but the last counts as samples of each feature.
    const samples = x.size / features;
    const backend = getBackend();
    const data = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
    const { out, normalized, mean, variance, inverseStd } = backend.batchNormForward(
      data,
      samples,
      features,
      this.gamma.data as Float32Array,
      this.beta.data as Float32Array,
      this.epsilon,
    );

    // Running variance uses the unbiased batch estimate.
    const correction = samples > 1 ? samples / (samples - 1) : 1;
    for (let f = 0; f < features; f++) {
      this.runningMean[f] = this.momentum * this.runningMean[f] + (1 - this.momentum) * mean[f];
      this.runningVariance[f] = this.momentum * this.runningVariance[f] + (1 - this.momentum) * variance[f] * correction;
    }

    return Tensor.fromOp(out, x.shape, [x, this.gamma, this.beta], (grad) => {
      this.backwardTraining(x, grad, normalized, inverseStd);
    });
  }

  /**
   * dgamma = sum(g * xhat), dbeta = sum(g),
   * dx = gamma * invstd / B * (B * g - sum(g) - xhat * sum(g * xhat)).
   */
  private backwardTraining(x: Tensor, grad: Float32Array, normalized: Float32Array, inverseStd: Float64Array): void {
    const features = this.features;
    const samples = x.size / features;
    const { gradSum, gradDot, dx } = getBackend().batchNormBackward(
      grad,
      normalized,
      samples,
      features,
      this.gamma.data as Float32Array,
      inverseStd,
      x.requiresGrad,
    );

    if (this.gamma.requiresGrad) this.gamma.accumulateGrad(Float32Array.from(gradDot));
    if (this.beta.requiresGrad) this.beta.accumulateGrad(Float32Array.from(gradSum));
    if (dx !== null) x.accumulateOwnedGrad(dx);
  }
}

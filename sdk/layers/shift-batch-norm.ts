import { ShapeError } from '../errors.js';
import { ap2 } from '../quantizers/ap2.js';
import { Tensor, formatShape } from '../tensor/tensor.js';
import { BatchNorm } from './batch-norm.js';
import type { ForwardContext } from './layer.js';

/** Per-feature values of a shift-based training forward pass that its backward pass reuses. */
interface ShiftStatistics {
  /** AP2(gamma), the power-of-two scale of the output. */
  gammaShift: Float64Array;
  /** AP2(1 / sqrt(var + eps)), the power-of-two normalizer. */
  inverseStdShift: Float64Array;
  /** 1 / sqrt(var + eps) before AP2, for the straight-through variance gradient. */
  inverseStd: Float64Array;
}

/**
 * Shift-based batch normalization (Hubara et al., "Quantized Neural Networks",
 * arXiv 1609.07061), which replaces BatchNorm's multiplications with shifts by
 * AP2(x) = sign(x) * 2^round(log2|x|). Training, per feature over the batch:
 *   c_i = x_i - mean_B                       centered input
 *   var = mean_B(c_i * AP2(c_i))             approximate variance
 *   xhat_i = c_i * AP2(1 / sqrt(var + eps))  normalize by a shift
 *   y_i = AP2(gamma) * xhat_i + beta         scale by a shift
 * The running statistics average mean_B and the unbiased approximate variance
 * var * B / (B - 1). Inference applies the same shifts to them:
 *   y = AP2(gamma) * AP2(1 / sqrt(running_var + eps)) * (x - running_mean) + beta
 * through `inferenceAffine`, so the packed compiler folds exactly this map.
 */
export class ShiftBatchNorm extends BatchNorm {
  /** Per-feature float32 scale and shift of the inference-mode affine map; each scale is a signed power of two or 0. */
  override inferenceAffine(): { scale: Float32Array; shift: Float32Array } {
    const scale = new Float32Array(this.features);
    const shift = new Float32Array(this.features);
    for (let f = 0; f < this.features; f++) {
      scale[f] = ap2(this.gamma.data[f]) * ap2(1 / Math.sqrt(this.runningVariance[f] + this.epsilon));
      shift[f] = this.beta.data[f] - this.runningMean[f] * scale[f];
    }
    return { scale, shift };
  }

  override forward(x: Tensor, context: ForwardContext): Tensor {
    if (!context.training) return super.forward(x, context);
    if (x.rank < 2 || x.shape[x.rank - 1] !== this.features) {
      throw new ShapeError(`${this.name}: expected input [batch, ..., ${this.features}], got ${formatShape(x.shape)}`);
    }
    return this.forwardShiftTraining(x);
  }

  /** Normalizes each feature (the last axis) over all other axes of the input. */
  private forwardShiftTraining(x: Tensor): Tensor {
    const features = this.features;
    const samples = x.size / features;
    const mean = new Float64Array(features);
    const variance = new Float64Array(features);

    for (let i = 0; i < x.size; i++) mean[i % features] += x.data[i];
    for (let f = 0; f < features; f++) mean[f] /= samples;

    // c * AP2(c) >= 0, so the approximate variance is never negative.
    for (let i = 0; i < x.size; i++) {
      const centered = x.data[i] - mean[i % features];
      variance[i % features] += centered * ap2(centered);
    }
    for (let f = 0; f < features; f++) variance[f] /= samples;

    const statistics: ShiftStatistics = {
      gammaShift: new Float64Array(features),
      inverseStdShift: new Float64Array(features),
      inverseStd: new Float64Array(features),
    };
    for (let f = 0; f < features; f++) {
      statistics.gammaShift[f] = ap2(this.gamma.data[f]);
      statistics.inverseStd[f] = 1 / Math.sqrt(variance[f] + this.epsilon);
      statistics.inverseStdShift[f] = ap2(statistics.inverseStd[f]);
    }

    const centeredInput = new Float32Array(x.size);
    const normalized = new Float32Array(x.size);
    const out = new Float32Array(x.size);
    for (let i = 0; i < x.size; i++) {
      const f = i % features;
      centeredInput[i] = x.data[i] - mean[f];
      normalized[i] = centeredInput[i] * statistics.inverseStdShift[f];
      out[i] = statistics.gammaShift[f] * normalized[i] + this.beta.data[f];
    }

    const correction = samples > 1 ? samples / (samples - 1) : 1;
    for (let f = 0; f < features; f++) {
      this.runningMean[f] = this.momentum * this.runningMean[f] + (1 - this.momentum) * mean[f];
      this.runningVariance[f] = this.momentum * this.runningVariance[f] + (1 - this.momentum) * variance[f] * correction;
    }

    return Tensor.fromOp(out, x.shape, [x, this.gamma, this.beta], (grad) => {
      this.backwardShiftTraining(x, grad, centeredInput, normalized, statistics);
    });
  }

  /**
   * Gradients with the straight-through estimator on every AP2:
   *   dgamma = sum(g * xhat), treating AP2(gamma) as gamma
   *   dbeta  = sum(g)
   *   dx_i   = AP2(gamma) * AP2(s) * (g_i - mean(g)) - AP2(gamma) * s^3 * c_i * mean(g * c)
   * with s = 1 / sqrt(var + eps) before AP2. The first term is the exact
   * derivative through the centering. The second passes the gradient through
   * AP2(s) as if it were s, and through c * AP2(c) in the variance as if it
   * were c^2 (derivative 2c). Without these two approximations the variance
   * path would have zero gradient almost everywhere, because AP2 is piecewise
   * constant. With AP2 replaced by the identity, this is BatchNorm's backward.
   */
  private backwardShiftTraining(x: Tensor, grad: Float32Array, centeredInput: Float32Array, normalized: Float32Array, statistics: ShiftStatistics): void {
    const features = this.features;
    const samples = x.size / features;
    const gradSum = new Float64Array(features);
    const gradDotNormalized = new Float64Array(features);
    const gradDotCentered = new Float64Array(features);

    for (let i = 0; i < x.size; i++) {
      const f = i % features;
      gradSum[f] += grad[i];
      gradDotNormalized[f] += grad[i] * normalized[i];
      gradDotCentered[f] += grad[i] * centeredInput[i];
    }

    if (this.gamma.requiresGrad) this.gamma.accumulateGrad(Float32Array.from(gradDotNormalized));
    if (this.beta.requiresGrad) this.beta.accumulateGrad(Float32Array.from(gradSum));
    if (!x.requiresGrad) return;

    const gx = new Float32Array(x.size);
    for (let i = 0; i < x.size; i++) {
      const f = i % features;
      const { gammaShift, inverseStdShift, inverseStd } = statistics;
      const centeringTerm = gammaShift[f] * inverseStdShift[f] * (grad[i] - gradSum[f] / samples);
      const varianceTerm = gammaShift[f] * inverseStd[f] ** 3 * centeredInput[i] * (gradDotCentered[f] / samples);
      gx[i] = centeringTerm - varianceTerm;
    }
    x.accumulateGrad(gx);
  }
}

import { BatchNorm, type BatchNormOptions } from '../layers/batch-norm.js';
import type { ForwardContext, Parameter } from '../layers/layer.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Batch norm that always applies its inference-mode affine map, also while
 * training, and exposes no parameters to the optimizer. Fine-tuning on a few
 * samples uses it: batch statistics of ten drawings would move every folded
 * threshold, and the affine map set from the packed thresholds must stay as it is.
 * It is a BatchNorm, so compileModel folds it like any other.
 */
export class FrozenBatchNorm extends BatchNorm {
  /** Epsilon defaults to 0 here, so setAffine can set the inference map exactly. */
  constructor(options: BatchNormOptions = {}) {
    super({ epsilon: 0, ...options });
  }

  override parameters(): Parameter[] {
    return [];
  }

  override forward(x: Tensor, context: ForwardContext): Tensor {
    return super.forward(x, { ...context, training: false });
  }

  /**
   * Sets the inference map to y = fround(x * scale) + shift exactly: running
   * mean 0, running variance 1 and epsilon 0 make scale = gamma and shift = beta.
   */
  setAffine(scale: Float32Array, shift: Float32Array): void {
    this.gamma.data.set(scale);
    this.beta.data.set(shift);
    this.runningMean.fill(0);
    this.runningVariance.fill(1);
  }
}

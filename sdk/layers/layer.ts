import type { Random } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';

/** Settings of a forward pass besides the input tensor. */
export interface ForwardContext {
  /** Training mode: batch statistics in batch norm, active dropout, stochastic quantizers. */
  training: boolean;
  /** Seeded stream for dropout masks and stochastic binarization. */
  random: Random;
}

/** A trainable tensor with the optimizer settings that belong to it. */
export interface Parameter {
  name: string;
  value: Tensor;
  /** Multiplier on the optimizer's learning rate (the Glorot-based scale for binary kernels). */
  learningRateScale: number;
  /** Latent weights are clipped to [-clip, clip] after each step when set. */
  clip: number | null;
}

export abstract class Layer {
  readonly name: string;
  protected built = false;
  protected inputShapeValue: number[] = [];

  constructor(name: string) {
    this.name = name;
  }

  /** Creates the parameters for a per-sample input shape (batch axis excluded). */
  build(inputShape: number[], random: Random): void {
    this.inputShapeValue = [...inputShape];
    this.createParameters(inputShape, random);
    this.built = true;
  }

  get inputShape(): number[] {
    return this.inputShapeValue;
  }

  abstract outputShape(inputShape: number[]): number[];

  abstract forward(x: Tensor, context: ForwardContext): Tensor;

  parameters(): Parameter[] {
    return [];
  }

  /**
   * Arrays that a training-mode forward pass updates outside the optimizer
   * (batch-norm running statistics), so a failed step can restore them.
   */
  trainingState(): Float32Array[] {
    return [];
  }

  protected createParameters(_inputShape: number[], _random: Random): void {}
}

import type { Parameter } from '../layers/layer.js';

/** A rule that updates parameters from their accumulated gradients, as `fit` calls it once per batch. */
export interface Optimizer {
  /** Base step size; `fit` sets it each epoch when a learning-rate schedule is given. */
  learningRate: number;

  /** Applies one update from the parameters' accumulated gradients, then clears them. */
  apply(parameters: Parameter[]): void;
}

import type { Parameter } from '../layers/layer.js';

/**
 * Everything an optimizer carries from one step to the next, so a checkpoint
 * can resume training bit for bit. `slots` lines up with the parameter list
 * given to getState: slot arrays by name (Adam's 'm' and 'v'), or null for a
 * parameter that has had no gradient yet.
 */
export interface OptimizerState {
  /** Class of the optimizer ('adam', 'shift-adamax', 'bop'); setState rejects another kind. */
  kind: string;
  step: number;
  learningRate: number;
  /** Hyperparameters, stored so a resumed run can tell when they were changed. */
  settings: Record<string, number>;
  slots: (Record<string, Float32Array> | null)[];
  /** State of an optimizer this one delegates to (Bop's otherOptimizer). */
  inner?: OptimizerState;
}

/** A rule that updates parameters from their accumulated gradients, as `fit` calls it once per batch. */
export interface Optimizer {
  /** Base step size; `fit` sets it each epoch when a learning-rate schedule is given. */
  learningRate: number;

  /** Applies one update from the parameters' accumulated gradients, then clears them. */
  apply(parameters: Parameter[]): void;

  /** Copies the step count, learning rate and per-parameter slots, in the order of `parameters`. */
  getState?(parameters: Parameter[]): OptimizerState;

  /** Replaces the state with a copy of `state`, whose slots follow the order of `parameters`. */
  setState?(state: OptimizerState, parameters: Parameter[]): void;
}

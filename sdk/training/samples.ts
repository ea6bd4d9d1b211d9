import { ShapeError } from '../errors.js';

/** Number of samples in a flat input array of `features` values each; throws when the length does not divide. */
export function checkSampleCount(inputs: ArrayLike<number>, features: number): number {
  if (inputs.length % features !== 0) {
    throw new ShapeError(`input length ${inputs.length} is not a multiple of the ${features} features per sample`);
  }
  return inputs.length / features;
}

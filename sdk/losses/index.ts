import type { Tensor } from '../tensor/tensor.js';
import { softmaxCrossEntropy } from './softmax-cross-entropy.js';
import { squaredHinge } from './squared-hinge.js';

export type LossName = 'squared_hinge' | 'softmax_cross_entropy';
export type LossFn = (scores: Tensor, labels: ArrayLike<number>) => Tensor;

export const losses: Record<LossName, LossFn> = {
  squared_hinge: squaredHinge,
  softmax_cross_entropy: softmaxCrossEntropy,
};

export { softmaxCrossEntropy, squaredHinge };

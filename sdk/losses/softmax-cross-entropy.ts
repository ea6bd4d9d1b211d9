import { logSumExpRow } from '../ops/softmax.js';
import { Tensor } from '../tensor/tensor.js';
import { checkScores } from './squared-hinge.js';

/**
 * Softmax cross-entropy over class scores, fused for numerical stability:
 *   L = mean over batch of (logsumexp(y) - y[label])
 *   dL/dy = (softmax(y) - onehot(label)) / batch
 */
export function softmaxCrossEntropy(scores: Tensor, labels: ArrayLike<number>): Tensor {
  const [batch, classes] = checkScores(scores, labels, 'softmaxCrossEntropy');
  const probabilities = new Float32Array(batch * classes);
  let total = 0;

  for (let b = 0; b < batch; b++) {
    const base = b * classes;
    const logTotal = logSumExpRow(scores.data, base, classes);
    for (let c = 0; c < classes; c++) probabilities[base + c] = Math.exp(scores.data[base + c] - logTotal);
    total += logTotal - scores.data[base + labels[b]];
  }

  return Tensor.fromOp(Float32Array.of(total / batch), [], [scores], (grad) => {
    const gx = new Float32Array(batch * classes);
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < classes; c++) {
        const i = b * classes + c;
        gx[i] = ((probabilities[i] - (labels[b] === c ? 1 : 0)) * grad[0]) / batch;
      }
    }
    scores.accumulateGrad(gx);
  });
}

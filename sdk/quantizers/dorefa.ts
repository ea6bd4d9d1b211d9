import { Tensor } from '../tensor/tensor.js';
import { checkBitWidth } from './linear-quant.js';
import { roundHalfToEven } from './rounding.js';

// DoReFa-Net quantizers (Zhou et al., "DoReFa-Net: Training Low Bitwidth
// Convolutional Neural Networks with Low Bitwidth Gradients", arXiv 1606.06160).

/**
 * Quantizes v in [0, 1] to the 2^bits levels {0, 1/(2^bits - 1), ..., 1}:
 *   quantize_k(v) = roundHalfToEven((2^bits - 1) * v) / (2^bits - 1)
 * Its straight-through gradient is 1, which callers apply themselves.
 */
export function quantizeK(value: number, bits: number): number {
  const levels = 2 ** bits - 1;
  return roundHalfToEven(levels * value) / levels;
}

/**
 * DoReFa k-bit activation quantization with the straight-through estimator:
 *   forward:  q = quantize_k(clip(x, 0, 1))
 *   backward: dq/dx = 1 if 0 <= x <= 1 (inclusive), else 0
 */
export function dorefaActivations(x: Tensor, bits: number): Tensor {
  checkBitWidth('dorefaActivations', bits);

  const data = x.data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < out.length; i++) out[i] = quantizeK(Math.min(1, Math.max(0, data[i])), bits);

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    if (!x.requiresGrad) return;
    const gx = x.gradBuffer();
    for (let i = 0; i < gx.length; i++) gx[i] += data[i] >= 0 && data[i] <= 1 ? grad[i] : 0;
  });
}

/**
 * DoReFa k-bit weight quantization. For bits >= 2:
 *   forward:  t = tanh(x), m = max_j |t_j|, v = t / (2m) + 1/2 (in [0, 1])
 *             q = 2 * quantize_k(v) - 1 (in [-1, 1])
 *   backward: dq/dv = 2 straight through the rounding. v(x) is differentiated
 *             exactly, including the path through m, whose gradient is split
 *             equally among the elements that attain the maximum.
 * For bits >= 2 the levels are odd multiples of 1/(2^bits - 1), so 0 is not
 * one of them and x = 0 (v = 1/2) rounds half to even: 1/3 for bits = 2.
 * For bits = 1 the paper uses a scaled sign instead:
 *   forward:  q = sign(x) * mean_j |x_j|, with sign(0) = +1
 *   backward: dq/dx = 1 (the paper passes the gradient straight through,
 *             also past the mean)
 */
export function dorefaWeights(x: Tensor, bits: number): Tensor {
  checkBitWidth('dorefaWeights', bits);
  return bits === 1 ? dorefaBinaryWeights(x) : dorefaMultiBitWeights(x, bits);
}

function dorefaBinaryWeights(x: Tensor): Tensor {
  const data = x.data;
  let absSum = 0;
  for (let i = 0; i < data.length; i++) absSum += Math.abs(data[i]);
  const meanAbs = data.length === 0 ? 0 : absSum / data.length;

  const out = new Float32Array(data.length);
  for (let i = 0; i < out.length; i++) out[i] = data[i] < 0 ? -meanAbs : meanAbs;

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    x.accumulateGrad(grad);
  });
}

function dorefaMultiBitWeights(x: Tensor, bits: number): Tensor {
  const data = x.data;
  const tanh = new Float64Array(data.length);
  let maxAbs = 0;
  for (let i = 0; i < data.length; i++) {
    tanh[i] = Math.tanh(data[i]);
    maxAbs = Math.max(maxAbs, Math.abs(tanh[i]));
  }
  // NOTE: an all-zero tensor has no scale, so it is divided by 1 instead. Every
  // element then maps to v = 1/2 and the gradient stays finite.
  const scale = maxAbs === 0 ? 1 : maxAbs;

  const out = new Float32Array(data.length);
  for (let i = 0; i < out.length; i++) out[i] = 2 * quantizeK(tanh[i] / (2 * scale) + 0.5, bits) - 1;

  return Tensor.fromOp(out, x.shape, [x], (grad) => {
    if (!x.requiresGrad) return;

    // dL/dv = 2 * grad, so the direct path gives dL/dt_i = grad_i / m. The path through the max adds
    // dL/dm = -sum_i grad_i * t_i / m^2, shared by the elements with |t| = m and times sign(t).
    const gradTanh = new Float64Array(data.length);
    let gradScale = 0;
    let argmaxCount = 0;
    for (let i = 0; i < data.length; i++) {
      gradTanh[i] = grad[i] / scale;
      gradScale -= (grad[i] * tanh[i]) / (scale * scale);
      if (maxAbs > 0 && Math.abs(tanh[i]) === maxAbs) argmaxCount++;
    }
    if (argmaxCount > 0) {
      for (let i = 0; i < data.length; i++) {
        if (Math.abs(tanh[i]) === maxAbs) gradTanh[i] += (Math.sign(tanh[i]) * gradScale) / argmaxCount;
      }
    }

    const gx = x.gradBuffer();
    for (let i = 0; i < gx.length; i++) gx[i] += gradTanh[i] * (1 - tanh[i] * tanh[i]);
  });
}

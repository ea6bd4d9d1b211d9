import { ShapeError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { type ForwardContext, Layer } from './layer.js';

let dropoutCount = 0;

/**
 * Inverted dropout: in training each element is zeroed with probability
 * `rate` and the survivors are scaled by 1 / (1 - rate). Inference is the identity.
 */
export class Dropout extends Layer {
  readonly rate: number;

  constructor(rate: number, options: { name?: string } = {}) {
    super(options.name ?? `dropout_${dropoutCount++}`);
    if (!(rate >= 0 && rate < 1)) throw new ShapeError(`${this.name}: rate must be in [0, 1), got ${rate}`);
    this.rate = rate;
  }

  outputShape(inputShape: number[]): number[] {
    return [...inputShape];
  }

  forward(x: Tensor, context: ForwardContext): Tensor {
    if (!context.training || this.rate === 0) return x;

    const keep = 1 / (1 - this.rate);
    const mask = new Float32Array(x.size);
    for (let i = 0; i < mask.length; i++) mask[i] = context.random.next() < this.rate ? 0 : keep;
    const out = new Float32Array(x.size);
    for (let i = 0; i < out.length; i++) out[i] = x.data[i] * mask[i];

    return Tensor.fromOp(out, x.shape, [x], (grad) => {
      const gx = new Float32Array(grad.length);
      for (let i = 0; i < gx.length; i++) gx[i] = grad[i] * mask[i];
      x.accumulateGrad(gx);
    });
  }
}

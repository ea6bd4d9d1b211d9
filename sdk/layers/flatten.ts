import { ShapeError } from '../errors.js';
import { type Tensor, formatShape, shapeSize } from '../tensor/tensor.js';
import { type ForwardContext, Layer } from './layer.js';
import { reshape } from './reshape.js';

let flattenCount = 0;

/**
 * Flattens each sample to one axis in row-major order, so an NHWC feature map
 * [H, W, C] becomes index (y * W + x) * C + c. The packed engine flattens its
 * channel-packed activations to the same order.
 */
export class Flatten extends Layer {
  constructor(options: { name?: string } = {}) {
    super(options.name ?? `flatten_${flattenCount++}`);
  }

  outputShape(inputShape: number[]): number[] {
    if (inputShape.length === 0) throw new ShapeError(`${this.name}: expected a per-sample shape of rank 1 or more, got ${formatShape(inputShape)}`);
    return [shapeSize(inputShape)];
  }

  forward(x: Tensor, _context: ForwardContext): Tensor {
    if (x.rank < 1) throw new ShapeError(`${this.name}: expected input [batch, ...], got ${formatShape(x.shape)}`);
    const batch = x.shape[0];
    return reshape(x, [batch, batch === 0 ? 0 : x.size / batch]);
  }
}

import { getBackend } from '../backends/active-backend.js';
import { windowOutputSize } from '../backends/backend.js';
import { ShapeError } from '../errors.js';
import { Tensor, formatShape } from '../tensor/tensor.js';
import { type ForwardContext, Layer } from './layer.js';

export interface MaxPool2DOptions {
  /** Window step along height and width; a number sets both. Defaults to the pool size, as in Keras. */
  strides?: number | [number, number];
  name?: string;
}

let maxPoolCount = 0;

/**
 * Max-pooling over VALID windows of NHWC input, per channel:
 * y[n, oy, ox, c] = max_{py, px} x[n, oy*SH + py, ox*SW + px, c].
 * The gradient goes to the first maximum of each window (in row-major window order).
 */
export class MaxPool2D extends Layer {
  readonly poolHeight: number;
  readonly poolWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;

  constructor(poolSize: number | [number, number] = 2, options: MaxPool2DOptions = {}) {
    super(options.name ?? `max_pool2d_${maxPoolCount++}`);
    const [poolHeight, poolWidth] = typeof poolSize === 'number' ? [poolSize, poolSize] : poolSize;
    const [strideHeight, strideWidth] = options.strides === undefined ? [poolHeight, poolWidth] : typeof options.strides === 'number' ? [options.strides, options.strides] : options.strides;
    const integers = { poolHeight, poolWidth, strideHeight, strideWidth };
    for (const [field, value] of Object.entries(integers)) {
      if (!Number.isInteger(value) || value <= 0) throw new ShapeError(`${this.name}: ${field} must be a positive integer, got ${value}`);
    }
    this.poolHeight = poolHeight;
    this.poolWidth = poolWidth;
    this.strideHeight = strideHeight;
    this.strideWidth = strideWidth;
  }

  outputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.name}: expected NHWC images [height, width, channels] per sample, got ${formatShape(inputShape)}`);
    const [height, width, channels] = inputShape;
    if (height < this.poolHeight || width < this.poolWidth) {
      throw new ShapeError(`${this.name}: the ${this.poolHeight}x${this.poolWidth} window is larger than the ${height}x${width} input, which leaves no output with VALID windows`);
    }
    return [windowOutputSize(height, this.poolHeight, this.strideHeight, 'valid'), windowOutputSize(width, this.poolWidth, this.strideWidth, 'valid'), channels];
  }

  forward(x: Tensor, _context: ForwardContext): Tensor {
    if (x.rank !== 4) throw new ShapeError(`${this.name}: expected input [batch, height, width, channels], got ${formatShape(x.shape)}`);
    const [batch, height, width, channels] = x.shape;
    const [outHeight, outWidth] = this.outputShape([height, width, channels]);
    const { poolHeight, poolWidth, strideHeight, strideWidth } = this;
    const backend = getBackend();
    const data = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
    const { out, winners } = backend.maxPool2dForward(data, { batch, height, width, channels, poolHeight, poolWidth, strideHeight, strideWidth });

    return Tensor.fromOp(out, [batch, outHeight, outWidth, channels], [x], (grad) => {
      if (!x.requiresGrad) return;
      x.accumulateOwnedGrad(backend.maxPool2dBackward(grad, winners, x.size));
    });
  }
}

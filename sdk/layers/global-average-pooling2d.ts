import { ShapeError } from '../errors.js';
import { Tensor, formatShape } from '../tensor/tensor.js';
import { type ForwardContext, Layer } from './layer.js';

let poolCount = 0;

/**
 * Mean over height and width of NHWC input: y[n, c] = (1 / (H * W)) * sum_{y, x} x[n, y, x, c].
 * compileNetwork compiles it after a QuantConv2D block and before a Dense layer,
 * with this arithmetic (float64 sums in pixel order, one division), to a 'globalAveragePool2d' layer.
 */
export class GlobalAveragePooling2D extends Layer {
  constructor(options: { name?: string } = {}) {
    super(options.name ?? `global_average_pooling2d_${poolCount++}`);
  }

  outputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.name}: expected NHWC images [height, width, channels] per sample, got ${formatShape(inputShape)}`);
    return [inputShape[2]];
  }

  forward(x: Tensor, _context: ForwardContext): Tensor {
    if (x.rank !== 4) throw new ShapeError(`${this.name}: expected input [batch, height, width, channels], got ${formatShape(x.shape)}`);
    const [batch, height, width, channels] = x.shape;
    const pixels = height * width;
    const sums = new Float64Array(batch * channels);

    for (let n = 0; n < batch; n++) {
      for (let p = 0; p < pixels; p++) {
        for (let c = 0; c < channels; c++) sums[n * channels + c] += x.data[(n * pixels + p) * channels + c];
      }
    }
    const out = Float32Array.from(sums, (sum) => sum / pixels);

    return Tensor.fromOp(out, [batch, channels], [x], (grad) => {
      if (!x.requiresGrad) return;
      const gx = x.gradBuffer();
      for (let n = 0; n < batch; n++) {
        for (let p = 0; p < pixels; p++) {
          for (let c = 0; c < channels; c++) gx[(n * pixels + p) * channels + c] += grad[n * channels + c] / pixels;
        }
      }
    });
  }
}

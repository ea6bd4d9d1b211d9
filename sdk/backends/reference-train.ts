/**
 * Reference float kernels of the training graph: convolution by im2col and
 * GEMM, max-pooling with winner indices, and batch norm with batch
 * statistics. They are the oracle for the WASM kernels of asm/im2col.ts,
 * asm/max-pool2d.ts and asm/batch-norm.ts, and the arithmetic order here is
 * the one those kernels follow.
 */
import { QnnError, ShapeError } from '../errors.js';
import type { BatchNormBackwardResult, BatchNormForwardResult, BinaryConv2dShape, MaxPool2dShape } from './backend.js';
import { windowOutputSize } from './backend.js';
import { MAX_DIM, checkDims, checkLength } from './kernel-checks.js';
import { binaryConv2dGeometry } from './reference-conv.js';

/** Rows and columns of the im2col matrix of a convolution: [N*OH*OW, KH*KW*C]. */
export function im2colSize(shape: BinaryConv2dShape): { rows: number; columns: number } {
  const { outHeight, outWidth } = binaryConv2dGeometry(shape);
  return { rows: shape.batch * outHeight * outWidth, columns: shape.kernelHeight * shape.kernelWidth * shape.channels };
}

/** Throws unless `shape` is a valid float convolution; `kernel` names the caller. */
export function checkConv2dShape(kernel: string, shape: BinaryConv2dShape): void {
  const { batch, height, width, channels, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth } = shape;
  checkDims(kernel, { batch, height, width, channels, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth });
  for (const [name, value] of Object.entries({ channels, kernelHeight, kernelWidth, strideHeight, strideWidth })) {
    if (value < 1) throw new ShapeError(`${kernel}: ${name} = ${value} is invalid, expected a positive integer`);
  }
  if (shape.padding !== 'same' && shape.padding !== 'valid') {
    throw new QnnError(`${kernel}: padding '${String(shape.padding)}' is invalid, expected 'same' or 'valid'`);
  }
  if (shape.padValue !== 1 && shape.padValue !== 0 && shape.padValue !== -1) {
    throw new QnnError(`${kernel}: padValue = ${String(shape.padValue)} is invalid, expected 1, 0 or -1`);
  }
  if (shape.padding === 'valid' && (kernelHeight > height || kernelWidth > width)) {
    throw new ShapeError(
      `${kernel}: the ${kernelHeight}x${kernelWidth} kernel is larger than the ${height}x${width} input, ` +
        "which leaves no output with 'valid' padding. Use 'same' padding or a smaller kernel",
    );
  }
  const { rows, columns } = im2colSize(shape);
  if (rows * Math.max(columns, outChannels) * 4 > MAX_DIM) {
    throw new ShapeError(
      `${kernel}: the im2col matrix [${rows}, ${columns}] of this convolution needs more than 2 GiB. Use a smaller batch`,
    );
  }
}

/** Checks the operands of the three conv2d kernels: x [N,H,W,C], kernel [KH,KW,C,O], grad [N,OH,OW,O]. */
export function checkConv2dOperands(kernel: string, shape: BinaryConv2dShape, operands: { x?: Float32Array; weights?: Float32Array; grad?: Float32Array }): void {
  checkConv2dShape(kernel, shape);
  const { batch, height, width, channels, outChannels, kernelHeight, kernelWidth } = shape;
  const { rows, columns } = im2colSize(shape);
  if (operands.x !== undefined) {
    checkLength(kernel, 'x', operands.x, batch * height * width * channels, `batch * height * width * channels = ${batch} * ${height} * ${width} * ${channels}`);
  }
  if (operands.weights !== undefined) {
    checkLength(kernel, 'kernel', operands.weights, columns * outChannels, `kernelHeight * kernelWidth * channels * outChannels = ${kernelHeight} * ${kernelWidth} * ${channels} * ${outChannels}`);
  }
  if (operands.grad !== undefined) {
    checkLength(kernel, 'grad', operands.grad, rows * outChannels, `batch * outHeight * outWidth * outChannels = ${rows} * ${outChannels}`);
  }
}

/** Convolution window fields the im2col walk reads; BinaryConv2dShape and the layers' ConvWindow both have them. */
export type Im2colWindow = Omit<BinaryConv2dShape, 'outChannels' | 'padValue'>;

/**
 * Calls visit(target, source, count) for every in-image tap of the im2col
 * matrix: its `count` = C channels sit at flat index `target` of the matrix and
 * at flat NHWC index `source` of the input, both contiguous. Padded taps are
 * skipped. One call per tap rather than per element keeps the callback cost
 * off the inner loop.
 */
export function forEachIm2colTap(window: Im2colWindow, visit: (target: number, source: number, count: number) => void): void {
  const { batch, height, width, channels, kernelHeight, kernelWidth, strideHeight, strideWidth } = window;
  const { outHeight, outWidth, padTop, padLeft } = binaryConv2dGeometry({ ...window, outChannels: 1, padValue: 0 });
  const columns = kernelHeight * kernelWidth * channels;

  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const row = (n * outHeight + oy) * outWidth + ox;
        for (let ky = 0; ky < kernelHeight; ky++) {
          const y = oy * strideHeight - padTop + ky;
          if (y < 0 || y >= height) continue;
          for (let kx = 0; kx < kernelWidth; kx++) {
            const x = ox * strideWidth - padLeft + kx;
            if (x < 0 || x >= width) continue;
            visit(row * columns + (ky * kernelWidth + kx) * channels, ((n * height + y) * width + x) * channels, channels);
          }
        }
      }
    }
  }
}

/** The im2col matrix of x, padded taps set to shape.padValue. */
export function im2colReference(x: Float32Array, shape: BinaryConv2dShape): Float32Array {
  const { rows, columns } = im2colSize(shape);
  const cols = new Float32Array(rows * columns).fill(shape.padValue);
  const channels = shape.channels;
  forEachIm2colTap(shape, (target, source) => {
    for (let c = 0; c < channels; c++) cols[target + c] = x[source + c];
  });
  return cols;
}

/** col2im: sums the in-image entries of a column gradient back into an input gradient. */
export function col2imReference(dcols: Float32Array, shape: BinaryConv2dShape): Float32Array {
  const dx = new Float32Array(shape.batch * shape.height * shape.width * shape.channels);
  const channels = shape.channels;
  forEachIm2colTap(shape, (target, source) => {
    for (let c = 0; c < channels; c++) dx[source + c] += dcols[target + c];
  });
  return dx;
}

/** Checks a float max-pool shape and returns its output height and width. */
export function checkMaxPool2dShape(kernel: string, shape: MaxPool2dShape): { outHeight: number; outWidth: number } {
  const { batch, height, width, channels, poolHeight, poolWidth, strideHeight, strideWidth } = shape;
  checkDims(kernel, { batch, height, width, channels, poolHeight, poolWidth, strideHeight, strideWidth });
  for (const [name, value] of Object.entries({ poolHeight, poolWidth, strideHeight, strideWidth })) {
    if (value < 1) throw new ShapeError(`${kernel}: ${name} = ${value} is invalid, expected a positive integer`);
  }
  if (poolHeight > height || poolWidth > width) {
    throw new ShapeError(`${kernel}: the ${poolHeight}x${poolWidth} window is larger than the ${height}x${width} input, which leaves no output with VALID windows`);
  }
  return {
    outHeight: windowOutputSize(height, poolHeight, strideHeight, 'valid'),
    outWidth: windowOutputSize(width, poolWidth, strideWidth, 'valid'),
  };
}

export function maxPool2dForwardReference(x: Float32Array, shape: MaxPool2dShape): { out: Float32Array; winners: Int32Array } {
  const { outHeight, outWidth } = checkMaxPool2dShape('maxPool2dForward', shape);
  const { batch, height, width, channels, poolHeight, poolWidth, strideHeight, strideWidth } = shape;
  checkLength('maxPool2dForward', 'x', x, batch * height * width * channels, `batch * height * width * channels = ${batch} * ${height} * ${width} * ${channels}`);
  const out = new Float32Array(batch * outHeight * outWidth * channels);
  const winners = new Int32Array(out.length);

  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const target = ((n * outHeight + oy) * outWidth + ox) * channels;
        const first = ((n * height + oy * strideHeight) * width + ox * strideWidth) * channels;
        for (let c = 0; c < channels; c++) {
          let bestIndex = first + c;
          for (let py = 0; py < poolHeight; py++) {
            for (let px = 0; px < poolWidth; px++) {
              const source = first + (py * width + px) * channels + c;
              if (x[source] > x[bestIndex]) bestIndex = source;
            }
          }
          out[target + c] = x[bestIndex];
          winners[target + c] = bestIndex;
        }
      }
    }
  }
  return { out, winners };
}

export function maxPool2dBackwardReference(grad: Float32Array, winners: Int32Array, inputLength: number): Float32Array {
  checkDims('maxPool2dBackward', { inputLength });
  checkLength('maxPool2dBackward', 'winners', winners, grad.length, 'grad.length');
  const dx = new Float32Array(inputLength);
  for (let i = 0; i < grad.length; i++) {
    const index = winners[i];
    if (!(index >= 0 && index < inputLength)) {
      throw new ShapeError(`maxPool2dBackward: winners[${i}] = ${index} is outside the input of ${inputLength} floats`);
    }
    dx[index] += grad[i];
  }
  return dx;
}

/** Checks the operands of batchNormForward and batchNormBackward. */
export function checkBatchNorm(kernel: string, x: Float32Array, samples: number, features: number, gamma: Float32Array): void {
  checkDims(kernel, { samples, features });
  checkLength(kernel, 'x', x, samples * features, `samples * features = ${samples} * ${features}`);
  checkLength(kernel, 'gamma', gamma, features, 'features');
}

export function batchNormForwardReference(
  x: Float32Array,
  samples: number,
  features: number,
  gamma: Float32Array,
  beta: Float32Array,
  epsilon: number,
): BatchNormForwardResult {
  checkBatchNorm('batchNormForward', x, samples, features, gamma);
  checkLength('batchNormForward', 'beta', beta, features, 'features');
  const mean = new Float64Array(features);
  const variance = new Float64Array(features);
  const inverseStd = new Float64Array(features);

  for (let b = 0; b < samples; b++) {
    for (let f = 0; f < features; f++) mean[f] += x[b * features + f];
  }
  for (let f = 0; f < features; f++) mean[f] /= samples;
  for (let b = 0; b < samples; b++) {
    for (let f = 0; f < features; f++) {
      const d = x[b * features + f] - mean[f];
      variance[f] += d * d;
    }
  }
  for (let f = 0; f < features; f++) {
    variance[f] /= samples;
    inverseStd[f] = 1 / Math.sqrt(variance[f] + epsilon);
  }

  const normalized = new Float32Array(x.length);
  const out = new Float32Array(x.length);
  for (let b = 0; b < samples; b++) {
    for (let f = 0; f < features; f++) {
      const i = b * features + f;
      normalized[i] = (x[i] - mean[f]) * inverseStd[f];
      out[i] = gamma[f] * normalized[i] + beta[f];
    }
  }
  return { out, normalized, mean, variance, inverseStd };
}

export function batchNormBackwardReference(
  grad: Float32Array,
  normalized: Float32Array,
  samples: number,
  features: number,
  gamma: Float32Array,
  inverseStd: Float64Array,
  inputGrad: boolean,
): BatchNormBackwardResult {
  checkBatchNorm('batchNormBackward', grad, samples, features, gamma);
  checkLength('batchNormBackward', 'normalized', normalized, samples * features, 'samples * features');
  checkLength('batchNormBackward', 'inverseStd', inverseStd, features, 'features');
  const gradSum = new Float64Array(features);
  const gradDot = new Float64Array(features);

  for (let b = 0; b < samples; b++) {
    for (let f = 0; f < features; f++) {
      const i = b * features + f;
      gradSum[f] += grad[i];
      gradDot[f] += grad[i] * normalized[i];
    }
  }
  if (!inputGrad) return { gradSum, gradDot, dx: null };

  const dx = new Float32Array(grad.length);
  for (let b = 0; b < samples; b++) {
    for (let f = 0; f < features; f++) {
      const i = b * features + f;
      const factor = (gamma[f] * inverseStd[f]) / samples;
      dx[i] = factor * (samples * grad[i] - gradSum[f] - normalized[i] * gradDot[f]);
    }
  }
  return { gradSum, gradDot, dx };
}

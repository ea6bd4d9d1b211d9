/**
 * im2col for NHWC convolution in the training graph:
 *   cols[N*OH*OW, KH*KW*C] with column (ky * KW + kx) * C + c holding
 *   x[n, oy*SH - padTop + ky, ox*SW - padLeft + kx, c], or padValue outside the image.
 * A convolution is then cols · kernel[KH*KW*C, O], whose row-major result is the NHWC output.
 * The column order is the row-major order of a [KH, KW, C, O] kernel, so the kernel needs no copy.
 */
import { getBackend } from '../backends/active-backend.js';
import type { Backend, BinaryConv2dShape } from '../backends/backend.js';
import { type Conv2dGeometry, binaryConv2dGeometry } from '../backends/reference-conv.js';
import { forEachIm2colTap } from '../backends/reference-train.js';
import { Tensor } from '../tensor/tensor.js';

/** Geometry of a convolution window over NHWC input, in the terms of the packed kernels so both graphs pad alike. */
export interface ConvWindow {
  batch: number;
  height: number;
  width: number;
  channels: number;
  kernelHeight: number;
  kernelWidth: number;
  strideHeight: number;
  strideWidth: number;
  padding: 'same' | 'valid';
}

/** Returns the output size and leading padding with the same SAME/VALID rules as the packed binaryConv2d kernel. */
export function convGeometry(window: ConvWindow): Conv2dGeometry {
  const shape: BinaryConv2dShape = { ...window, outChannels: 1, padValue: 0 };
  return binaryConv2dGeometry(shape);
}

// The tap walk is shared with the reference training kernels, so both graphs visit taps alike.
export { forEachIm2colTap };

/** im2col of x [N, H, W, C] with padded taps set to padValue; the backward pass sums column gradients back into x (col2im). */
export function im2col(x: Tensor, window: ConvWindow, padValue: number): Tensor {
  const { outHeight, outWidth } = convGeometry(window);
  const rows = window.batch * outHeight * outWidth;
  const columns = window.kernelHeight * window.kernelWidth * window.channels;
  const cols = new Float32Array(rows * columns).fill(padValue);
  const data = x.data;

  // A plain loop: a subarray per tap costs more than the copy for the few channels of early layers.
  forEachIm2colTap(window, (target, source, count) => {
    for (let c = 0; c < count; c++) cols[target + c] = data[source + c];
  });

  return Tensor.fromOp(cols, [rows, columns], [x], (grad) => {
    if (!x.requiresGrad) return;
    const gx = x.gradBuffer();
    forEachIm2colTap(window, (target, source, count) => {
      for (let c = 0; c < count; c++) gx[source + c] += grad[target + c];
    });
  });
}

/**
 * Float convolution op of the training graph: y[N, OH, OW, O] = im2col(x) · kernel with
 * kernel [KH, KW, C, O], run as one fused call of the active backend so the column matrix
 * stays inside it. The gradients are those of the im2col + matmul pair above.
 *
 * With `binaryOperands` the caller promises that x and kernel contain only ±1 (both binarized),
 * and the forward pass runs as packed XNOR-popcount convolution: every output is an integer
 * of magnitude at most KH*KW*C, which float32 represents exactly, so the result is the float one
 * bit for bit at a fraction of the cost. The backward pass stays float.
 */
export function conv2d(x: Tensor, kernel: Tensor, window: ConvWindow, padValue: 1 | 0 | -1, binaryOperands = false): Tensor {
  const outChannels = kernel.shape[3];
  const shape: BinaryConv2dShape = { ...window, outChannels, padValue };
  const { outHeight, outWidth } = convGeometry(window);
  const backend = getBackend();
  const xData = toFloat32(x);
  const kernelData = toFloat32(kernel);
  const exact = binaryOperands && window.kernelHeight * window.kernelWidth * window.channels < 2 ** 24;
  const out = exact ? binaryConvForward(backend, xData, kernelData, shape) : backend.conv2dForward(xData, kernelData, shape);

  return Tensor.fromOp(out, [window.batch, outHeight, outWidth, outChannels], [x, kernel], (grad) => {
    // Backends return fresh arrays, so the gradients adopt them without a copy.
    if (x.requiresGrad) x.accumulateOwnedGrad(backend.conv2dBackwardInput(grad, kernelData, shape));
    if (kernel.requiresGrad) kernel.accumulateOwnedGrad(backend.conv2dBackwardKernel(xData, grad, shape));
  });
}

/** Computes the forward convolution of ±1 operands on packed signs: x packed per pixel, the kernel per filter, then binaryConv2d. */
function binaryConvForward(backend: Backend, x: Float32Array, kernel: Float32Array, shape: BinaryConv2dShape): Float32Array {
  const { batch, height, width, channels, outChannels } = shape;
  const taps = shape.kernelHeight * shape.kernelWidth;

  // [KH, KW, C, O] -> [O, KH, KW, C], the filter-major layout of the packed weights.
  const filters = new Float32Array(kernel.length);
  const fanIn = taps * channels;
  for (let i = 0; i < fanIn; i++) {
    for (let o = 0; o < outChannels; o++) filters[o * fanIn + i] = kernel[i * outChannels + o];
  }

  const packedX = backend.packSigns(x, batch * height * width, channels);
  const packedW = backend.packSigns(filters, outChannels * taps, channels);
  return Float32Array.from(backend.binaryConv2d(packedX, packedW, shape));
}
function toFloat32(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
}

/**
 * Reference binary convolution and max-pooling on packed NHWC signs, plus the
 * operand checks and window geometry that every backend shares.
 *
 *   out[N,OH,OW,O] (i32) = sum_{ky<KH, kx<KW} dot(x[n, oy*SH - padTop + ky, ox*SW - padLeft + kx, :], w[o, ky, kx, :])
 *   pool[N,OH,OW,W] (u32) = AND over the PH x PW window of x[n, y, x, :],  W = ceil(C / 32)
 *
 * A pixel contains C signs in W little-endian u32 words, channel c in bit (c mod 32)
 * of word c >> 5, bit 1 meaning -1 and pad bits 0. dot over C channels is
 * C - 2 * popcount(a XOR b). A tap outside the image takes padValue for all C
 * channels, so it contributes padValue * (sum of that tap's C weight signs).
 */
import { QnnError, ShapeError } from '../errors.js';
import { type BinaryConv2dShape, type MaxPool2dShape, windowOutputSize, wordsPerRow } from './backend.js';
import { popcount32 } from './popcount.js';

/** Largest value a dimension may take, because the WASM kernels take dimensions as i32. */
const MAX_DIM = 0x7fffffff;

/** Output size and leading padding of a convolution, resolved from its shape. */
export interface Conv2dGeometry {
  outHeight: number;
  outWidth: number;
  /** Padded rows above the image: the smaller half of the total, as TensorFlow splits SAME padding. */
  padTop: number;
  /** Padded columns left of the image. */
  padLeft: number;
}

function checkDim(kernel: string, name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min || value > MAX_DIM) {
    throw new ShapeError(`${kernel}: ${name} = ${value} is invalid, expected an integer from ${min} to ${MAX_DIM}`);
  }
}

function checkWords(kernel: string, name: string, array: Uint32Array, expected: number, layout: string): void {
  if (array.length !== expected) {
    throw new ShapeError(`${kernel}: ${name} has ${array.length} words, expected ${layout} = ${expected}`);
  }
}

/** Returns the padding placed before the image along one axis (TensorFlow's SAME rule, and 0 for VALID). */
function leadingPadding(size: number, window: number, stride: number, outSize: number, padding: 'same' | 'valid'): number {
  if (padding === 'valid') return 0;
  const total = Math.max((outSize - 1) * stride + window - size, 0);
  return Math.floor(total / 2);
}

/** Returns the output size and leading padding of a convolution. Assumes a shape that passed checkBinaryConv2d. */
export function binaryConv2dGeometry(shape: BinaryConv2dShape): Conv2dGeometry {
  const { height, width, kernelHeight, kernelWidth, strideHeight, strideWidth, padding } = shape;
  const outHeight = windowOutputSize(height, kernelHeight, strideHeight, padding);
  const outWidth = windowOutputSize(width, kernelWidth, strideWidth, padding);
  return {
    outHeight,
    outWidth,
    padTop: leadingPadding(height, kernelHeight, strideHeight, outHeight, padding),
    padLeft: leadingPadding(width, kernelWidth, strideWidth, outWidth, padding),
  };
}

/**
 * Throws a ShapeError unless `shape` is a valid convolution and `input` and
 * `weights` have the lengths it implies, or a QnnError for an unknown
 * padding or padValue. `kernel` names the caller in messages.
 */
export function checkBinaryConv2d(kernel: string, input: Uint32Array, weights: Uint32Array, shape: BinaryConv2dShape): void {
  const { batch, height, width, channels, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth } = shape;
  checkDim(kernel, 'batch', batch, 0);
  checkDim(kernel, 'height', height, 0);
  checkDim(kernel, 'width', width, 0);
  checkDim(kernel, 'channels', channels, 1);
  checkDim(kernel, 'outChannels', outChannels, 0);
  checkDim(kernel, 'kernelHeight', kernelHeight, 1);
  checkDim(kernel, 'kernelWidth', kernelWidth, 1);
  checkDim(kernel, 'strideHeight', strideHeight, 1);
  checkDim(kernel, 'strideWidth', strideWidth, 1);

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
  // |out| <= KH * KW * C, which must fit the i32 accumulators.
  if (kernelHeight * kernelWidth * channels > MAX_DIM) {
    throw new ShapeError(
      `${kernel}: kernelHeight * kernelWidth * channels = ${kernelHeight} * ${kernelWidth} * ${channels} ` +
        `exceeds ${MAX_DIM}, so the int32 output could overflow`,
    );
  }

  const words = wordsPerRow(channels);
  checkWords(
    kernel,
    'input',
    input,
    batch * height * width * words,
    `batch * height * width * ceil(channels / 32) = ${batch} * ${height} * ${width} * ${words}`,
  );
  checkWords(
    kernel,
    'weights',
    weights,
    outChannels * kernelHeight * kernelWidth * words,
    `outChannels * kernelHeight * kernelWidth * ceil(channels / 32) = ${outChannels} * ${kernelHeight} * ${kernelWidth} * ${words}`,
  );
}

/** Throws a ShapeError unless `shape` is a valid VALID max-pool and `input` has the length it implies. */
export function checkBinaryMaxPool2d(kernel: string, input: Uint32Array, shape: MaxPool2dShape): void {
  const { batch, height, width, channels, poolHeight, poolWidth, strideHeight, strideWidth } = shape;
  checkDim(kernel, 'batch', batch, 0);
  checkDim(kernel, 'height', height, 0);
  checkDim(kernel, 'width', width, 0);
  checkDim(kernel, 'channels', channels, 1);
  checkDim(kernel, 'poolHeight', poolHeight, 1);
  checkDim(kernel, 'poolWidth', poolWidth, 1);
  checkDim(kernel, 'strideHeight', strideHeight, 1);
  checkDim(kernel, 'strideWidth', strideWidth, 1);

  if (poolHeight > height || poolWidth > width) {
    throw new ShapeError(
      `${kernel}: the ${poolHeight}x${poolWidth} window is larger than the ${height}x${width} input, ` +
        'which leaves no output because max-pooling uses VALID windows only',
    );
  }

  const words = wordsPerRow(channels);
  checkWords(
    kernel,
    'input',
    input,
    batch * height * width * words,
    `batch * height * width * ceil(channels / 32) = ${batch} * ${height} * ${width} * ${words}`,
  );
}

/** Returns the sum of the C weight signs of each filter tap, as [O, KH * KW]. */
function tapWeightSums(weights: Uint32Array, shape: BinaryConv2dShape): Int32Array {
  const words = wordsPerRow(shape.channels);
  const taps = shape.outChannels * shape.kernelHeight * shape.kernelWidth;
  const sums = new Int32Array(taps);

  for (let t = 0; t < taps; t++) {
    let negative = 0;
    for (let w = 0; w < words; w++) negative += popcount32(weights[t * words + w]);
    sums[t] = shape.channels - 2 * negative;
  }
  return sums;
}

/**
 * Binary 2-D convolution, one output at a time: in-image taps add
 * C - 2 * popcount(x XOR w), padded taps add padValue times the tap's weight sum.
 * Returns int32 [N, OH, OW, O]. Written for clarity, not speed.
 */
export function binaryConv2dReference(input: Uint32Array, weights: Uint32Array, shape: BinaryConv2dShape): Int32Array {
  checkBinaryConv2d('binaryConv2d', input, weights, shape);

  const { batch, height, width, channels, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth, padValue } =
    shape;
  const { outHeight, outWidth, padTop, padLeft } = binaryConv2dGeometry(shape);
  const words = wordsPerRow(channels);
  const sums = tapWeightSums(weights, shape);
  const out = new Int32Array(batch * outHeight * outWidth * outChannels);

  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        for (let o = 0; o < outChannels; o++) {
          let sum = 0;
          for (let ky = 0; ky < kernelHeight; ky++) {
            for (let kx = 0; kx < kernelWidth; kx++) {
              const y = oy * strideHeight - padTop + ky;
              const x = ox * strideWidth - padLeft + kx;
              const tap = (o * kernelHeight + ky) * kernelWidth + kx;

              if (y < 0 || y >= height || x < 0 || x >= width) {
                sum += padValue * sums[tap];
                continue;
              }
              const pixel = ((n * height + y) * width + x) * words;
              let differing = 0;
              for (let w = 0; w < words; w++) differing += popcount32(input[pixel + w] ^ weights[tap * words + w]);
              sum += channels - 2 * differing;
            }
          }
          out[((n * outHeight + oy) * outWidth + ox) * outChannels + o] = sum;
        }
      }
    }
  }
  return out;
}

/**
 * Binary max-pooling over VALID windows: each output word is the AND of the
 * window's words, because the max of signs is +1 (bit 0) when any input is +1.
 * Returns [N, OH, OW, ceil(C / 32)] words. Written for clarity, not speed.
 */
export function binaryMaxPool2dReference(input: Uint32Array, shape: MaxPool2dShape): Uint32Array {
  checkBinaryMaxPool2d('binaryMaxPool2d', input, shape);

  const { batch, height, width, channels, poolHeight, poolWidth, strideHeight, strideWidth } = shape;
  const outHeight = windowOutputSize(height, poolHeight, strideHeight, 'valid');
  const outWidth = windowOutputSize(width, poolWidth, strideWidth, 'valid');
  const words = wordsPerRow(channels);
  const out = new Uint32Array(batch * outHeight * outWidth * words);

  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        for (let w = 0; w < words; w++) {
          let word = 0xffffffff;
          for (let py = 0; py < poolHeight; py++) {
            for (let px = 0; px < poolWidth; px++) {
              const y = oy * strideHeight + py;
              const x = ox * strideWidth + px;
              word &= input[((n * height + y) * width + x) * words + w];
            }
          }
          out[((n * outHeight + oy) * outWidth + ox) * words + w] = word >>> 0;
        }
      }
    }
  }
  return out;
}

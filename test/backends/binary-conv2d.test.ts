// Binary 2-D convolution: the reference against a float convolution of the decoded signs,
// both WASM builds against the reference on seeded random shapes, and hand-computed cases.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import type { Backend, BinaryConv2dShape } from '../../sdk/backends/backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { QnnError, ShapeError } from '../../sdk/errors.js';
import { SeededRandom } from '../helpers/random.js';

const reference = new ReferenceBackend();

/** Channel counts around the 32-bit word boundary, and 100 (four words, one v128 per pixel). */
const CHANNELS = [1, 31, 32, 33, 100];
const KERNELS = [
  { kernelHeight: 1, kernelWidth: 1 },
  { kernelHeight: 3, kernelWidth: 3 },
  { kernelHeight: 2, kernelWidth: 3 },
];
const STRIDES = [1, 2];
const PADDINGS = ['same', 'valid'] as const;
const PAD_VALUES = [1, 0, -1] as const;

/** Decodes packed rows [rows, ceil(k / 32)] into float signs [rows, k] (bit 1 -> -1, bit 0 -> +1). */
function unpackSigns(words: Uint32Array, rows: number, k: number): Float32Array {
  const perRow = Math.ceil(k / 32);
  const out = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < k; i++) {
      const bit = (words[r * perRow + (i >>> 5)] >>> (i & 31)) & 1;
      out[r * k + i] = bit === 1 ? -1 : 1;
    }
  }
  return out;
}

/**
 * Convolves decoded float signs (NHWC) over an explicitly padded image. The
 * image is copied into a canvas filled with padValue, and every output is a
 * plain sum of products.
 */
function floatConv2d(input: Float32Array, weights: Float32Array, shape: BinaryConv2dShape): Float32Array {
  const { batch, height, width, channels: c, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth } = shape;
  // TensorFlow's rule, written out here so the oracle does not share the code under test.
  const outSize = (size: number, window: number, stride: number): number =>
    shape.padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - window) / stride) + 1;
  const outHeight = outSize(height, kernelHeight, strideHeight);
  const outWidth = outSize(width, kernelWidth, strideWidth);
  const samePadding = shape.padding === 'same';
  const padTop = samePadding ? Math.floor(Math.max((outHeight - 1) * strideHeight + kernelHeight - height, 0) / 2) : 0;
  const padLeft = samePadding ? Math.floor(Math.max((outWidth - 1) * strideWidth + kernelWidth - width, 0) / 2) : 0;
  const paddedHeight = Math.max((outHeight - 1) * strideHeight + kernelHeight, height + padTop);
  const paddedWidth = Math.max((outWidth - 1) * strideWidth + kernelWidth, width + padLeft);

  const canvas = new Float32Array(batch * paddedHeight * paddedWidth * c).fill(shape.padValue);
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let ch = 0; ch < c; ch++) {
          const source = ((n * height + y) * width + x) * c + ch;
          const target = ((n * paddedHeight + y + padTop) * paddedWidth + x + padLeft) * c + ch;
          canvas[target] = input[source];
        }
      }
    }
  }

  const out = new Float32Array(batch * outHeight * outWidth * outChannels);
  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        for (let o = 0; o < outChannels; o++) {
          let sum = 0;
          for (let ky = 0; ky < kernelHeight; ky++) {
            for (let kx = 0; kx < kernelWidth; kx++) {
              const y = oy * strideHeight + ky;
              const x = ox * strideWidth + kx;
              for (let ch = 0; ch < c; ch++) {
                const value = canvas[((n * paddedHeight + y) * paddedWidth + x) * c + ch];
                const weight = weights[((o * kernelHeight + ky) * kernelWidth + kx) * c + ch];
                sum += value * weight;
              }
            }
          }
          out[((n * outHeight + oy) * outWidth + ox) * outChannels + o] = sum;
        }
      }
    }
  }
  return out;
}

interface ConvCase {
  shape: BinaryConv2dShape;
  input: Uint32Array;
  weights: Uint32Array;
  label: string;
}

/** Yields one random case per combination of channels, kernel, stride, padding and padValue. */
function* randomCases(seed: number): Generator<ConvCase> {
  const random = new SeededRandom(seed);
  for (const channels of CHANNELS) {
    for (const kernel of KERNELS) {
      for (const stride of STRIDES) {
        for (const padding of PADDINGS) {
          for (const padValue of PAD_VALUES) {
            const shape: BinaryConv2dShape = {
              batch: random.int(2, 3),
              height: random.int(kernel.kernelHeight, 8),
              width: random.int(kernel.kernelWidth, 9),
              channels,
              // 1 to 11 filters: below, at and past the four filters of one SIMD pass.
              outChannels: random.int(1, 11),
              ...kernel,
              strideHeight: stride,
              strideWidth: random.int(1, 2) === 1 ? stride : 3 - stride,
              padding,
              padValue,
            };
            const { batch, height, width, outChannels, kernelHeight, kernelWidth } = shape;
            yield {
              shape,
              input: random.packedSigns(batch * height * width, channels),
              weights: random.packedSigns(outChannels * kernelHeight * kernelWidth, channels),
              label: JSON.stringify(shape),
            };
          }
        }
      }
    }
  }
}

/** Returns a random 5x5 kernel on a 2x3 image with 33 channels, so every SAME window crosses the border, some on both sides. */
function wideKernelCase(random: SeededRandom, padValue: 1 | 0 | -1): ConvCase {
  const shape: BinaryConv2dShape = {
    batch: 2,
    height: 2,
    width: 3,
    channels: 33,
    outChannels: 5,
    kernelHeight: 5,
    kernelWidth: 5,
    strideHeight: 1,
    strideWidth: 2,
    padding: 'same',
    padValue,
  };
  return {
    shape,
    input: random.packedSigns(2 * 2 * 3, 33),
    weights: random.packedSigns(5 * 5 * 5, 33),
    label: JSON.stringify(shape),
  };
}

/** Asserts equal length and equal elements, naming the first differing index. */
function assertSameElements(actual: ArrayLike<number>, expected: ArrayLike<number>, context: string): void {
  assert.equal(actual.length, expected.length, `${context}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.equal(actual[i], expected[i], `${context}: element ${i} differs`);
    }
  }
}

/** Returns the shape of a 1x3 single-channel image with one 1x3 filter, SAME, stride 1. */
function rowImageShape(padValue: 1 | 0 | -1): BinaryConv2dShape {
  return {
    batch: 1,
    height: 1,
    width: 3,
    channels: 1,
    outChannels: 1,
    kernelHeight: 1,
    kernelWidth: 3,
    strideHeight: 1,
    strideWidth: 1,
    padding: 'same',
    padValue,
  };
}

/** Registers the hand-computed cases in the enclosing describe. */
function defineNamedCases(backend: () => Backend): void {
  // Latent weights [0.2, 0.2, 0.2] binarize to +1, and a per-channel scale of 0.5 gives the float outputs
  // a training graph computes. The middle output has three in-image taps (3). Each edge output has two
  // in-image taps and one padded tap of value padValue, so it is 2 + padValue.
  const padCases = [
    { padValue: 0, ints: [2, 3, 2], scaled: [1.0, 1.5, 1.0] },
    { padValue: 1, ints: [3, 3, 3], scaled: [1.5, 1.5, 1.5] },
    { padValue: -1, ints: [1, 3, 1], scaled: [0.5, 1.5, 0.5] },
  ] as const;
  for (const { padValue, ints, scaled } of padCases) {
    it(`padValue ${padValue} on 1x3 image`, () => {
      const input = backend().packSigns(Float32Array.from([1, 1, 1]), 3, 1);
      const weights = backend().packSigns(Float32Array.from([0.2, 0.2, 0.2]), 3, 1);
      const out = backend().binaryConv2d(input, weights, rowImageShape(padValue));
      assert.deepEqual(Array.from(out), ints);
      assert.deepEqual(
        Array.from(out, (value) => value * 0.5),
        scaled,
      );
    });
  }

  it('same_padding puts the extra column after', () => {
    // W = 4, KW = 2, SAME: total padding 1 goes after the image, none before.
    // x = [+1, -1, +1, -1], w = [+1, +1], padValue -1: outputs x0+x1, x1+x2, x2+x3, x3+pad.
    const input = Uint32Array.from([0, 1, 0, 1]);
    const weights = Uint32Array.from([0, 0]);
    const shape: BinaryConv2dShape = {
      ...rowImageShape(-1),
      width: 4,
      kernelWidth: 2,
    };
    assert.deepEqual(Array.from(backend().binaryConv2d(input, weights, shape)), [0, 0, 0, -2]);
  });

  it('padded tap with 33 channels', () => {
    // One 1x3 filter of 33 channels whose tap 0 is all -1 and taps 1, 2 all +1. Output 0 has tap 0 in the padding.
    // Input all +1: in-image taps give 33 + 33. The padded tap gives padValue * (-33).
    const input = new Uint32Array(3 * 2);
    const weights = Uint32Array.from([0xffffffff, 1, 0, 0, 0, 0]);
    for (const padValue of [1, 0, -1] as const) {
      const shape: BinaryConv2dShape = { ...rowImageShape(padValue), channels: 33 };
      const out = backend().binaryConv2d(input, weights, shape);
      assert.equal(out[0], 66 - 33 * padValue, `padValue ${padValue}: output 0`);
      assert.equal(out[1], -33 + 66, `padValue ${padValue}: output 1`);
    }
  });

  it('valid padding with stride 2', () => {
    // Single channel, 1x5 image [+1, -1, -1, +1, -1], 1x3 filter [+1, -1, +1], stride 2: windows at x = 0 and x = 2.
    const input = Uint32Array.from([0, 1, 1, 0, 1]);
    const weights = Uint32Array.from([0, 1, 0]);
    const shape: BinaryConv2dShape = { ...rowImageShape(0), width: 5, strideWidth: 2, padding: 'valid' };
    // (+1)(+1) + (-1)(-1) + (-1)(+1) = 1 and (-1)(+1) + (+1)(-1) + (-1)(+1) = -3.
    assert.deepEqual(Array.from(backend().binaryConv2d(input, weights, shape)), [1, -3]);
  });

  it('binaryConv2d rejects input of the wrong length', () => {
    assert.throws(
      () => backend().binaryConv2d(new Uint32Array(2), new Uint32Array(3), rowImageShape(0)),
      (error: unknown) =>
        error instanceof ShapeError &&
        /input has 2 words, expected batch \* height \* width \* ceil\(channels \/ 32\) = 1 \* 1 \* 3 \* 1 = 3/.test(error.message),
    );
  });

  it('binaryConv2d rejects weights of the wrong length', () => {
    assert.throws(
      () => backend().binaryConv2d(new Uint32Array(3), new Uint32Array(4), rowImageShape(0)),
      (error: unknown) => error instanceof ShapeError && /weights has 4 words, expected .* = 3/.test(error.message),
    );
  });

  it('binaryConv2d rejects a kernel larger than valid input', () => {
    const shape: BinaryConv2dShape = { ...rowImageShape(0), padding: 'valid', width: 2 };
    assert.throws(
      () => backend().binaryConv2d(new Uint32Array(2), new Uint32Array(3), shape),
      (error: unknown) => error instanceof ShapeError && /1x3 kernel is larger than the 1x2 input/.test(error.message),
    );
  });

  it('binaryConv2d rejects an unknown padValue', () => {
    const shape = { ...rowImageShape(0), padValue: 2 } as unknown as BinaryConv2dShape;
    assert.throws(
      () => backend().binaryConv2d(new Uint32Array(3), new Uint32Array(3), shape),
      (error: unknown) => error instanceof QnnError && /padValue = 2 is invalid/.test(error.message),
    );
  });

  it('binaryConv2d rejects a zero stride', () => {
    const shape: BinaryConv2dShape = { ...rowImageShape(0), strideWidth: 0 };
    assert.throws(() => backend().binaryConv2d(new Uint32Array(3), new Uint32Array(3), shape), ShapeError);
  });
}

describe('reference binaryConv2d', () => {
  it('matches a float convolution of the decoded signs', () => {
    for (const { shape, input, weights, label } of randomCases(601)) {
      const { batch, height, width, channels, outChannels, kernelHeight, kernelWidth } = shape;
      const expected = floatConv2d(
        unpackSigns(input, batch * height * width, channels),
        unpackSigns(weights, outChannels * kernelHeight * kernelWidth, channels),
        shape,
      );
      assertSameElements(reference.binaryConv2d(input, weights, shape), expected, label);
    }
  });

  it('matches floats on a wide SAME kernel', () => {
    const random = new SeededRandom(602);
    for (const padValue of PAD_VALUES) {
      const { shape, input, weights, label } = wideKernelCase(random, padValue);
      const expected = floatConv2d(unpackSigns(input, 12, 33), unpackSigns(weights, 125, 33), shape);
      assertSameElements(reference.binaryConv2d(input, weights, shape), expected, label);
    }
  });

  defineNamedCases(() => reference);
});

for (const simd of [true, false]) {
  const name = simd ? 'wasm-simd' : 'wasm-scalar';

  describe(`${name} binaryConv2d`, () => {
    let backend: Backend;

    before(async () => {
      backend = await createWasmBackend({ simd });
    });

    it('matches reference on random shapes', () => {
      for (const { shape, input, weights, label } of randomCases(701)) {
        assertSameElements(backend.binaryConv2d(input, weights, shape), reference.binaryConv2d(input, weights, shape), label);
      }
    });

    it('matches reference across widening chunks', () => {
      // 1400 channels are 44 words, so an in-image kernel row of three taps is 132 words (33 vectors),
      // past the 31 vectors after which the SIMD u8 counters are widened.
      const random = new SeededRandom(702);
      for (const padValue of PAD_VALUES) {
        const shape: BinaryConv2dShape = {
          batch: 1,
          height: 4,
          width: 5,
          channels: 1400,
          outChannels: 6,
          kernelHeight: 3,
          kernelWidth: 3,
          strideHeight: 1,
          strideWidth: 1,
          padding: 'same',
          padValue,
        };
        const input = random.packedSigns(4 * 5, 1400);
        const weights = random.packedSigns(6 * 9, 1400);
        const label = `padValue ${padValue}`;
        assertSameElements(backend.binaryConv2d(input, weights, shape), reference.binaryConv2d(input, weights, shape), label);
      }
    });

    it('matches reference on a wide SAME kernel', () => {
      const random = new SeededRandom(703);
      for (const padValue of PAD_VALUES) {
        const { shape, input, weights, label } = wideKernelCase(random, padValue);
        assertSameElements(backend.binaryConv2d(input, weights, shape), reference.binaryConv2d(input, weights, shape), label);
      }
    });

    it('returns empty output for batch 0', () => {
      const shape: BinaryConv2dShape = { ...rowImageShape(1), batch: 0 };
      assert.equal(backend.binaryConv2d(new Uint32Array(0), new Uint32Array(3), shape).length, 0);
    });

    defineNamedCases(() => backend);
  });
}

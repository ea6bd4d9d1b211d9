// Binary max-pooling: the reference against a float max over decoded signs,
// both WASM builds against the reference on seeded random shapes, and hand-computed cases.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { type Backend, type MaxPool2dShape, windowOutputSize } from '../../sdk/backends/backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { ShapeError } from '../../sdk/errors.js';
import { SeededRandom } from '../helpers/random.js';

const reference = new ReferenceBackend();

/** Channel counts around the 32-bit word and 128-bit vector boundaries. */
const CHANNELS = [1, 31, 32, 33, 100, 128, 130];
const WINDOWS = [
  { poolHeight: 1, poolWidth: 1 },
  { poolHeight: 2, poolWidth: 2 },
  { poolHeight: 3, poolWidth: 3 },
  { poolHeight: 2, poolWidth: 3 },
];
const STRIDES = [1, 2, 3];

interface PoolCase {
  shape: MaxPool2dShape;
  input: Uint32Array;
  label: string;
}

/** Yields one random case per combination of channels, window and stride. */
function* randomCases(seed: number): Generator<PoolCase> {
  const random = new SeededRandom(seed);
  for (const channels of CHANNELS) {
    for (const window of WINDOWS) {
      for (const stride of STRIDES) {
        const shape: MaxPool2dShape = {
          batch: random.int(2, 3),
          height: random.int(window.poolHeight, 8),
          width: random.int(window.poolWidth, 9),
          channels,
          ...window,
          strideHeight: stride,
          strideWidth: random.int(1, 3),
        };
        // Sparse -1 inputs would make almost every max +1, so OR two random words: each sign is -1 with probability 3/4.
        const pixels = shape.batch * shape.height * shape.width;
        const input = random.packedSigns(pixels, channels);
        const extra = random.packedSigns(pixels, channels);
        for (let i = 0; i < input.length; i++) input[i] = (input[i] | extra[i]) >>> 0;
        yield { shape, input, label: JSON.stringify(shape) };
      }
    }
  }
}

/** Max of the decoded signs over each VALID window, packed back (bit 1 when the max is -1). */
function floatMaxPool(input: Uint32Array, shape: MaxPool2dShape): Uint32Array {
  const { batch, height, width, channels, poolHeight, poolWidth, strideHeight, strideWidth } = shape;
  const outHeight = windowOutputSize(height, poolHeight, strideHeight, 'valid');
  const outWidth = windowOutputSize(width, poolWidth, strideWidth, 'valid');
  const words = Math.ceil(channels / 32);
  const sign = (pixel: number, c: number): number => ((input[pixel * words + (c >>> 5)] >>> (c & 31)) & 1 ? -1 : 1);

  const maxima = new Float32Array(batch * outHeight * outWidth * channels);
  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        for (let c = 0; c < channels; c++) {
          let max = -Infinity;
          for (let py = 0; py < poolHeight; py++) {
            for (let px = 0; px < poolWidth; px++) {
              const pixel = (n * height + oy * strideHeight + py) * width + ox * strideWidth + px;
              max = Math.max(max, sign(pixel, c));
            }
          }
          maxima[((n * outHeight + oy) * outWidth + ox) * channels + c] = max;
        }
      }
    }
  }
  return reference.packSigns(maxima, batch * outHeight * outWidth, channels);
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

/** Registers the hand-computed cases in the enclosing describe. */
function defineNamedCases(backend: () => Backend): void {
  it('max of one +1 among -1 is +1', () => {
    // 2x4 single-channel image, 2x2 windows with stride 2. Left window {-1, -1, -1, +1} has max +1 (bit 0).
    // Right window is all -1, so its max is -1 (bit 1).
    const input = Uint32Array.from([1, 1, 1, 1, 1, 0, 1, 1]);
    const shape: MaxPool2dShape = {
      batch: 1,
      height: 2,
      width: 4,
      channels: 1,
      poolHeight: 2,
      poolWidth: 2,
      strideHeight: 2,
      strideWidth: 2,
    };
    assert.deepEqual(Array.from(backend().binaryMaxPool2d(input, shape)), [0, 1]);
  });

  it('channels pool independently past 32', () => {
    // 33 channels, 1x2 image, one 1x2 window. Channel 0 is -1 in both pixels (max -1), channel 5 is -1 only in
    // pixel 0 (max +1), channel 32 is -1 in both (max -1), all others +1.
    const input = Uint32Array.from([(1 | (1 << 5)) >>> 0, 1, 1, 1]);
    const shape: MaxPool2dShape = {
      batch: 1,
      height: 1,
      width: 2,
      channels: 33,
      poolHeight: 1,
      poolWidth: 2,
      strideHeight: 1,
      strideWidth: 1,
    };
    assert.deepEqual(Array.from(backend().binaryMaxPool2d(input, shape)), [1, 1]);
  });

  it('binaryMaxPool2d rejects input of the wrong length', () => {
    const shape: MaxPool2dShape = {
      batch: 2,
      height: 2,
      width: 2,
      channels: 40,
      poolHeight: 2,
      poolWidth: 2,
      strideHeight: 1,
      strideWidth: 1,
    };
    assert.throws(
      () => backend().binaryMaxPool2d(new Uint32Array(15), shape),
      (error: unknown) =>
        error instanceof ShapeError &&
        /input has 15 words, expected batch \* height \* width \* ceil\(channels \/ 32\) = 2 \* 2 \* 2 \* 2 = 16/.test(error.message),
    );
  });

  it('binaryMaxPool2d rejects a window larger than input', () => {
    const shape: MaxPool2dShape = {
      batch: 1,
      height: 2,
      width: 2,
      channels: 1,
      poolHeight: 3,
      poolWidth: 2,
      strideHeight: 1,
      strideWidth: 1,
    };
    assert.throws(
      () => backend().binaryMaxPool2d(new Uint32Array(4), shape),
      (error: unknown) => error instanceof ShapeError && /3x2 window is larger than the 2x2 input/.test(error.message),
    );
  });
}

describe('reference binaryMaxPool2d', () => {
  it('matches a float max of the decoded signs', () => {
    for (const { shape, input, label } of randomCases(801)) {
      assertSameElements(reference.binaryMaxPool2d(input, shape), floatMaxPool(input, shape), label);
    }
  });

  defineNamedCases(() => reference);
});

for (const simd of [true, false]) {
  const name = simd ? 'wasm-simd' : 'wasm-scalar';

  describe(`${name} binaryMaxPool2d`, () => {
    let backend: Backend;

    before(async () => {
      backend = await createWasmBackend({ simd });
    });

    it('matches reference on random shapes', () => {
      for (const { shape, input, label } of randomCases(901)) {
        assertSameElements(backend.binaryMaxPool2d(input, shape), reference.binaryMaxPool2d(input, shape), label);
      }
    });

    defineNamedCases(() => backend);
  });
}

// Tests the float training kernels: conv2d forward and gradients, max-pool with winners, and batch norm.
// The WASM backends, with one thread and two, run against ReferenceBackend on random odd shapes.
// Hand-computed cases check the reference itself, and the conv2d op's packed forward path is checked to be exact.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { BinaryConv2dShape, MaxPool2dShape } from '../../sdk/backends/backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { getBackend, setBackend } from '../../sdk/backends/active-backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import type { WasmBackend } from '../../sdk/backends/wasm-backend.js';
import { ShapeError } from '../../sdk/errors.js';
import { conv2d } from '../../sdk/layers/im2col.js';
import { Tensor } from '../../sdk/tensor/tensor.js';
import { SeededRandom } from '../helpers/random.js';

const reference = new ReferenceBackend();

/** Odd convolution shapes: 1 and many channels, strides 1 and 2, both paddings, all pad values. */
const CONV_SHAPES: BinaryConv2dShape[] = [
  { batch: 2, height: 5, width: 7, channels: 1, outChannels: 3, kernelHeight: 3, kernelWidth: 3, strideHeight: 1, strideWidth: 1, padding: 'same', padValue: 1 },
  { batch: 3, height: 6, width: 5, channels: 5, outChannels: 9, kernelHeight: 2, kernelWidth: 3, strideHeight: 2, strideWidth: 1, padding: 'same', padValue: 0 },
  { batch: 1, height: 7, width: 6, channels: 13, outChannels: 11, kernelHeight: 3, kernelWidth: 2, strideHeight: 1, strideWidth: 2, padding: 'valid', padValue: -1 },
  { batch: 4, height: 9, width: 9, channels: 33, outChannels: 17, kernelHeight: 3, kernelWidth: 3, strideHeight: 1, strideWidth: 1, padding: 'same', padValue: -1 },
  // Enough rows (2 * 23 * 23 = 1058) that the kernel gradient walks several 256-row blocks and both threads get work.
  { batch: 2, height: 23, width: 23, channels: 8, outChannels: 12, kernelHeight: 3, kernelWidth: 3, strideHeight: 1, strideWidth: 1, padding: 'same', padValue: 1 },
];

const POOL_SHAPES: MaxPool2dShape[] = [
  { batch: 2, height: 4, width: 6, channels: 3, poolHeight: 2, poolWidth: 2, strideHeight: 2, strideWidth: 2 },
  { batch: 1, height: 7, width: 5, channels: 17, poolHeight: 3, poolWidth: 2, strideHeight: 2, strideWidth: 1 },
  { batch: 3, height: 5, width: 5, channels: 1, poolHeight: 2, poolWidth: 3, strideHeight: 1, strideWidth: 2 },
];

function describeShape(shape: object): string {
  return JSON.stringify(shape);
}

function outputRows(shape: BinaryConv2dShape): number {
  const outHeight = shape.padding === 'same' ? Math.ceil(shape.height / shape.strideHeight) : Math.floor((shape.height - shape.kernelHeight) / shape.strideHeight) + 1;
  const outWidth = shape.padding === 'same' ? Math.ceil(shape.width / shape.strideWidth) : Math.floor((shape.width - shape.kernelWidth) / shape.strideWidth) + 1;
  return shape.batch * outHeight * outWidth;
}

/** Asserts |actual - expected| <= 1e-5 * (1 + |expected|) element-wise: float sums in another order. */
function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = 1e-5 * (1 + Math.abs(expected[i]));
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

describe('reference training kernels on hand-computed cases', () => {
  // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]] (1 image, 1 channel), kernel 2x2 = [[1, 0], [0, -1]], VALID, stride 1.
  const shape: BinaryConv2dShape = { batch: 1, height: 3, width: 3, channels: 1, outChannels: 1, kernelHeight: 2, kernelWidth: 2, strideHeight: 1, strideWidth: 1, padding: 'valid', padValue: 0 };
  const x = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
  const kernel = Float32Array.of(1, 0, 0, -1);

  it('conv2dForward gives x[y, x] - x[y + 1, x + 1]', () => {
    assert.deepEqual([...reference.conv2dForward(x, kernel, shape)], [1 - 5, 2 - 6, 4 - 8, 5 - 9]);
  });

  it('conv2dBackwardInput and conv2dBackwardKernel with a gradient of ones', () => {
    const ones = new Float32Array(4).fill(1);
    // Each output adds +1 to its top-left tap and -1 to its bottom-right tap.
    assert.deepEqual([...reference.conv2dBackwardInput(ones, kernel, shape)], [1, 1, 0, 1, 0, -1, 0, -1, -1]);
    // dkernel[ky, kx] = sum of the 2x2 input block at offset (ky, kx).
    assert.deepEqual([...reference.conv2dBackwardKernel(x, ones, shape)], [1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9]);
  });

  it('SAME padding with padValue 1 counts the padded taps as +1', () => {
    const same: BinaryConv2dShape = { ...shape, height: 1, width: 1, kernelHeight: 3, kernelWidth: 3, padding: 'same', padValue: 1 };
    // One pixel of value 5 and eight padded taps of 1 against an all-ones kernel: 5 + 8.
    assert.deepEqual([...reference.conv2dForward(Float32Array.of(5), new Float32Array(9).fill(1), same)], [13]);
  });

  it('maxPool2dForward keeps the first maximum and the backward pass adds at the winner', () => {
    const pool: MaxPool2dShape = { batch: 1, height: 2, width: 3, channels: 1, poolHeight: 2, poolWidth: 2, strideHeight: 1, strideWidth: 1 };
    // Windows [3, 1, 3, 0] and [1, 2, 0, 3]: the first 3 (index 0) and the 3 at index 5 win.
    const { out, winners } = reference.maxPool2dForward(Float32Array.of(3, 1, 2, 3, 0, 3), pool);
    assert.deepEqual([...out], [3, 3]);
    assert.deepEqual([...winners], [0, 5]);
    assert.deepEqual([...reference.maxPool2dBackward(Float32Array.of(0.5, 2), winners, 6)], [0.5, 0, 0, 0, 0, 2]);
  });

  it('batchNormForward normalizes each feature over the samples', () => {
    // Feature 0: [1, 3] -> mean 2, variance 1; feature 1: [2, 2] -> variance 0.
    const result = reference.batchNormForward(Float32Array.of(1, 2, 3, 2), 2, 2, Float32Array.of(2, 1), Float32Array.of(0.5, -1), 0);
    assert.deepEqual([...result.mean], [2, 2]);
    assert.deepEqual([...result.variance], [1, 0]);
    assert.deepEqual([...result.normalized.subarray(0, 1)], [-1]);
    assert.deepEqual([...result.out.subarray(0, 1)], [2 * -1 + 0.5]);
    assert.equal(result.out[2], 2 * 1 + 0.5);
  });

  it('rejects operands of the wrong length with a ShapeError that names them', () => {
    assert.throws(() => reference.conv2dForward(new Float32Array(8), kernel, shape), (error: unknown) => error instanceof ShapeError && /conv2dForward: x has 8 elements/.test(error.message));
    assert.throws(() => reference.maxPool2dBackward(Float32Array.of(1), Int32Array.of(7), 6), (error: unknown) => error instanceof ShapeError && /winners\[0\] = 7/.test(error.message));
  });
});

for (const threads of [1, 2]) {
  describe(`WASM training kernels (${threads} thread${threads > 1 ? 's' : ''}) against the reference`, () => {
    let wasm: WasmBackend;
    before(async () => {
      // minOpsPerThread 0 so that even the small shapes take the threaded path.
      wasm = await createWasmBackend({ threads, minOpsPerThread: 0 });
    });
    after(async () => {
      await wasm.dispose();
    });

    it('conv2dForward, conv2dBackwardInput and conv2dBackwardKernel', () => {
      const random = new SeededRandom(11 + threads);
      for (const shape of CONV_SHAPES) {
        const x = random.floats(shape.batch * shape.height * shape.width * shape.channels);
        const kernel = random.floats(shape.kernelHeight * shape.kernelWidth * shape.channels * shape.outChannels);
        const grad = random.floats(outputRows(shape) * shape.outChannels);
        const what = describeShape(shape);
        assertClose(wasm.conv2dForward(x, kernel, shape), reference.conv2dForward(x, kernel, shape), `conv2dForward ${what}`);
        assertClose(wasm.conv2dBackwardInput(grad, kernel, shape), reference.conv2dBackwardInput(grad, kernel, shape), `conv2dBackwardInput ${what}`);
        assertClose(wasm.conv2dBackwardKernel(x, grad, shape), reference.conv2dBackwardKernel(x, grad, shape), `conv2dBackwardKernel ${what}`);
      }
    });

    it('maxPool2dForward and maxPool2dBackward give the same values and winners', () => {
      const random = new SeededRandom(21 + threads);
      for (const shape of POOL_SHAPES) {
        const length = shape.batch * shape.height * shape.width * shape.channels;
        // Values rounded to a few levels so that ties, where the first maximum must win, are common.
        const x = random.floats(length).map((v) => Math.round(v * 2) / 2);
        const expected = reference.maxPool2dForward(x, shape);
        const actual = wasm.maxPool2dForward(x, shape);
        assert.deepEqual(actual.winners, expected.winners, describeShape(shape));
        assert.deepEqual(actual.out, expected.out, describeShape(shape));
        const grad = random.floats(expected.out.length);
        assert.deepEqual(wasm.maxPool2dBackward(grad, expected.winners, length), reference.maxPool2dBackward(grad, expected.winners, length));
      }
    });

    it('batchNormForward and batchNormBackward match bit for bit', () => {
      const random = new SeededRandom(31 + threads);
      for (const [samples, features] of [[1, 3], [7, 5], [200, 33]]) {
        const x = random.floats(samples * features);
        const gamma = random.floats(features);
        const beta = random.floats(features);
        const expected = reference.batchNormForward(x, samples, features, gamma, beta, 1e-4);
        const actual = wasm.batchNormForward(x, samples, features, gamma, beta, 1e-4);
        assert.deepEqual(actual, expected, `forward ${samples} x ${features}`);

        const grad = random.floats(samples * features);
        for (const inputGrad of [true, false]) {
          const backward = wasm.batchNormBackward(grad, expected.normalized, samples, features, gamma, expected.inverseStd, inputGrad);
          assert.deepEqual(backward, reference.batchNormBackward(grad, expected.normalized, samples, features, gamma, expected.inverseStd, inputGrad));
        }
      }
    });
  });
}

describe('conv2d op', () => {
  let wasm: WasmBackend;
  let previous: ReturnType<typeof getBackend>;
  before(async () => {
    wasm = await createWasmBackend({ threads: 1 });
    previous = getBackend();
    setBackend(wasm);
  });
  after(() => {
    setBackend(previous);
  });

  it('the packed forward path of ±1 operands equals the float path exactly, gradients included', () => {
    const random = new SeededRandom(41);
    for (const shape of CONV_SHAPES) {
      const signs = (length: number): Float32Array => random.floats(length).map((v) => (v < 0 ? -1 : 1));
      const window = { ...shape };
      const xData = signs(shape.batch * shape.height * shape.width * shape.channels);
      const kernelData = signs(shape.kernelHeight * shape.kernelWidth * shape.channels * shape.outChannels);
      const seed = random.floats(outputRows(shape) * shape.outChannels);

      const results = [false, true].map((binaryOperands) => {
        const x = new Tensor(xData, [shape.batch, shape.height, shape.width, shape.channels], true);
        const kernel = new Tensor(kernelData, [shape.kernelHeight, shape.kernelWidth, shape.channels, shape.outChannels], true);
        const y = conv2d(x, kernel, window, shape.padValue, binaryOperands);
        y.backward(seed);
        return { y: y.data, dx: x.grad, dk: kernel.grad };
      });
      assert.deepEqual(results[1].y, results[0].y, describeShape(shape));
      assert.deepEqual(results[1].dx, results[0].dx);
      assert.deepEqual(results[1].dk, results[0].dk);
      assertClose(results[0].y as Float32Array, reference.conv2dForward(xData, kernelData, shape), `float path ${describeShape(shape)}`);
    }
  });
});

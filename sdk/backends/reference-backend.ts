import { QnnError } from '../errors.js';
import {
  type Backend,
  type BatchNormBackwardResult,
  type BatchNormForwardResult,
  type BinaryConv2dShape,
  type MaxPool2dShape,
  wordsPerRow,
} from './backend.js';
import { popcount32 } from './popcount.js';
import { binaryConv2dReference, binaryMaxPool2dReference } from './reference-conv.js';
import {
  batchNormBackwardReference,
  batchNormForwardReference,
  checkConv2dOperands,
  col2imReference,
  im2colReference,
  im2colSize,
  maxPool2dBackwardReference,
  maxPool2dForwardReference,
} from './reference-train.js';

/**
 * Plain TypeScript kernels: the oracle every other backend is tested against.
 * Written for clarity, not speed.
 */
export class ReferenceBackend implements Backend {
  readonly name = 'reference';

  matmul(
    a: Float32Array,
    b: Float32Array,
    m: number,
    k: number,
    n: number,
    transposeA: boolean,
    transposeB: boolean,
  ): Float32Array {
    const c = new Float32Array(m * n);

    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = transposeA ? a[p * m + i] : a[i * k + p];
          const bv = transposeB ? b[j * k + p] : b[p * n + j];
          sum += av * bv;
        }
        c[i * n + j] = sum;
      }
    }
    return c;
  }

  packSigns(x: Float32Array, rows: number, k: number): Uint32Array {
    const words = wordsPerRow(k);
    const out = new Uint32Array(rows * words);

    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < k; i++) {
        // Only x < 0 sets a bit, so -0.0 and +0.0 both pack as +1.
        if (x[r * k + i] < 0) out[r * words + (i >>> 5)] |= 1 << (i & 31);
      }
    }
    return out;
  }

  binaryGemm(a: Uint32Array, b: Uint32Array, m: number, n: number, k: number): Int32Array {
    const words = wordsPerRow(k);
    const out = new Int32Array(m * n);

    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let differing = 0;
        for (let w = 0; w < words; w++) differing += popcount32(a[i * words + w] ^ b[j * words + w]);
        out[i * n + j] = k - 2 * differing;
      }
    }
    return out;
  }

  bitplaneGemm(x: Uint8Array, w: Uint32Array, m: number, n: number, k: number): Int32Array {
    const out = new Int32Array(m * n);

    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const negative = (w[j * wordsPerRow(k) + (p >>> 5)] >>> (p & 31)) & 1;
          sum += negative ? -x[i * k + p] : x[i * k + p];
        }
        out[i * n + j] = sum;
      }
    }
    return out;
  }

  binaryConv2d(input: Uint32Array, weights: Uint32Array, shape: BinaryConv2dShape): Int32Array {
    return binaryConv2dReference(input, weights, shape);
  }

  binaryMaxPool2d(input: Uint32Array, shape: MaxPool2dShape): Uint32Array {
    return binaryMaxPool2dReference(input, shape);
  }

  /** Decodes each weight from its sign planes and sums x * w directly, without the plane identity. */
  bitplaneGemmBits(
    x: Uint8Array,
    activationBits: number,
    w: Uint32Array,
    weightBits: number,
    m: number,
    n: number,
    k: number,
  ): Int32Array {
    for (const [name, bits] of [['activationBits', activationBits], ['weightBits', weightBits]] as const) {
      if (!Number.isInteger(bits) || bits < 1 || bits > 8) {
        throw new QnnError(`bitplaneGemmBits: ${name} = ${bits} is invalid, expected an integer from 1 to 8`);
      }
    }
    const words = wordsPerRow(k);
    const out = new Int32Array(m * n);

    for (let j = 0; j < n; j++) {
      const weights = new Int32Array(k);
      for (let i = 0; i < k; i++) {
        for (let plane = 0; plane < weightBits; plane++) {
          const negative = (w[(j * weightBits + plane) * words + (i >>> 5)] >>> (i & 31)) & 1;
          weights[i] += negative ? -(2 ** plane) : 2 ** plane;
        }
      }
      for (let r = 0; r < m; r++) {
        let sum = 0;
        for (let i = 0; i < k; i++) sum += x[r * k + i] * weights[i];
        out[r * n + j] = sum;
      }
    }
    return out;
  }

  binaryGemmThresholdPack(
    a: Uint32Array,
    b: Uint32Array,
    m: number,
    n: number,
    k: number,
    thresholds: Int32Array,
    directions: Int8Array,
  ): Uint32Array {
    return this.thresholdPack(this.binaryGemm(a, b, m, n, k), m, n, thresholds, directions);
  }

  thresholdPack(
    acc: Int32Array,
    rows: number,
    cols: number,
    thresholds: Int32Array,
    directions: Int8Array,
  ): Uint32Array {
    const words = wordsPerRow(cols);
    const out = new Uint32Array(rows * words);

    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const value = acc[r * cols + c];
        const positive = directions[c] >= 0 ? value >= thresholds[c] : value <= thresholds[c];
        if (!positive) out[r * words + (c >>> 5)] |= 1 << (c & 31);
      }
    }
    return out;
  }

  conv2dForward(x: Float32Array, kernel: Float32Array, shape: BinaryConv2dShape): Float32Array {
    checkConv2dOperands('conv2dForward', shape, { x, weights: kernel });
    const { rows, columns } = im2colSize(shape);
    return this.matmul(im2colReference(x, shape), kernel, rows, columns, shape.outChannels, false, false);
  }

  conv2dBackwardInput(grad: Float32Array, kernel: Float32Array, shape: BinaryConv2dShape): Float32Array {
    checkConv2dOperands('conv2dBackwardInput', shape, { weights: kernel, grad });
    const { rows, columns } = im2colSize(shape);
    return col2imReference(this.matmul(grad, kernel, rows, shape.outChannels, columns, false, true), shape);
  }

  conv2dBackwardKernel(x: Float32Array, grad: Float32Array, shape: BinaryConv2dShape): Float32Array {
    checkConv2dOperands('conv2dBackwardKernel', shape, { x, grad });
    const { rows, columns } = im2colSize(shape);
    return this.matmul(im2colReference(x, shape), grad, columns, rows, shape.outChannels, true, false);
  }

  maxPool2dForward(x: Float32Array, shape: MaxPool2dShape): { out: Float32Array; winners: Int32Array } {
    return maxPool2dForwardReference(x, shape);
  }

  maxPool2dBackward(grad: Float32Array, winners: Int32Array, inputLength: number): Float32Array {
    return maxPool2dBackwardReference(grad, winners, inputLength);
  }

  batchNormForward(
    x: Float32Array,
    samples: number,
    features: number,
    gamma: Float32Array,
    beta: Float32Array,
    epsilon: number,
  ): BatchNormForwardResult {
    return batchNormForwardReference(x, samples, features, gamma, beta, epsilon);
  }

  batchNormBackward(
    grad: Float32Array,
    normalized: Float32Array,
    samples: number,
    features: number,
    gamma: Float32Array,
    inverseStd: Float64Array,
    inputGrad: boolean,
  ): BatchNormBackwardResult {
    return batchNormBackwardReference(grad, normalized, samples, features, gamma, inverseStd, inputGrad);
  }
}

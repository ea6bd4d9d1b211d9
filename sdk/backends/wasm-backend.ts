import { QnnError, ShapeError } from '../errors.js';
import {
  type Backend,
  type BatchNormBackwardResult,
  type BatchNormForwardResult,
  type BinaryConv2dShape,
  type MaxPool2dShape,
  windowOutputSize,
  wordsPerRow,
} from './backend.js';
import type { WasmBuild } from './wasm-loader.js';
import { WasmHeap } from './wasm-memory.js';
import { binaryConv2dGeometry, checkBinaryConv2d, checkBinaryMaxPool2d } from './reference-conv.js';
import { MAX_DIM, checkBitplaneGemmBits, checkDims, checkLength } from './kernel-checks.js';
import { checkBatchNorm, checkConv2dOperands, checkMaxPool2dShape, im2colSize } from './reference-train.js';

export { isWasmSimdSupported } from './wasm-loader.js';

/** Exports of the module built from asm/index.ts. Pointers are byte offsets into `memory`. */
export interface QnnWasmExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  isSimdBuild(): number;
  packSigns(x: number, rows: number, k: number, out: number): void;
  binaryGemm(a: number, b: number, m: number, n: number, k: number, out: number): void;
  bitplaneGemmScratchBytes(m: number, k: number): number;
  bitplaneGemm(x: number, w: number, m: number, n: number, k: number, out: number, scratch: number): void;
  thresholdPack(acc: number, rows: number, cols: number, thresholds: number, directions: number, out: number): void;
  floatGemmScratchBytes(m: number, k: number, n: number): number;
  floatGemm(
    a: number,
    b: number,
    m: number,
    k: number,
    n: number,
    transposeA: number,
    transposeB: number,
    c: number,
    scratch: number,
  ): void;
  popcountBytes16(src: number, dst: number): void;
  popcountRoofline(data: number, words: number, iterations: number): number;
  binaryGemmThresholdPack(
    a: number,
    b: number,
    m: number,
    n: number,
    k: number,
    thresholds: number,
    directions: number,
    out: number,
  ): void;
  bitplaneGemmBits(
    x: number,
    activationBits: number,
    w: number,
    weightBits: number,
    m: number,
    n: number,
    k: number,
    out: number,
    scratch: number,
  ): void;
  binaryConv2dScratchBytes(outChannels: number, kernelHeight: number, kernelWidth: number): number;
  binaryConv2d(
    input: number,
    weights: number,
    out: number,
    scratch: number,
    batch: number,
    height: number,
    width: number,
    channels: number,
    outChannels: number,
    kernelHeight: number,
    kernelWidth: number,
    strideHeight: number,
    strideWidth: number,
    padTop: number,
    padLeft: number,
    outHeight: number,
    outWidth: number,
    padValue: number,
  ): void;
  binaryMaxPool2d(
    input: number,
    out: number,
    batch: number,
    height: number,
    width: number,
    channels: number,
    poolHeight: number,
    poolWidth: number,
    strideHeight: number,
    strideWidth: number,
    outHeight: number,
    outWidth: number,
  ): void;
  im2col(
    x: number,
    batch: number,
    height: number,
    width: number,
    channels: number,
    kernelHeight: number,
    kernelWidth: number,
    strideHeight: number,
    strideWidth: number,
    padTop: number,
    padLeft: number,
    outHeight: number,
    outWidth: number,
    padValue: number,
    cols: number,
  ): void;
  col2im(
    dcols: number,
    batch: number,
    height: number,
    width: number,
    channels: number,
    kernelHeight: number,
    kernelWidth: number,
    strideHeight: number,
    strideWidth: number,
    padTop: number,
    padLeft: number,
    outHeight: number,
    outWidth: number,
    dx: number,
  ): void;
  floatGemmAtBScratchBytes(m: number, n: number): number;
  floatGemmAtB(a: number, b: number, k: number, m: number, n: number, scratch: number): void;
  maxPool2dForward(
    x: number,
    batch: number,
    height: number,
    width: number,
    channels: number,
    poolHeight: number,
    poolWidth: number,
    strideHeight: number,
    strideWidth: number,
    outHeight: number,
    outWidth: number,
    out: number,
    winners: number,
  ): void;
  maxPool2dBackward(grad: number, winners: number, outLength: number, dx: number, inputLength: number): void;
  batchNormForward(
    x: number,
    samples: number,
    features: number,
    epsilon: number,
    gamma: number,
    beta: number,
    mean: number,
    variance: number,
    inverseStd: number,
    normalized: number,
    out: number,
  ): void;
  batchNormBackward(
    grad: number,
    normalized: number,
    samples: number,
    features: number,
    gamma: number,
    inverseStd: number,
    gradSum: number,
    gradDot: number,
    dx: number,
  ): void;
}

const REQUIRED_EXPORTS: readonly (keyof QnnWasmExports)[] = [
  'memory',
  'heapBase',
  'isSimdBuild',
  'packSigns',
  'binaryGemm',
  'bitplaneGemmScratchBytes',
  'bitplaneGemm',
  'thresholdPack',
  'floatGemmScratchBytes',
  'floatGemm',
  'popcountBytes16',
  'popcountRoofline',
  'binaryGemmThresholdPack',
  'bitplaneGemmBits',
  'binaryConv2dScratchBytes',
  'binaryConv2d',
  'binaryMaxPool2d',
  'im2col',
  'col2im',
  'floatGemmAtBScratchBytes',
  'floatGemmAtB',
  'maxPool2dForward',
  'maxPool2dBackward',
  'batchNormForward',
  'batchNormBackward',
];

export interface WasmBackendOptions {
  /**
   * true forces the SIMD build and throws where the host lacks WebAssembly SIMD.
   * false forces the scalar build. By default SIMD is used when the host supports it.
   */
  simd?: boolean;
  /**
   * Bytes of a compiled qnn module (either build) to use instead of the bundled
   * file. The backend reads which build it is from the module itself.
   */
  wasmBytes?: BufferSource;
  /**
   * Absolute URL of a compiled qnn module to use instead of the bundled file,
   * read with fs for file: URLs under Node and with fetch elsewhere.
   */
  wasmUrl?: string | URL;
  /**
   * Threads that split binaryGemm, binaryGemmThresholdPack, bitplaneGemm and
   * matmul by output rows: a positive integer, or 'auto' for the core count
   * capped at 8. Default 1. Where SharedArrayBuffer or worker threads are
   * unavailable the backend uses 1 thread; `backend.threads` is the count
   * chosen. A backend with threads needs dispose() to stop its workers.
   * With more than 1, wasmBytes/wasmUrl must hold a threads build
   * (qnn-simd-threads.wasm or qnn-scalar-threads.wasm).
   */
  threads?: number | 'auto';
  /**
   * Smallest share of a threaded call, in multiply-adds (M * N * K, times 8
   * for bitplaneGemm), worth its own thread. Smaller calls use fewer threads
   * or the calling thread alone. Default 2^20.
   */
  minOpsPerThread?: number;
}

/**
 * Backend running the kernels compiled from asm/ (AssemblyScript) in
 * WebAssembly, single-threaded. Every call copies its inputs into WASM
 * memory, runs the kernel and returns a copy of the result, so callers keep
 * ownership of their arrays. Create one with createWasmBackend.
 */
export class WasmBackend implements Backend {
  /** 'wasm-simd' or 'wasm-scalar', with the thread count appended when above 1, e.g. 'wasm-simd-2t'. */
  readonly name: string;
  /** Build of the compiled module that runs the kernels. */
  readonly build: WasmBuild;
  /** Threads that run the kernels: 1, or more in a threaded backend from wasm-threads.ts. */
  readonly threads: number;
  protected readonly kernels: QnnWasmExports;
  protected readonly heap: WasmHeap;

  /** `threads` is set by the threaded backend of wasm-threads.ts, which runs the workers. */
  constructor(instance: WebAssembly.Instance, threads = 1) {
    const exports = instance.exports as unknown as QnnWasmExports;
    const missing = REQUIRED_EXPORTS.filter((name) => !(name in exports));
    if (missing.length > 0) {
      throw new QnnError(
        `the WASM module lacks the exports ${missing.join(', ')}, so it is not a qnn kernel module ` +
          'or was built from other sources. Rebuild it with `npm run build:asm`',
      );
    }

    this.kernels = exports;
    this.build = exports.isSimdBuild() ? 'simd' : 'scalar';
    this.threads = threads;
    this.name = threads > 1 ? `wasm-${this.build}-${threads}t` : `wasm-${this.build}`;
    this.heap = new WasmHeap(exports.memory, exports.heapBase() >>> 0);
  }

  matmul(
    a: Float32Array,
    b: Float32Array,
    m: number,
    k: number,
    n: number,
    transposeA: boolean,
    transposeB: boolean,
  ): Float32Array {
    checkDims('matmul', { m, k, n });
    checkLength('matmul', 'a', a, m * k, transposeA ? `k * m = ${k} * ${m} (transposeA)` : `m * k = ${m} * ${k}`);
    checkLength('matmul', 'b', b, k * n, transposeB ? `n * k = ${n} * ${k} (transposeB)` : `k * n = ${k} * ${n}`);

    const scratchBytes = this.kernels.floatGemmScratchBytes(m, k, n);
    const [aPtr, bPtr, cPtr, scratchPtr] = this.heap.reserve('matmul', [
      a.byteLength,
      b.byteLength,
      m * n * 4,
      scratchBytes,
    ]);
    this.heap.write(aPtr, a);
    this.heap.write(bPtr, b);

    this.kernels.floatGemm(aPtr, bPtr, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0, cPtr, scratchPtr);
    return this.heap.readFloat32(cPtr, m * n);
  }

  packSigns(x: Float32Array, rows: number, k: number): Uint32Array {
    checkDims('packSigns', { rows, k });
    checkLength('packSigns', 'x', x, rows * k, `rows * k = ${rows} * ${k}`);

    const words = wordsPerRow(k);
    const [xPtr, outPtr] = this.heap.reserve('packSigns', [x.byteLength, rows * words * 4]);
    this.heap.write(xPtr, x);

    this.kernels.packSigns(xPtr, rows, k, outPtr);
    return this.heap.readUint32(outPtr, rows * words);
  }

  binaryGemm(a: Uint32Array, b: Uint32Array, m: number, n: number, k: number): Int32Array {
    checkDims('binaryGemm', { m, n, k });
    const words = wordsPerRow(k);
    checkLength('binaryGemm', 'a', a, m * words, `m * ceil(k / 32) = ${m} * ${words}`);
    checkLength('binaryGemm', 'b', b, n * words, `n * ceil(k / 32) = ${n} * ${words}`);

    const [aPtr, bPtr, outPtr] = this.heap.reserve('binaryGemm', [a.byteLength, b.byteLength, m * n * 4]);
    this.heap.write(aPtr, a);
    this.heap.write(bPtr, b);

    this.kernels.binaryGemm(aPtr, bPtr, m, n, k, outPtr);
    return this.heap.readInt32(outPtr, m * n);
  }

  bitplaneGemm(x: Uint8Array, w: Uint32Array, m: number, n: number, k: number): Int32Array {
    checkDims('bitplaneGemm', { m, n, k });
    const words = wordsPerRow(k);
    checkLength('bitplaneGemm', 'x', x, m * k, `m * k = ${m} * ${k}`);
    checkLength('bitplaneGemm', 'w', w, n * words, `n * ceil(k / 32) = ${n} * ${words}`);

    const scratchBytes = this.kernels.bitplaneGemmScratchBytes(m, k);
    const [xPtr, wPtr, outPtr, scratchPtr] = this.heap.reserve('bitplaneGemm', [
      x.byteLength,
      w.byteLength,
      m * n * 4,
      scratchBytes,
    ]);
    this.heap.write(xPtr, x);
    this.heap.write(wPtr, w);

    this.kernels.bitplaneGemm(xPtr, wPtr, m, n, k, outPtr, scratchPtr);
    return this.heap.readInt32(outPtr, m * n);
  }

  binaryConv2d(input: Uint32Array, weights: Uint32Array, shape: BinaryConv2dShape): Int32Array {
    checkBinaryConv2d('binaryConv2d', input, weights, shape);

    const { outHeight, outWidth, padTop, padLeft } = binaryConv2dGeometry(shape);
    const outLength = shape.batch * outHeight * outWidth * shape.outChannels;
    const scratchBytes = this.kernels.binaryConv2dScratchBytes(shape.outChannels, shape.kernelHeight, shape.kernelWidth);
    const [inputPtr, weightsPtr, outPtr, scratchPtr] = this.heap.reserve('binaryConv2d', [
      input.byteLength,
      weights.byteLength,
      outLength * 4,
      scratchBytes,
    ]);
    this.heap.write(inputPtr, input);
    this.heap.write(weightsPtr, weights);

    this.kernels.binaryConv2d(
      inputPtr,
      weightsPtr,
      outPtr,
      scratchPtr,
      shape.batch,
      shape.height,
      shape.width,
      shape.channels,
      shape.outChannels,
      shape.kernelHeight,
      shape.kernelWidth,
      shape.strideHeight,
      shape.strideWidth,
      padTop,
      padLeft,
      outHeight,
      outWidth,
      shape.padValue,
    );
    return this.heap.readInt32(outPtr, outLength);
  }

  binaryMaxPool2d(input: Uint32Array, shape: MaxPool2dShape): Uint32Array {
    checkBinaryMaxPool2d('binaryMaxPool2d', input, shape);

    const outHeight = windowOutputSize(shape.height, shape.poolHeight, shape.strideHeight, 'valid');
    const outWidth = windowOutputSize(shape.width, shape.poolWidth, shape.strideWidth, 'valid');
    const outLength = shape.batch * outHeight * outWidth * wordsPerRow(shape.channels);
    const [inputPtr, outPtr] = this.heap.reserve('binaryMaxPool2d', [input.byteLength, outLength * 4]);
    this.heap.write(inputPtr, input);

    this.kernels.binaryMaxPool2d(
      inputPtr,
      outPtr,
      shape.batch,
      shape.height,
      shape.width,
      shape.channels,
      shape.poolHeight,
      shape.poolWidth,
      shape.strideHeight,
      shape.strideWidth,
      outHeight,
      outWidth,
    );
    return this.heap.readUint32(outPtr, outLength);
  }

  bitplaneGemmBits(
    x: Uint8Array,
    activationBits: number,
    w: Uint32Array,
    weightBits: number,
    m: number,
    n: number,
    k: number,
  ): Int32Array {
    checkBitplaneGemmBits(x, activationBits, w, weightBits, m, n, k);

    const scratchBytes = this.kernels.bitplaneGemmScratchBytes(m, k);
    const [xPtr, wPtr, outPtr, scratchPtr] = this.heap.reserve('bitplaneGemmBits', [
      x.byteLength,
      w.byteLength,
      m * n * 4,
      scratchBytes,
    ]);
    this.heap.write(xPtr, x);
    this.heap.write(wPtr, w);

    this.kernels.bitplaneGemmBits(xPtr, activationBits, wPtr, weightBits, m, n, k, outPtr, scratchPtr);
    return this.heap.readInt32(outPtr, m * n);
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
    checkDims('binaryGemmThresholdPack', { m, n, k });
    const words = wordsPerRow(k);
    checkLength('binaryGemmThresholdPack', 'a', a, m * words, `m * ceil(k / 32) = ${m} * ${words}`);
    checkLength('binaryGemmThresholdPack', 'b', b, n * words, `n * ceil(k / 32) = ${n} * ${words}`);
    checkLength('binaryGemmThresholdPack', 'thresholds', thresholds, n, 'n');
    checkLength('binaryGemmThresholdPack', 'directions', directions, n, 'n');

    const outWords = wordsPerRow(n);
    const [aPtr, bPtr, thresholdsPtr, directionsPtr, outPtr] = this.heap.reserve('binaryGemmThresholdPack', [
      a.byteLength,
      b.byteLength,
      thresholds.byteLength,
      directions.byteLength,
      m * outWords * 4,
    ]);
    this.heap.write(aPtr, a);
    this.heap.write(bPtr, b);
    this.heap.write(thresholdsPtr, thresholds);
    this.heap.write(directionsPtr, directions);

    this.kernels.binaryGemmThresholdPack(aPtr, bPtr, m, n, k, thresholdsPtr, directionsPtr, outPtr);
    return this.heap.readUint32(outPtr, m * outWords);
  }

  thresholdPack(
    acc: Int32Array,
    rows: number,
    cols: number,
    thresholds: Int32Array,
    directions: Int8Array,
  ): Uint32Array {
    checkDims('thresholdPack', { rows, cols });
    checkLength('thresholdPack', 'acc', acc, rows * cols, `rows * cols = ${rows} * ${cols}`);
    checkLength('thresholdPack', 'thresholds', thresholds, cols, 'cols');
    checkLength('thresholdPack', 'directions', directions, cols, 'cols');

    const words = wordsPerRow(cols);
    const [accPtr, thresholdsPtr, directionsPtr, outPtr] = this.heap.reserve('thresholdPack', [
      acc.byteLength,
      thresholds.byteLength,
      directions.byteLength,
      rows * words * 4,
    ]);
    this.heap.write(accPtr, acc);
    this.heap.write(thresholdsPtr, thresholds);
    this.heap.write(directionsPtr, directions);

    this.kernels.thresholdPack(accPtr, rows, cols, thresholdsPtr, directionsPtr, outPtr);
    return this.heap.readUint32(outPtr, rows * words);
  }

  conv2dForward(x: Float32Array, kernel: Float32Array, shape: BinaryConv2dShape): Float32Array {
    checkConv2dOperands('conv2dForward', shape, { x, weights: kernel });
    const { rows, columns } = im2colSize(shape);
    const outChannels = shape.outChannels;
    const gemmScratch = this.floatGemmScratch(rows, columns, outChannels);
    const [xPtr, kernelPtr, colsPtr, outPtr, ...scratch] = this.heap.reserve('conv2dForward', [
      x.byteLength,
      kernel.byteLength,
      rows * columns * 4,
      rows * outChannels * 4,
      ...gemmScratch,
    ]);
    this.heap.write(xPtr, x);
    this.heap.write(kernelPtr, kernel);

    this.runIm2col(xPtr, shape, colsPtr);
    this.runFloatGemm(colsPtr, kernelPtr, rows, columns, outChannels, false, outPtr, scratch);
    return this.heap.readFloat32(outPtr, rows * outChannels);
  }

  conv2dBackwardInput(grad: Float32Array, kernel: Float32Array, shape: BinaryConv2dShape): Float32Array {
    checkConv2dOperands('conv2dBackwardInput', shape, { weights: kernel, grad });
    const { rows, columns } = im2colSize(shape);
    const outChannels = shape.outChannels;
    const inputLength = shape.batch * shape.height * shape.width * shape.channels;
    const gemmScratch = this.floatGemmScratch(rows, outChannels, columns);
    const [gradPtr, kernelPtr, dcolsPtr, dxPtr, ...scratch] = this.heap.reserve('conv2dBackwardInput', [
      grad.byteLength,
      kernel.byteLength,
      rows * columns * 4,
      inputLength * 4,
      ...gemmScratch,
    ]);
    this.heap.write(gradPtr, grad);
    this.heap.write(kernelPtr, kernel);

    // dcols[rows, columns] = grad[rows, O] · kernel[columns, O]ᵀ, then col2im folds the taps back.
    this.runFloatGemm(gradPtr, kernelPtr, rows, outChannels, columns, true, dcolsPtr, scratch);
    const { outHeight, outWidth, padTop, padLeft } = binaryConv2dGeometry(shape);
    this.kernels.col2im(
      dcolsPtr,
      shape.batch,
      shape.height,
      shape.width,
      shape.channels,
      shape.kernelHeight,
      shape.kernelWidth,
      shape.strideHeight,
      shape.strideWidth,
      padTop,
      padLeft,
      outHeight,
      outWidth,
      dxPtr,
    );
    return this.heap.readFloat32(dxPtr, inputLength);
  }

  conv2dBackwardKernel(x: Float32Array, grad: Float32Array, shape: BinaryConv2dShape): Float32Array {
    checkConv2dOperands('conv2dBackwardKernel', shape, { x, grad });
    const { rows, columns } = im2colSize(shape);
    const outChannels = shape.outChannels;
    const gemmScratch = this.floatGemmAtBScratch(rows, columns, outChannels);
    const [xPtr, gradPtr, colsPtr, ...scratch] = this.heap.reserve('conv2dBackwardKernel', [
      x.byteLength,
      grad.byteLength,
      rows * columns * 4,
      ...gemmScratch,
    ]);
    this.heap.write(xPtr, x);
    this.heap.write(gradPtr, grad);

    // dkernel[columns, O] = cols[rows, columns]ᵀ · grad[rows, O], blocked along the long rows axis.
    this.runIm2col(xPtr, shape, colsPtr);
    return this.runFloatGemmAtB(colsPtr, gradPtr, rows, columns, outChannels, scratch);
  }

  maxPool2dForward(x: Float32Array, shape: MaxPool2dShape): { out: Float32Array; winners: Int32Array } {
    const { outHeight, outWidth } = checkMaxPool2dShape('maxPool2dForward', shape);
    const { batch, height, width, channels } = shape;
    checkLength('maxPool2dForward', 'x', x, batch * height * width * channels, `batch * height * width * channels = ${batch} * ${height} * ${width} * ${channels}`);
    const outLength = batch * outHeight * outWidth * channels;
    const [xPtr, outPtr, winnersPtr] = this.heap.reserve('maxPool2dForward', [x.byteLength, outLength * 4, outLength * 4]);
    this.heap.write(xPtr, x);

    this.kernels.maxPool2dForward(
      xPtr,
      batch,
      height,
      width,
      channels,
      shape.poolHeight,
      shape.poolWidth,
      shape.strideHeight,
      shape.strideWidth,
      outHeight,
      outWidth,
      outPtr,
      winnersPtr,
    );
    return { out: this.heap.readFloat32(outPtr, outLength), winners: this.heap.readInt32(winnersPtr, outLength) };
  }

  maxPool2dBackward(grad: Float32Array, winners: Int32Array, inputLength: number): Float32Array {
    checkDims('maxPool2dBackward', { inputLength });
    checkLength('maxPool2dBackward', 'winners', winners, grad.length, 'grad.length');
    // The kernel trusts the indices, so a bad one must not reach it and write outside dx.
    for (let i = 0; i < winners.length; i++) {
      const index = winners[i];
      if (!(index >= 0 && index < inputLength)) {
        throw new ShapeError(`maxPool2dBackward: winners[${i}] = ${index} is outside the input of ${inputLength} floats`);
      }
    }
    const [gradPtr, winnersPtr, dxPtr] = this.heap.reserve('maxPool2dBackward', [grad.byteLength, winners.byteLength, inputLength * 4]);
    this.heap.write(gradPtr, grad);
    this.heap.write(winnersPtr, winners);

    this.kernels.maxPool2dBackward(gradPtr, winnersPtr, grad.length, dxPtr, inputLength);
    return this.heap.readFloat32(dxPtr, inputLength);
  }

  batchNormForward(
    x: Float32Array,
    samples: number,
    features: number,
    gamma: Float32Array,
    beta: Float32Array,
    epsilon: number,
  ): BatchNormForwardResult {
    checkBatchNorm('batchNormForward', x, samples, features, gamma);
    checkLength('batchNormForward', 'beta', beta, features, 'features');
    const [xPtr, gammaPtr, betaPtr, meanPtr, variancePtr, inverseStdPtr, normalizedPtr, outPtr] = this.heap.reserve(
      'batchNormForward',
      [x.byteLength, gamma.byteLength, beta.byteLength, features * 8, features * 8, features * 8, x.byteLength, x.byteLength],
    );
    this.heap.write(xPtr, x);
    this.heap.write(gammaPtr, gamma);
    this.heap.write(betaPtr, beta);

    this.kernels.batchNormForward(xPtr, samples, features, epsilon, gammaPtr, betaPtr, meanPtr, variancePtr, inverseStdPtr, normalizedPtr, outPtr);
    return {
      out: this.heap.readFloat32(outPtr, x.length),
      normalized: this.heap.readFloat32(normalizedPtr, x.length),
      mean: this.heap.readFloat64(meanPtr, features),
      variance: this.heap.readFloat64(variancePtr, features),
      inverseStd: this.heap.readFloat64(inverseStdPtr, features),
    };
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
    checkBatchNorm('batchNormBackward', grad, samples, features, gamma);
    checkLength('batchNormBackward', 'normalized', normalized, samples * features, 'samples * features');
    checkLength('batchNormBackward', 'inverseStd', inverseStd, features, 'features');
    const [gradPtr, normalizedPtr, gammaPtr, inverseStdPtr, gradSumPtr, gradDotPtr, dxPtr] = this.heap.reserve('batchNormBackward', [
      grad.byteLength,
      normalized.byteLength,
      gamma.byteLength,
      inverseStd.byteLength,
      features * 8,
      features * 8,
      inputGrad ? grad.byteLength : 0,
    ]);
    this.heap.write(gradPtr, grad);
    this.heap.write(normalizedPtr, normalized);
    this.heap.write(gammaPtr, gamma);
    this.heap.write(inverseStdPtr, inverseStd);

    this.kernels.batchNormBackward(gradPtr, normalizedPtr, samples, features, gammaPtr, inverseStdPtr, gradSumPtr, gradDotPtr, inputGrad ? dxPtr : 0);
    return {
      gradSum: this.heap.readFloat64(gradSumPtr, features),
      gradDot: this.heap.readFloat64(gradDotPtr, features),
      dx: inputGrad ? this.heap.readFloat32(dxPtr, grad.length) : null,
    };
  }

  /** Writes the im2col matrix of the input at xPtr to colsPtr. */
  protected runIm2col(xPtr: number, shape: BinaryConv2dShape, colsPtr: number): void {
    const { outHeight, outWidth, padTop, padLeft } = binaryConv2dGeometry(shape);
    this.kernels.im2col(
      xPtr,
      shape.batch,
      shape.height,
      shape.width,
      shape.channels,
      shape.kernelHeight,
      shape.kernelWidth,
      shape.strideHeight,
      shape.strideWidth,
      padTop,
      padLeft,
      outHeight,
      outWidth,
      shape.padValue,
      colsPtr,
    );
  }

  /**
   * Scratch regions a float GEMM on operands already in the heap needs, one per thread that will run
   * it. The threaded backend overrides this and runFloatGemm to split the rows of c.
   */
  protected floatGemmScratch(m: number, k: number, n: number): number[] {
    return [this.kernels.floatGemmScratchBytes(m, k, n)];
  }

  /** c[m, n] = a[m, k] · op(b) on operands in the heap, with the scratch regions from floatGemmScratch. */
  protected runFloatGemm(aPtr: number, bPtr: number, m: number, k: number, n: number, transposeB: boolean, cPtr: number, scratch: number[]): void {
    this.kernels.floatGemm(aPtr, bPtr, m, k, n, 0, transposeB ? 1 : 0, cPtr, scratch[0]);
  }

  /** Scratch regions of a floatGemmAtB over k rows, one per thread that will run it. */
  protected floatGemmAtBScratch(_k: number, m: number, n: number): number[] {
    return [this.kernels.floatGemmAtBScratchBytes(m, n)];
  }

  /**
   * Returns a[k, m]ᵀ · b[k, n] for operands in the heap. Each scratch region starts with
   * its own [m, n] accumulator, zeroed here and summed after the kernel.
   */
  protected runFloatGemmAtB(aPtr: number, bPtr: number, k: number, m: number, n: number, scratch: number[]): Float32Array {
    const memory = this.kernels.memory.buffer;
    for (const region of scratch) new Float32Array(memory, region, m * n).fill(0);

    this.launchFloatGemmAtB(aPtr, bPtr, k, m, n, scratch);

    const result = this.heap.readFloat32(scratch[0], m * n);
    for (let t = 1; t < scratch.length; t++) {
      const partial = new Float32Array(this.kernels.memory.buffer, scratch[t], m * n);
      for (let i = 0; i < result.length; i++) result[i] += partial[i];
    }
    return result;
  }

  /** Runs floatGemmAtB over all k rows on the calling thread; the threaded backend splits the rows. */
  protected launchFloatGemmAtB(aPtr: number, bPtr: number, k: number, m: number, n: number, scratch: number[]): void {
    this.kernels.floatGemmAtB(aPtr, bPtr, k, m, n, scratch[0]);
  }

  /** Stops the backend's worker threads. A one-thread backend has none, so this does nothing here. */
  async dispose(): Promise<void> {}

  /**
   * Test hook: returns the population count of each of 16 bytes, computed by
   * i8x16.popcnt in the SIMD build and by scalar popcnt in the scalar build.
   */
  popcountBytes16(bytes: Uint8Array): Uint8Array {
    checkLength('popcountBytes16', 'bytes', bytes, 16, '16');

    const [srcPtr, dstPtr] = this.heap.reserve('popcountBytes16', [16, 16]);
    this.heap.write(srcPtr, bytes);

    this.kernels.popcountBytes16(srcPtr, dstPtr);
    return this.heap.readUint8(dstPtr, 16);
  }

  /**
   * Benchmark hook: runs the binaryGemm inner loop (one 2 x 4 tile at K = 4096)
   * `iterations` times on 3 KiB of L1-resident data and returns the binary
   * multiply-accumulates done, 2 * 4 * 4096 per iteration. The caller times the
   * call, so MACs per second is the ceiling binaryGemm can reach on this build.
   */
  popcountRoofline(iterations: number): number {
    if (!Number.isInteger(iterations) || iterations < 0 || iterations > MAX_DIM) {
      throw new QnnError(`popcountRoofline: iterations = ${iterations} is invalid, expected an integer from 0 to ${MAX_DIM}`);
    }

    const rows = Uint32Array.from({ length: 6 * ROOFLINE_WORDS }, (_, i) => Math.imul(i + 1, 0x9e3779b1) >>> 0);
    // Six rows, then 32 bytes where the kernel stores the tile's 2 x 4 results.
    const [dataPtr] = this.heap.reserve('popcountRoofline', [rows.byteLength + 32]);
    this.heap.write(dataPtr, rows);

    this.kernels.popcountRoofline(dataPtr, ROOFLINE_WORDS, iterations);
    return iterations * 8 * 32 * ROOFLINE_WORDS;
  }
}

/** Words per row in popcountRoofline: K = 4096, the K of the benchmark's large cases. */
const ROOFLINE_WORDS = 128;

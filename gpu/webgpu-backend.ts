import type { AsyncBackend } from '../sdk/backends/async-backend.js';
import { type BinaryConv2dShape, type MaxPool2dShape, windowOutputSize, wordsPerRow } from '../sdk/backends/backend.js';
import { checkBitplaneGemmBits, checkDims, checkLength } from '../sdk/backends/kernel-checks.js';
import { binaryConv2dGeometry, checkBinaryConv2d, checkBinaryMaxPool2d } from '../sdk/backends/reference-conv.js';
import { DeviceLimitError } from './host/device-limits.js';
import { GpuContext, type GpuContextOptions } from './host/gpu-context.js';
import { encodeBinaryConv2d } from './kernels/binary-conv2d.js';
import { encodeBinaryGemm, encodeBinaryGemmThresholdPack } from './kernels/binary-gemm.js';
import { encodeBinaryMaxPool2d } from './kernels/binary-max-pool2d.js';
import { encodeBitplaneGemm, encodeBitplanePack } from './kernels/bitplane-gemm.js';
import { encodeFloatGemm } from './kernels/float-gemm.js';
import { probeBitIntrinsics } from './kernels/bit-intrinsics-probe.js';
import { encodePackSigns } from './kernels/pack-signs.js';
import { encodeThresholdPack } from './kernels/threshold-pack.js';

/**
 * The Backend kernels on a WebGPU device, with the same bit layout and results
 * as the ReferenceBackend: little-endian u32 words, element i in bit (i mod 32),
 * bit 1 = -1, pad bits 0. Each call uploads its inputs, runs, and reads the
 * result back, so the methods are async. Operands larger than the device's
 * maxStorageBufferBindingSize are cut into row blocks that fit.
 *
 * Training and packed inference that keep tensors on the device use the
 * `encode*` functions of gpu/kernels/ on the same GpuContext instead.
 */
export class WebGpuBackend implements AsyncBackend {
  readonly name = 'webgpu';
  readonly gpu: GpuContext;

  constructor(device: GPUDevice, options: GpuContextOptions = {}) {
    this.gpu = new GpuContext(device, options);
  }

  get device(): GPUDevice {
    return this.gpu.device;
  }

  /**
   * Float GEMM with the layouts of Backend.matmul: c [m, n] = opA(a) · opB(b), where a is
   * [m, k] (or [k, m] with transposeA) and b is [k, n] (or [n, k] with transposeB).
   * Sums run in float32, so results differ from the float64 sums of the reference by rounding.
   */
  async matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, transposeA: boolean, transposeB: boolean): Promise<Float32Array> {
    checkDims('matmul', { m, k, n });
    checkLength('matmul', 'a', a, m * k, `m * k = ${m} * ${k}`);
    checkLength('matmul', 'b', b, k * n, `k * n = ${k} * ${n}`);
    const out = new Float32Array(m * n);
    if (out.length === 0) return out;

    // Limitation: operands over one storage binding are rejected, not cut into blocks, because a
    // transposed operand would need strided blocks; training batches stay far below the limit.
    this.gpu.limits.checkStorageBinding('matmul', 'a', a.byteLength);
    this.gpu.limits.checkStorageBinding('matmul', 'b', b.byteLength);
    this.gpu.limits.checkStorageBinding('matmul', 'output', out.byteLength);

    const left = this.gpu.upload(a);
    const right = this.gpu.upload(b);
    const product = this.gpu.storage(out.byteLength);
    await encodeFloatGemm(this.gpu, left, right, product, { m, k, n, transposeA, transposeB });
    out.set(new Float32Array(await this.gpu.read(product, out.byteLength, 'matmul')));
    this.gpu.release(left, right, product);
    return out;
  }

  /** Signs and packs x f32 [rows, k] into words [rows, ceil(k/32)]; only x < 0 sets a bit, so -0.0 packs as +1. */
  async packSigns(x: Float32Array, rows: number, k: number): Promise<Uint32Array> {
    checkDims('packSigns', { rows, k });
    checkLength('packSigns', 'x', x, rows * k, `rows * k = ${rows} * ${k}`);
    const words = wordsPerRow(k);
    const out = new Uint32Array(rows * words);
    if (out.length === 0) return out;

    const rowsPerBlock = this.rowsPerBinding('packSigns', 'x', Math.max(k * 4, words * 4));
    for (let start = 0; start < rows; start += rowsPerBlock) {
      const blockRows = Math.min(rowsPerBlock, rows - start);
      const input = this.gpu.upload(x.subarray(start * k, (start + blockRows) * k));
      const output = this.gpu.storage(blockRows * words * 4);
      await encodePackSigns(this.gpu, input, output, blockRows, k);
      out.set(new Uint32Array(await this.gpu.read(output, blockRows * words * 4, 'packSigns')), start * words);
      this.gpu.release(input, output);
    }
    return out;
  }

  /**
   * Binary GEMM: out i32 [m, n] = k - 2 * popcount(a[m,:] XOR b[n,:]), with a packed as
   * [m, ceil(k/32)] and b as [n, ceil(k/32)] words whose pad bits are 0.
   */
  async binaryGemm(a: Uint32Array, b: Uint32Array, m: number, n: number, k: number): Promise<Int32Array> {
    checkDims('binaryGemm', { m, n, k });
    const words = wordsPerRow(k);
    checkLength('binaryGemm', 'a', a, m * words, `m * ceil(k / 32) = ${m} * ${words}`);
    checkLength('binaryGemm', 'b', b, n * words, `n * ceil(k / 32) = ${n} * ${words}`);
    const out = new Int32Array(m * n);
    if (m === 0 || n === 0 || k === 0) return out;

    const columnsPerBlock = Math.min(n, this.rowsPerBinding('binaryGemm', 'b', words * 4));
    const rowsPerBlock = Math.min(m, this.rowsPerBinding('binaryGemm', 'a', words * 4), this.rowsPerBinding('binaryGemm', 'output', columnsPerBlock * 4));
    for (let column = 0; column < n; column += columnsPerBlock) {
      const blockColumns = Math.min(columnsPerBlock, n - column);
      const weights = this.gpu.upload(b.subarray(column * words, (column + blockColumns) * words));
      for (let row = 0; row < m; row += rowsPerBlock) {
        const blockRows = Math.min(rowsPerBlock, m - row);
        const input = this.gpu.upload(a.subarray(row * words, (row + blockRows) * words));
        const output = this.gpu.storage(blockRows * blockColumns * 4);
        await encodeBinaryGemm(this.gpu, input, weights, output, blockRows, blockColumns, k);
        const block = new Int32Array(await this.gpu.read(output, blockRows * blockColumns * 4, 'binaryGemm'));
        placeBlock(out, n, block, blockRows, blockColumns, row, column);
        this.gpu.release(input, output);
      }
      this.gpu.release(weights);
    }
    return out;
  }

  /**
   * Bit-plane GEMM for uint8 x [m, k] against binary weights w [n, ceil(k/32)]:
   * out i32 [m, n] = sum_i x[m, i] * w[n, i], the 8-plane, 1-weight-plane case of bitplaneGemmBits.
   */
  async bitplaneGemm(x: Uint8Array, w: Uint32Array, m: number, n: number, k: number): Promise<Int32Array> {
    checkDims('bitplaneGemm', { m, n, k });
    const words = wordsPerRow(k);
    checkLength('bitplaneGemm', 'x', x, m * k, `m * k = ${m} * ${k}`);
    checkLength('bitplaneGemm', 'w', w, n * words, `n * ceil(k / 32) = ${n} * ${words}`);
    return this.runBitplaneGemm('bitplaneGemm', x, 8, w, 1, m, n, k);
  }

  /**
   * k-bit GEMM by plane decomposition: x uint8 [m, k] with values below 2^activationBits against
   * w [n, weightBits, ceil(k/32)] sign planes (plane j weighs 2^j); out i32 [m, n] = sum_i x * w.
   */
  async bitplaneGemmBits(
    x: Uint8Array,
    activationBits: number,
    w: Uint32Array,
    weightBits: number,
    m: number,
    n: number,
    k: number,
  ): Promise<Int32Array> {
    checkBitplaneGemmBits(x, activationBits, w, weightBits, m, n, k);
    return this.runBitplaneGemm('bitplaneGemmBits', x, activationBits, w, weightBits, m, n, k);
  }

  /**
   * Fused hidden layer: the packed signs [m, ceil(n/32)] of thresholdPack(binaryGemm(a, b, m, n, k), ...),
   * computed without writing the int32 accumulators to device memory.
   */
  async binaryGemmThresholdPack(
    a: Uint32Array,
    b: Uint32Array,
    m: number,
    n: number,
    k: number,
    thresholds: Int32Array,
    directions: Int8Array,
  ): Promise<Uint32Array> {
    const operation = 'binaryGemmThresholdPack';
    checkDims(operation, { m, n, k });
    const words = wordsPerRow(k);
    checkLength(operation, 'a', a, m * words, `m * ceil(k / 32) = ${m} * ${words}`);
    checkLength(operation, 'b', b, n * words, `n * ceil(k / 32) = ${n} * ${words}`);
    checkLength(operation, 'thresholds', thresholds, n, 'n');
    checkLength(operation, 'directions', directions, n, 'n');
    const outWords = wordsPerRow(n);
    const out = new Uint32Array(m * outWords);
    // k = 0 still runs: every accumulator is 0, and the thresholds decide its sign.
    if (out.length === 0) return out;

    const fit = Math.min(this.rowsPerBinding(operation, 'b', words * 4), this.rowsPerBinding(operation, 'thresholds', 4));
    const columnsPerBlock = this.packedColumnsPerBlock(operation, 'b', n, fit);
    const rowsPerBlock = Math.min(
      m,
      this.rowsPerBinding(operation, 'a', words * 4),
      this.rowsPerBinding(operation, 'output', wordsPerRow(columnsPerBlock) * 4),
    );
    for (let column = 0; column < n; column += columnsPerBlock) {
      const blockColumns = Math.min(columnsPerBlock, n - column);
      const blockWords = wordsPerRow(blockColumns);
      const weights = this.gpu.upload(b.subarray(column * words, (column + blockColumns) * words));
      const thresholdsBuffer = this.gpu.upload(thresholds.subarray(column, column + blockColumns));
      const directionsBuffer = this.gpu.upload(Int32Array.from(directions.subarray(column, column + blockColumns)));
      for (let row = 0; row < m; row += rowsPerBlock) {
        const blockRows = Math.min(rowsPerBlock, m - row);
        const input = this.gpu.upload(a.subarray(row * words, (row + blockRows) * words));
        const output = this.gpu.storage(blockRows * blockWords * 4);
        await encodeBinaryGemmThresholdPack(this.gpu, input, weights, thresholdsBuffer, directionsBuffer, output, blockRows, blockColumns, k);
        const block = new Uint32Array(await this.gpu.read(output, blockRows * blockWords * 4, operation));
        placeBlock(out, outWords, block, blockRows, blockWords, row, column / 32);
        this.gpu.release(input, output);
      }
      this.gpu.release(weights, thresholdsBuffer, directionsBuffer);
    }
    return out;
  }

  /**
   * Binary 2-D convolution over packed NHWC signs: input [N, H, W, ceil(C/32)], weights
   * [O, KH, KW, ceil(C/32)], out i32 [N, OH, OW, O]; padded taps take shape.padValue (+1, 0 or -1).
   */
  async binaryConv2d(input: Uint32Array, weights: Uint32Array, shape: BinaryConv2dShape): Promise<Int32Array> {
    const operation = 'binaryConv2d';
    checkBinaryConv2d(operation, input, weights, shape);
    const geometry = binaryConv2dGeometry(shape);
    const { batch, height, width, outChannels } = shape;
    const { outHeight, outWidth } = geometry;
    const out = new Int32Array(batch * outHeight * outWidth * outChannels);
    if (out.length === 0) return out;

    const channelWords = wordsPerRow(shape.channels);
    const filterWords = shape.kernelHeight * shape.kernelWidth * channelWords;
    const filtersPerBlock = Math.min(outChannels, this.rowsPerBinding(operation, 'weights', filterWords * 4));
    const bands = this.imageBands(operation, {
      batch,
      height,
      outHeight,
      inputRowBytes: width * channelWords * 4,
      outputRowBytes: outWidth * filtersPerBlock * 4,
      window: shape.kernelHeight,
      stride: shape.strideHeight,
      padTop: geometry.padTop,
    });
    for (let filter = 0; filter < outChannels; filter += filtersPerBlock) {
      const blockFilters = Math.min(filtersPerBlock, outChannels - filter);
      const weightsBuffer = this.gpu.upload(weights.subarray(filter * filterWords, (filter + blockFilters) * filterWords));
      for (const band of bands) {
        const inputStart = (band.image * height + band.firstRow) * width * channelWords;
        const inputBuffer = this.gpu.upload(input.subarray(inputStart, inputStart + band.images * band.rows * width * channelWords));
        const pixels = band.images * band.outRows * outWidth;
        const output = this.gpu.storage(pixels * blockFilters * 4);
        await encodeBinaryConv2d(this.gpu, inputBuffer, weightsBuffer, output, {
          ...shape,
          ...geometry,
          batch: band.images,
          height: band.rows,
          outHeight: band.outRows,
          padTop: band.padTop,
          outChannels: blockFilters,
        });
        const block = new Int32Array(await this.gpu.read(output, pixels * blockFilters * 4, operation));
        placeBlock(out, outChannels, block, pixels, blockFilters, (band.image * outHeight + band.firstOutRow) * outWidth, filter);
        this.gpu.release(inputBuffer, output);
      }
      this.gpu.release(weightsBuffer);
    }
    return out;
  }

  /**
   * Binary max-pooling on packed NHWC signs over VALID windows: each output word of
   * [N, OH, OW, ceil(C/32)] is the AND of its window's words (bit 1 = -1).
   */
  async binaryMaxPool2d(input: Uint32Array, shape: MaxPool2dShape): Promise<Uint32Array> {
    const operation = 'binaryMaxPool2d';
    checkBinaryMaxPool2d(operation, input, shape);
    const { batch, height, width } = shape;
    const outHeight = windowOutputSize(height, shape.poolHeight, shape.strideHeight, 'valid');
    const outWidth = windowOutputSize(width, shape.poolWidth, shape.strideWidth, 'valid');
    const channelWords = wordsPerRow(shape.channels);
    const out = new Uint32Array(batch * outHeight * outWidth * channelWords);
    if (out.length === 0) return out;

    const bands = this.imageBands(operation, {
      batch,
      height,
      outHeight,
      inputRowBytes: width * channelWords * 4,
      outputRowBytes: outWidth * channelWords * 4,
      window: shape.poolHeight,
      stride: shape.strideHeight,
      padTop: 0,
    });
    for (const band of bands) {
      const inputStart = (band.image * height + band.firstRow) * width * channelWords;
      const inputBuffer = this.gpu.upload(input.subarray(inputStart, inputStart + band.images * band.rows * width * channelWords));
      const outputWords = band.images * band.outRows * outWidth * channelWords;
      const output = this.gpu.storage(outputWords * 4);
      await encodeBinaryMaxPool2d(this.gpu, inputBuffer, output, {
        ...shape,
        batch: band.images,
        height: band.rows,
        outHeight: band.outRows,
        outWidth,
      });
      out.set(new Uint32Array(await this.gpu.read(output, outputWords * 4, operation)), (band.image * outHeight + band.firstOutRow) * outWidth * channelWords);
      this.gpu.release(inputBuffer, output);
    }
    return out;
  }

  /**
   * Threshold and pack: acc i32 [rows, cols] -> packed signs [rows, ceil(cols/32)]. Column c is +1 when
   * acc >= thresholds[c] for directions[c] >= 0 and when acc <= thresholds[c] for directions[c] < 0.
   */
  async thresholdPack(
    acc: Int32Array,
    rows: number,
    cols: number,
    thresholds: Int32Array,
    directions: Int8Array,
  ): Promise<Uint32Array> {
    const operation = 'thresholdPack';
    checkDims(operation, { rows, cols });
    checkLength(operation, 'acc', acc, rows * cols, `rows * cols = ${rows} * ${cols}`);
    checkLength(operation, 'thresholds', thresholds, cols, 'cols');
    checkLength(operation, 'directions', directions, cols, 'cols');
    const words = wordsPerRow(cols);
    const out = new Uint32Array(rows * words);
    if (out.length === 0) return out;

    const columnsPerBlock = this.packedColumnsPerBlock(operation, 'acc', cols, this.rowsPerBinding(operation, 'acc', 4));
    const rowsPerBlock = Math.min(
      rows,
      this.rowsPerBinding(operation, 'acc', columnsPerBlock * 4),
      this.rowsPerBinding(operation, 'output', wordsPerRow(columnsPerBlock) * 4),
    );
    for (let column = 0; column < cols; column += columnsPerBlock) {
      const blockColumns = Math.min(columnsPerBlock, cols - column);
      const blockWords = wordsPerRow(blockColumns);
      const thresholdsBuffer = this.gpu.upload(thresholds.subarray(column, column + blockColumns));
      const directionsBuffer = this.gpu.upload(Int32Array.from(directions.subarray(column, column + blockColumns)));
      for (let row = 0; row < rows; row += rowsPerBlock) {
        const blockRows = Math.min(rowsPerBlock, rows - row);
        const input = this.gpu.upload(takeBlock(acc, cols, row, blockRows, column, blockColumns));
        const output = this.gpu.storage(blockRows * blockWords * 4);
        await encodeThresholdPack(this.gpu, input, thresholdsBuffer, directionsBuffer, output, blockRows, blockColumns);
        const block = new Uint32Array(await this.gpu.read(output, blockRows * blockWords * 4, operation));
        placeBlock(out, words, block, blockRows, blockWords, row, column / 32);
        this.gpu.release(input, output);
      }
      this.gpu.release(thresholdsBuffer, directionsBuffer);
    }
    return out;
  }

  /** See gpu/kernels/bit-intrinsics-probe.ts; field case 8 of the shared cases. */
  probeBitIntrinsics(): Promise<Uint32Array> {
    return probeBitIntrinsics(this.gpu);
  }

  /** Destroys the device. Later calls throw WebGpuDeviceLostError. */
  destroy(): void {
    this.gpu.destroy();
  }

  /**
   * Returns how many rows of `rowBytes` bytes fit in one storage binding. Throws
   * DeviceLimitError when not even one does, because a row is never split.
   */
  private rowsPerBinding(operation: string, operand: string, rowBytes: number): number {
    const limit = Math.min(this.gpu.limits.maxStorageBufferBindingSize, this.gpu.limits.maxBufferSize);
    const rows = Math.floor(limit / rowBytes);
    if (rows < 1) {
      throw new DeviceLimitError(
        `${operation}: one row of ${operand} needs ${rowBytes} bytes, over the device's storage binding limit of ${limit} bytes`,
      );
    }
    return rows;
  }

  /**
   * bitplaneGemm and bitplaneGemmBits after their checks: the bit-plane pack of each
   * row block of x once, then the GEMM against each column block of w.
   */
  private async runBitplaneGemm(
    operation: string,
    x: Uint8Array,
    activationBits: number,
    w: Uint32Array,
    weightBits: number,
    m: number,
    n: number,
    k: number,
  ): Promise<Int32Array> {
    const words = wordsPerRow(k);
    const out = new Int32Array(m * n);
    if (out.length === 0 || k === 0) return out;

    const columnsPerBlock = Math.min(n, this.rowsPerBinding(operation, 'w', weightBits * words * 4));
    const rowsPerBlock = Math.min(
      m,
      // A row of x is k bytes; the upload pads a block to whole words, which a limit that is a multiple of 4 absorbs.
      this.rowsPerBinding(operation, 'x', k),
      this.rowsPerBinding(operation, 'bit-planes', activationBits * words * 4),
      this.rowsPerBinding(operation, 'output', columnsPerBlock * 4),
    );
    for (let row = 0; row < m; row += rowsPerBlock) {
      const blockRows = Math.min(rowsPerBlock, m - row);
      const input = this.gpu.upload(x.subarray(row * k, (row + blockRows) * k));
      const planes = this.gpu.storage(blockRows * activationBits * words * 4);
      await encodeBitplanePack(this.gpu, input, planes, blockRows, k, activationBits);
      for (let column = 0; column < n; column += columnsPerBlock) {
        const blockColumns = Math.min(columnsPerBlock, n - column);
        const weights = this.gpu.upload(w.subarray(column * weightBits * words, (column + blockColumns) * weightBits * words));
        const output = this.gpu.storage(blockRows * blockColumns * 4);
        await encodeBitplaneGemm(this.gpu, planes, weights, output, blockRows, blockColumns, k, activationBits, weightBits);
        const block = new Int32Array(await this.gpu.read(output, blockRows * blockColumns * 4, operation));
        placeBlock(out, n, block, blockRows, blockColumns, row, column);
        this.gpu.release(weights, output);
      }
      this.gpu.release(input, planes);
    }
    return out;
  }

  /**
   * Columns per block for kernels whose output packs 32 columns to a word: all `columns` when
   * `fit` allows, else the largest multiple of 32 within `fit`, so blocks start on word boundaries.
   */
  private packedColumnsPerBlock(operation: string, operand: string, columns: number, fit: number): number {
    if (fit >= columns) return columns;
    if (fit < 32) {
      // Limitation: a block must cover whole output words, so 32 columns of the operand must fit one binding.
      throw new DeviceLimitError(
        `${operation}: 32 columns of ${operand} (one packed output word) need more than the device's storage binding limit ` +
          `of ${this.bindingLimit} bytes, which holds ${fit}`,
      );
    }
    return Math.floor(fit / 32) * 32;
  }

  /**
   * Cuts a batch of images into blocks whose input and output each fit one storage binding:
   * whole images when one image fits, else bands of output rows of one image with the
   * input rows they read (a window of `window` rows every `stride` rows, from padTop above).
   */
  private imageBands(operation: string, images: ImageBandSizes): ImageBand[] {
    const { batch, height, outHeight, inputRowBytes, outputRowBytes, window, stride, padTop } = images;
    const limit = this.bindingLimit;
    const bands: ImageBand[] = [];

    if (height * inputRowBytes <= limit && outHeight * outputRowBytes <= limit) {
      const perBlock = Math.min(batch, Math.floor(limit / (height * inputRowBytes)), Math.floor(limit / (outHeight * outputRowBytes)));
      for (let image = 0; image < batch; image += perBlock) {
        bands.push({ image, images: Math.min(perBlock, batch - image), firstOutRow: 0, outRows: outHeight, firstRow: 0, rows: height, padTop });
      }
      return bands;
    }

    const inputRows = this.rowsPerBinding(operation, 'input', inputRowBytes);
    const outRowsPerBand = Math.min(outHeight, this.rowsPerBinding(operation, 'output', outputRowBytes), Math.floor((inputRows - window) / stride) + 1);
    if (outRowsPerBand < 1) {
      throw new DeviceLimitError(
        `${operation}: one output row reads ${window} input rows of ${inputRowBytes} bytes, ` +
          `over the device's storage binding limit of ${limit} bytes`,
      );
    }
    for (let image = 0; image < batch; image++) {
      for (let firstOutRow = 0; firstOutRow < outHeight; firstOutRow += outRowsPerBand) {
        const outRows = Math.min(outRowsPerBand, outHeight - firstOutRow);
        // First input row of the band's first window, which may lie in the padding above the image.
        const top = firstOutRow * stride - padTop;
        const firstRow = Math.max(0, top);
        const endRow = Math.min(height, (firstOutRow + outRows - 1) * stride - padTop + window);
        bands.push({ image, images: 1, firstOutRow, outRows, firstRow, rows: Math.max(0, endRow - firstRow), padTop: firstRow - top });
      }
    }
    return bands;
  }

  private get bindingLimit(): number {
    return Math.min(this.gpu.limits.maxStorageBufferBindingSize, this.gpu.limits.maxBufferSize);
  }
}

/** Sizes that decide how imageBands cuts a batch of images. */
interface ImageBandSizes {
  batch: number;
  height: number;
  outHeight: number;
  inputRowBytes: number;
  outputRowBytes: number;
  /** Rows of the convolution or pooling window, its stride, and the padded rows above the image. */
  window: number;
  stride: number;
  padTop: number;
}

/** Images [image, image + images), output rows [firstOutRow, + outRows) of each, from input rows [firstRow, + rows). */
interface ImageBand {
  image: number;
  images: number;
  firstOutRow: number;
  outRows: number;
  firstRow: number;
  rows: number;
  /** Padded rows above firstRow for the band's first window. */
  padTop: number;
}

/** Copies the [rows, columns] block at (row, column) of a row-major matrix with `stride` columns; a view when it spans whole rows. */
function takeBlock<T extends Int32Array | Uint32Array>(source: T, stride: number, row: number, rows: number, column: number, columns: number): T {
  if (columns === stride) return source.subarray(row * stride, (row + rows) * stride) as T;
  const block = new (source.constructor as new (length: number) => T)(rows * columns);
  for (let r = 0; r < rows; r++) block.set(source.subarray((row + r) * stride + column, (row + r) * stride + column + columns), r * columns);
  return block;
}

/** Writes a row-major [rows, columns] block into `target` (row-major, `stride` columns) at (row, column). */
function placeBlock(target: Int32Array | Uint32Array, stride: number, block: Int32Array | Uint32Array, rows: number, columns: number, row: number, column: number): void {
  if (columns === stride) {
    target.set(block.subarray(0, rows * columns), row * stride);
    return;
  }
  for (let r = 0; r < rows; r++) target.set(block.subarray(r * columns, (r + 1) * columns), (row + r) * stride + column);
}

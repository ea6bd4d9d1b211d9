import type { AsyncBackend } from '../sdk/backends/async-backend.js';
import { type BinaryConv2dShape, type MaxPool2dShape, wordsPerRow } from '../sdk/backends/backend.js';
import { checkDims, checkLength } from '../sdk/backends/kernel-checks.js';
import { QnnError } from '../sdk/errors.js';
import { DeviceLimitError } from './host/device-limits.js';
import { GpuContext, type GpuContextOptions } from './host/gpu-context.js';
import { encodeBinaryGemm } from './kernels/binary-gemm.js';
import { probeBitIntrinsics } from './kernels/bit-intrinsics-probe.js';
import { encodePackSigns } from './kernels/pack-signs.js';

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

  async matmul(
    _a: Float32Array,
    _b: Float32Array,
    _m: number,
    _k: number,
    _n: number,
    _transposeA: boolean,
    _transposeB: boolean,
  ): Promise<Float32Array> {
    throw new QnnError('matmul: not yet implemented on WebGPU');
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
        for (let r = 0; r < blockRows; r++) out.set(block.subarray(r * blockColumns, (r + 1) * blockColumns), (row + r) * n + column);
        this.gpu.release(input, output);
      }
      this.gpu.release(weights);
    }
    return out;
  }

  async bitplaneGemm(_x: Uint8Array, _w: Uint32Array, _m: number, _n: number, _k: number): Promise<Int32Array> {
    throw new QnnError('bitplaneGemm: not yet implemented on WebGPU');
  }

  async bitplaneGemmBits(
    _x: Uint8Array,
    _activationBits: number,
    _w: Uint32Array,
    _weightBits: number,
    _m: number,
    _n: number,
    _k: number,
  ): Promise<Int32Array> {
    throw new QnnError('bitplaneGemmBits: not yet implemented on WebGPU');
  }

  async binaryGemmThresholdPack(
    _a: Uint32Array,
    _b: Uint32Array,
    _m: number,
    _n: number,
    _k: number,
    _thresholds: Int32Array,
    _directions: Int8Array,
  ): Promise<Uint32Array> {
    throw new QnnError('binaryGemmThresholdPack: not yet implemented on WebGPU');
  }

  async binaryConv2d(_input: Uint32Array, _weights: Uint32Array, _shape: BinaryConv2dShape): Promise<Int32Array> {
    throw new QnnError('binaryConv2d: not yet implemented on WebGPU');
  }

  async binaryMaxPool2d(_input: Uint32Array, _shape: MaxPool2dShape): Promise<Uint32Array> {
    throw new QnnError('binaryMaxPool2d: not yet implemented on WebGPU');
  }

  async thresholdPack(
    _acc: Int32Array,
    _rows: number,
    _cols: number,
    _thresholds: Int32Array,
    _directions: Int8Array,
  ): Promise<Uint32Array> {
    throw new QnnError('thresholdPack: not yet implemented on WebGPU');
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
   * How many rows of `rowBytes` bytes fit in one storage binding. Throws
   * DeviceLimitError when not even one does, since a row is never split.
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
}

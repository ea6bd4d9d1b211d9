import { QnnError, ShapeError } from '../../errors.js';
import { wordsPerRow } from '../backend.js';
import { DeviceLimits } from './device-limits.js';
import { PipelineCache } from './pipeline-cache.js';
import { BINARY_GEMM_WGSL, GEMM_TILE } from './shaders/binary-gemm-wgsl.js';
import { BIT_INTRINSICS_PROBE_INPUTS, BIT_INTRINSICS_PROBE_WGSL } from './shaders/bit-intrinsics-probe-wgsl.js';
import { PACK_SIGNS_WGSL, PACK_SIGNS_WORKGROUP_SIZE } from './shaders/pack-signs-wgsl.js';

// Flag values fixed by the WebGPU specification. Spelled out here because Node
// has no GPUBufferUsage or GPUMapMode globals unless a package installs them.
const BUFFER_MAP_READ = 0x0001;
const BUFFER_COPY_SRC = 0x0004;
const BUFFER_COPY_DST = 0x0008;
const BUFFER_UNIFORM = 0x0040;
const BUFFER_STORAGE = 0x0080;
const MAP_MODE_READ = 0x0001;

/** The WebGPU device was lost or destroyed; the message carries the reason the driver gave. */
export class WebGpuDeviceLostError extends QnnError {}

/**
 * Packed kernels on a WebGPU device, with the same bit layout and results as
 * the ReferenceBackend: little-endian u32 words, element i in bit (i mod 32),
 * bit 1 = -1, pad bits 0. Every call uploads its inputs, runs and reads the
 * result back with mapAsync, so the methods are async.
 *
 * Limitation: only packSigns and binaryGemm exist so far, so this class does
 * not implement the synchronous Backend interface.
 */
export class WebGpuKernels {
  readonly limits: DeviceLimits;
  private readonly pipelines: PipelineCache;
  private lostReason: string | undefined;
  private readonly lost: Promise<never>;

  /**
   * `options.maxComputeWorkgroupsPerDimension` lowers the device's limit of that name,
   * so tests can exercise split dispatches on small shapes. It never raises it.
   */
  constructor(
    readonly device: GPUDevice,
    options: { maxComputeWorkgroupsPerDimension?: number } = {},
  ) {
    this.limits = new DeviceLimits({
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
      maxComputeWorkgroupsPerDimension: Math.min(
        device.limits.maxComputeWorkgroupsPerDimension,
        options.maxComputeWorkgroupsPerDimension ?? Infinity,
      ),
    });
    this.pipelines = new PipelineCache(device);
    this.lost = device.lost.then((info) => {
      this.lostReason = `WebGPU device lost (${info.reason}): ${info.message || 'no message from the driver'}`;
      throw new WebGpuDeviceLostError(this.lostReason);
    });
    // Keeps the rejection handled when no call is waiting on it.
    this.lost.catch(() => undefined);
  }

  /** Signs and packs x f32 [rows, k] into words [rows, ceil(k/32)]; only x < 0 sets a bit, so -0.0 packs as +1. */
  async packSigns(x: Float32Array, rows: number, k: number): Promise<Uint32Array> {
    checkDimensions('packSigns', { rows, k });
    checkLength('packSigns', 'x', x, rows * k, `rows * k = ${rows} * ${k}`);
    const words = wordsPerRow(k);
    const totalWords = rows * words;
    if (totalWords === 0) return new Uint32Array(0);
    this.limits.checkStorageBinding('packSigns', 'x', x.byteLength);
    this.limits.checkStorageBinding('packSigns', 'output', totalWords * 4);

    const pipeline = await this.pipelines.get('pack-signs', PACK_SIGNS_WGSL);
    const grid = this.limits.flatGrid('packSigns', Math.ceil(totalWords / PACK_SIGNS_WORKGROUP_SIZE));
    const params = this.uniformBuffer(Uint32Array.from([rows, k, words, totalWords]));
    const input = this.storageBuffer(x);
    const output = this.outputBuffer(totalWords * 4);

    const encoder = this.device.createCommandEncoder({ label: 'packSigns' });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.bindGroup(pipeline, [params, input, output]));
    pass.dispatchWorkgroups(grid.countX, grid.countY);
    pass.end();

    const bytes = await this.submitAndRead(encoder, output, totalWords * 4, [params, input]);
    return new Uint32Array(bytes);
  }

  /**
   * Binary GEMM: out i32 [m, n] = k - 2 * popcount(a[m,:] XOR b[n,:]), with a packed as
   * [m, ceil(k/32)] and b as [n, ceil(k/32)] words whose pad bits are 0.
   */
  async binaryGemm(a: Uint32Array, b: Uint32Array, m: number, n: number, k: number): Promise<Int32Array> {
    checkDimensions('binaryGemm', { m, n, k });
    const words = wordsPerRow(k);
    checkLength('binaryGemm', 'a', a, m * words, `m * ceil(k / 32) = ${m} * ${words}`);
    checkLength('binaryGemm', 'b', b, n * words, `n * ceil(k / 32) = ${n} * ${words}`);
    if (m === 0 || n === 0) return new Int32Array(0);
    if (k === 0) return new Int32Array(m * n);
    this.limits.checkStorageBinding('binaryGemm', 'a', a.byteLength);
    this.limits.checkStorageBinding('binaryGemm', 'b', b.byteLength);
    this.limits.checkStorageBinding('binaryGemm', 'output', m * n * 4);

    const pipeline = await this.pipelines.get('binary-gemm', BINARY_GEMM_WGSL);
    const inputA = this.storageBuffer(a);
    const inputB = this.storageBuffer(b);
    const output = this.outputBuffer(m * n * 4);
    const uploads = [inputA, inputB];

    // Workgroup x walks the columns (n) and y the rows (m); grids over the
    // per-dimension limit run as several dispatches with tile offsets.
    const encoder = this.device.createCommandEncoder({ label: 'binaryGemm' });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    for (const chunk of this.limits.splitGrid(Math.ceil(n / GEMM_TILE), Math.ceil(m / GEMM_TILE))) {
      const params = this.uniformBuffer(Uint32Array.from([m, n, k, words, chunk.offsetY, chunk.offsetX]));
      uploads.push(params);
      pass.setBindGroup(0, this.bindGroup(pipeline, [params, inputA, inputB, output]));
      pass.dispatchWorkgroups(chunk.countX, chunk.countY);
    }
    pass.end();

    const bytes = await this.submitAndRead(encoder, output, m * n * 4, uploads);
    return new Int32Array(bytes);
  }

  /**
   * Runs the bit-intrinsics probe and returns six u32 values, expected
   * [32, 1, 0x80000000] twice: countOneBits(-1i), countOneBits(0x80000000u) and
   * reverseBits(1u), first on values read at run time, then on literals.
   */
  async probeBitIntrinsics(): Promise<Uint32Array> {
    const pipeline = await this.pipelines.get('bit-intrinsics-probe', BIT_INTRINSICS_PROBE_WGSL);
    const input = this.storageBuffer(BIT_INTRINSICS_PROBE_INPUTS);
    const output = this.outputBuffer(6 * 4);

    const encoder = this.device.createCommandEncoder({ label: 'probeBitIntrinsics' });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.bindGroup(pipeline, [input, output]));
    pass.dispatchWorkgroups(1);
    pass.end();

    return new Uint32Array(await this.submitAndRead(encoder, output, 6 * 4, [input]));
  }

  /** Destroys the device. Later calls throw WebGpuDeviceLostError. */
  destroy(): void {
    this.device.destroy();
  }

  private uniformBuffer(data: Uint32Array): GPUBuffer {
    return this.uploadBuffer(data, BUFFER_UNIFORM);
  }

  private storageBuffer(data: Float32Array | Uint32Array): GPUBuffer {
    return this.uploadBuffer(data, BUFFER_STORAGE);
  }

  private uploadBuffer(data: Float32Array | Uint32Array, usage: GPUBufferUsageFlags): GPUBuffer {
    this.throwIfLost();
    // Buffer sizes must be multiples of 4 and non-zero; a typed array of 4-byte elements always is once non-empty.
    const buffer = this.device.createBuffer({ size: Math.max(4, data.byteLength), usage: usage | BUFFER_COPY_DST });
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  private outputBuffer(bytes: number): GPUBuffer {
    this.throwIfLost();
    return this.device.createBuffer({ size: bytes, usage: BUFFER_STORAGE | BUFFER_COPY_SRC });
  }

  private bindGroup(pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  /**
   * Copies `output` into a mappable buffer, submits, and returns a copy of its first `bytes` bytes.
   * Validation and out-of-memory errors and a lost device reject instead of hanging.
   */
  private async submitAndRead(
    encoder: GPUCommandEncoder,
    output: GPUBuffer,
    bytes: number,
    temporaries: GPUBuffer[],
  ): Promise<ArrayBuffer> {
    const readback = this.device.createBuffer({ size: bytes, usage: BUFFER_MAP_READ | BUFFER_COPY_DST });
    encoder.copyBufferToBuffer(output, 0, readback, 0, bytes);

    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.device.queue.submit([encoder.finish()]);
    const validationError = this.device.popErrorScope();
    const memoryError = this.device.popErrorScope();

    try {
      const [validation, memory] = await Promise.race([Promise.all([validationError, memoryError]), this.lost]);
      const error = validation ?? memory;
      if (error !== null) throw new QnnError(`${encoder.label || 'WebGPU'}: the device rejected the commands: ${error.message}`);

      await Promise.race([readback.mapAsync(MAP_MODE_READ), this.lost]);
      return readback.getMappedRange().slice(0);
    } finally {
      if (readback.mapState === 'mapped') readback.unmap();
      for (const buffer of [readback, output, ...temporaries]) buffer.destroy();
    }
  }

  private throwIfLost(): void {
    if (this.lostReason !== undefined) throw new WebGpuDeviceLostError(this.lostReason);
  }
}

function checkDimensions(kernel: string, dimensions: Record<string, number>): void {
  for (const [name, value] of Object.entries(dimensions)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ShapeError(`${kernel}: ${name} = ${value} is invalid, expected a non-negative integer`);
    }
  }
}

function checkLength(kernel: string, name: string, array: ArrayLike<number>, expected: number, layout: string): void {
  if (array.length !== expected) {
    throw new ShapeError(`${kernel}: ${name} has ${array.length} elements, expected ${layout} = ${expected}`);
  }
}

import { ShapeError, QnnError } from '../errors.js';
import { type Backend, wordsPerRow } from './backend.js';
import {
  type WasmBuild,
  defaultWasmUrl,
  instantiateWasm,
  isWasmSimdSupported,
  readWasmBytes,
} from './wasm-loader.js';
import { WasmHeap } from './wasm-memory.js';

export { isWasmSimdSupported } from './wasm-loader.js';

/** Exports of the module built from asm/index.ts. Pointers are byte offsets into `memory`. */
interface QnnWasmExports {
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
}

/** Largest dimension the kernels accept, because they take dimensions as i32. */
const MAX_DIM = 0x7fffffff;

function checkDims(kernel: string, dims: Record<string, number>): void {
  for (const [name, value] of Object.entries(dims)) {
    if (!Number.isInteger(value) || value < 0 || value > MAX_DIM) {
      throw new ShapeError(`${kernel}: ${name} = ${value} is invalid, expected an integer from 0 to ${MAX_DIM}`);
    }
  }
}

/** Throws a ShapeError unless `array` has `expected` elements. `layout` states the expected shape, e.g. "m * k = 3 * 4". */
function checkLength(kernel: string, name: string, array: ArrayLike<number>, expected: number, layout: string): void {
  if (array.length !== expected) {
    throw new ShapeError(`${kernel}: ${name} has ${array.length} elements, expected ${layout} = ${expected}`);
  }
}

/**
 * Backend running the kernels compiled from asm/ (AssemblyScript) in
 * WebAssembly, single-threaded. Every call copies its inputs into WASM
 * memory, runs the kernel and returns a copy of the result, so callers keep
 * ownership of their arrays. Create one with createWasmBackend.
 */
export class WasmBackend implements Backend {
  readonly name: 'wasm-simd' | 'wasm-scalar';
  /** Build of the compiled module that runs the kernels. */
  readonly build: WasmBuild;
  private readonly kernels: QnnWasmExports;
  private readonly heap: WasmHeap;

  constructor(instance: WebAssembly.Instance) {
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
    this.name = this.build === 'simd' ? 'wasm-simd' : 'wasm-scalar';
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
}

function parseWasmUrl(url: string | URL): URL {
  if (url instanceof URL) return url;
  try {
    return new URL(url);
  } catch {
    throw new QnnError(
      `wasmUrl '${url}' is not an absolute URL. Pass an absolute URL or a URL object ` +
        "such as new URL('./qnn-simd.wasm', import.meta.url)",
    );
  }
}

/**
 * Loads a compiled qnn module and returns a backend running it. Picks the SIMD
 * build when the host validates a SIMD module, unless `options.simd` forces a
 * build. Throws a QnnError when SIMD is forced but unsupported, when the module
 * cannot be read or compiled, or when `wasmBytes`/`wasmUrl` hold the other
 * build than the one `simd` forces.
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const simdSupported = isWasmSimdSupported();
  if (options.simd === true && !simdSupported) {
    throw new QnnError(
      'WebAssembly SIMD was requested (simd: true) but this host does not support it. ' +
        'Omit the simd option or pass simd: false to use the scalar build',
    );
  }
  const build: WasmBuild = (options.simd ?? simdSupported) ? 'simd' : 'scalar';

  let bytes: BufferSource;
  let source: string;
  if (options.wasmBytes !== undefined) {
    bytes = options.wasmBytes;
    source = 'options.wasmBytes';
  } else {
    const url = options.wasmUrl === undefined ? defaultWasmUrl(build) : parseWasmUrl(options.wasmUrl);
    bytes = await readWasmBytes(url);
    source = url.href;
  }

  const backend = new WasmBackend(await instantiateWasm(bytes, source));
  if (options.simd !== undefined && backend.build !== build) {
    throw new QnnError(`the WASM module from ${source} is the ${backend.build} build, but simd: ${options.simd} requests the ${build} build`);
  }
  return backend;
}

/**
 * Multi-threaded WASM kernels. Several instances of the threads build of the
 * qnn module (dist/asm/qnn-*-threads.wasm) run on one shared
 * WebAssembly.Memory: one on the calling thread and one in each worker. A
 * kernel call writes its operands into the shared memory once, describes the
 * call as a job of row chunks in a control SharedArrayBuffer and wakes the
 * workers. Every thread, the caller included, claims chunks with Atomics.add
 * until none is left, and the caller then blocks in Atomics.wait until each
 * worker reports done. The kernels take byte addresses and row counts, so a
 * chunk is the same kernel with offset pointers and a smaller M. A
 * binaryConv2d chunk is a range of output rows of one image (see runConv2dChunk).
 *
 * Node runs the workers as worker_threads, browsers as module Web Workers
 * (only in a cross-origin isolated page, where SharedArrayBuffer exists).
 * A browser's main thread may not call Atomics.wait, so there the caller
 * spins on the done flags instead of sleeping (see WorkerPool.run).
 * The browser bundles load qnn-wasm-thread-worker.js from their own folder
 * (rollup.config.mjs rewrites the worker URL).
 */
import { QnnError } from '../errors.js';
import { type BinaryConv2dShape, wordsPerRow } from './backend.js';
import { binaryConv2dGeometry, checkBinaryConv2d } from './reference-conv.js';
import { type WasmBuild, compileWasm, defaultWasmUrl, instantiateWasm, readWasmBytes } from './wasm-loader.js';
import { checkDims, checkLength } from './kernel-checks.js';
import { type QnnWasmExports, type WasmBackendOptions, WasmBackend } from './wasm-backend.js';

/** Pages of the shared memory: the maximum asm/build.mjs declares for the threads builds, 4 GiB. */
export const SHARED_MEMORY_MAX_PAGES = 65536;

/** Maximum thread count that 'auto' picks. An estimate: past it the copies on the calling thread dominate. */
const MAX_AUTO_THREADS = 8;

/**
 * Default smallest share of a call, in multiply-adds, worth a thread. An estimate:
 * waking a worker and waiting for it costs tens of microseconds, and 2^20
 * binary multiply-adds take roughly 0.1 ms on one core.
 */
const DEFAULT_MIN_OPS_PER_THREAD = 1 << 20;

/** Kernel exports that worker tasks call: a subset of the qnn module's exports. */
export type ThreadKernels = Pick<
  QnnWasmExports,
  | 'binaryGemm'
  | 'bitplaneGemm'
  | 'bitplaneGemmScratchBytes'
  | 'binaryGemmThresholdPack'
  | 'floatGemm'
  | 'floatGemmScratchBytes'
  | 'floatGemmAtB'
  | 'binaryConv2d'
  | 'binaryConv2dScratchBytes'
>;

/** Kernel that a job runs. */
export const enum TaskCode {
  Stop = 0,
  BinaryGemm = 1,
  BinaryGemmThresholdPack = 2,
  BitplaneGemm = 3,
  FloatGemm = 4,
  BinaryConv2d = 5,
  FloatGemmAtB = 6,
}

/** Index of M in the arguments of every GEMM kernel that a job runs. */
const ROWS_ARG = 2;

/** Indices in the binaryConv2d arguments (asm/binary-conv2d.ts) that a chunk changes or reads. */
const CONV_INPUT_ARG = 0;
const CONV_OUT_ARG = 2;
const CONV_BATCH_ARG = 4;
const CONV_HEIGHT_ARG = 5;
const CONV_WIDTH_ARG = 6;
const CONV_CHANNELS_ARG = 7;
const CONV_OUT_CHANNELS_ARG = 8;
const CONV_STRIDE_HEIGHT_ARG = 11;
const CONV_PAD_TOP_ARG = 13;
const CONV_OUT_HEIGHT_ARG = 15;
const CONV_OUT_WIDTH_ARG = 16;

/**
 * One kernel call split into chunks of output rows. Threads claim chunks from
 * a shared counter until none is left, so a thread on a busier core takes
 * fewer chunks than one on an idle core.
 */
export interface Job {
  code: TaskCode;
  /**
   * Kernel arguments of the whole call (byte addresses and sizes). GEMM kernels
   * have M at args[2].
   */
  args: number[];
  /** Bytes each argument advances per output row, 0 for arguments that all rows share. Unused by BinaryConv2d. */
  rowStrides: number[];
  /** Output rows per chunk. For BinaryConv2d, output rows of one image, so a chunk never spans two images. */
  chunkRows: number;
  /** Index in args of the scratch address, or -1 for none. Thread t passes scratch[t]. */
  scratchIndex: number;
  scratch: number[];
}

// Layout of the control SharedArrayBuffer: int32 fields (the chunk counter,
// then one group per worker slot), the float64 job (a byte address may exceed
// 2^31), then per slot the UTF-8 message of a failed chunk.
export const NEXT_CHUNK = 0;
const GLOBAL_INTS = 4;
const SLOT_INTS = 4;
const REQUEST = 0; // sequence number the caller increments to post a job
const DONE = 1; // sequence number the worker stores when it finished its chunks
const FAILED = 2; // 1 when a chunk threw
const MESSAGE_LENGTH = 3;
/** Maximum kernel arguments of a job: binaryConv2d takes 18. */
const MAX_ARGS = 18;
/** Maximum threads, so the job's per-thread scratch addresses fit the control block. */
const MAX_THREADS = 64;
// Float64 job fields: code, M, chunk rows, scratch index, then args, row strides and scratch addresses.
const JOB_HEADER = 4;
const JOB_FLOATS = JOB_HEADER + 2 * MAX_ARGS + MAX_THREADS;
const MESSAGE_BYTES = 512;

/** Views of the control SharedArrayBuffer of `slots` workers. */
export class ControlBlock {
  readonly ints: Int32Array;
  readonly job: Float64Array;
  readonly messages: Uint8Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly slots: number,
  ) {
    const intCount = GLOBAL_INTS + slots * SLOT_INTS;
    // intCount is a multiple of 2, so the float64 view starts 8-byte aligned.
    this.ints = new Int32Array(buffer, 0, intCount);
    this.job = new Float64Array(buffer, intCount * 4, JOB_FLOATS);
    this.messages = new Uint8Array(buffer, intCount * 4 + JOB_FLOATS * 8, slots * MESSAGE_BYTES);
  }

  static create(slots: number): ControlBlock {
    const bytes = (GLOBAL_INTS + slots * SLOT_INTS) * 4 + JOB_FLOATS * 8 + slots * MESSAGE_BYTES;
    return new ControlBlock(new SharedArrayBuffer(bytes), slots);
  }

  field(slot: number, field: number): number {
    return GLOBAL_INTS + slot * SLOT_INTS + field;
  }

  writeJob(job: Job): void {
    this.job.fill(0);
    this.job[0] = job.code;
    this.job[1] = job.args[ROWS_ARG];
    this.job[2] = job.chunkRows;
    this.job[3] = job.scratchIndex;
    this.job.set(job.args, JOB_HEADER);
    this.job.set(job.rowStrides, JOB_HEADER + MAX_ARGS);
    this.job.set(job.scratch, JOB_HEADER + 2 * MAX_ARGS);
  }

  readJob(): Job {
    const job = this.job;
    return {
      code: job[0] as TaskCode,
      args: Array.from(job.subarray(JOB_HEADER, JOB_HEADER + MAX_ARGS)),
      rowStrides: Array.from(job.subarray(JOB_HEADER + MAX_ARGS, JOB_HEADER + 2 * MAX_ARGS)),
      chunkRows: job[2],
      scratchIndex: job[3],
      scratch: Array.from(job.subarray(JOB_HEADER + 2 * MAX_ARGS, JOB_FLOATS)),
    };
  }
}

/** Runs one kernel call on the kernels of this thread's instance. */
export function runKernel(kernels: ThreadKernels, code: TaskCode, args: number[]): void {
  switch (code) {
    case TaskCode.BinaryGemm:
      kernels.binaryGemm(args[0], args[1], args[2], args[3], args[4], args[5]);
      return;
    case TaskCode.BinaryGemmThresholdPack:
      kernels.binaryGemmThresholdPack(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7]);
      return;
    case TaskCode.BitplaneGemm:
      kernels.bitplaneGemm(args[0], args[1], args[2], args[3], args[4], args[5], args[6]);
      return;
    case TaskCode.FloatGemm:
      kernels.floatGemm(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8]);
      return;
    case TaskCode.FloatGemmAtB:
      kernels.floatGemmAtB(args[0], args[1], args[2], args[3], args[4], args[5]);
      return;
    case TaskCode.BinaryConv2d:
      kernels.binaryConv2d(
        args[0],
        args[1],
        args[2],
        args[3],
        args[4],
        args[5],
        args[6],
        args[7],
        args[8],
        args[9],
        args[10],
        args[11],
        args[12],
        args[13],
        args[14],
        args[15],
        args[16],
        args[17],
      );
      return;
    default:
      throw new QnnError(`task code ${code} is invalid, expected a kernel code from 1 to 6`);
  }
}

/**
 * Claims chunks of `job` from the shared counter and runs them until none is
 * left. `thread` is 0 for the caller and slot + 1 for a worker.
 */
export function runChunks(kernels: ThreadKernels, job: Job, thread: number, control: ControlBlock): void {
  if (job.code === TaskCode.BinaryConv2d) {
    runConv2dChunks(kernels, job, thread, control);
    return;
  }
  const rows = job.args[ROWS_ARG];
  const chunkCount = Math.ceil(rows / job.chunkRows);
  const args = job.args.slice();
  // A kernel-gradient chunk adds into an accumulator of its own, summed in chunk order afterwards, so the
  // float32 result does not depend on which thread ran which chunk. The job has one chunk per scratch region.
  const scratchPerChunk = job.code === TaskCode.FloatGemmAtB;
  if (job.scratchIndex >= 0 && !scratchPerChunk) args[job.scratchIndex] = job.scratch[thread];

  for (;;) {
    const chunk = Atomics.add(control.ints, NEXT_CHUNK, 1);
    if (chunk >= chunkCount) return;
    if (scratchPerChunk) args[job.scratchIndex] = job.scratch[chunk];

    const start = chunk * job.chunkRows;
    for (let i = 0; i < job.rowStrides.length; i++) {
      if (job.rowStrides[i] !== 0) args[i] = job.args[i] + job.rowStrides[i] * start;
    }
    args[ROWS_ARG] = Math.min(job.chunkRows, rows - start);
    runKernel(kernels, job.code, args);
  }
}

/**
 * Claims chunks of a BinaryConv2d job, each a range of output rows of one
 * image, and runs them until none is left. A chunk calls the unchanged kernel
 * on one image with padTop lowered by rowStart * strideHeight, so its output
 * row 0 reads the input rows of output row rowStart. The kernel only uses
 * padTop in yStart = oy * strideHeight - padTop, so a negative padTop is valid.
 * Each output element is thus computed from the same window with the same
 * arithmetic as in a one-thread call. The kernel rewrites the per-tap weight
 * sums in its scratch on every call, so each thread passes its own scratch.
 */
function runConv2dChunks(kernels: ThreadKernels, job: Job, thread: number, control: ControlBlock): void {
  const whole = job.args;
  const batch = whole[CONV_BATCH_ARG];
  const outHeight = whole[CONV_OUT_HEIGHT_ARG];
  const chunksPerImage = Math.ceil(outHeight / job.chunkRows);
  const chunkCount = batch * chunksPerImage;

  const pixelBytes = wordsPerRow(whole[CONV_CHANNELS_ARG]) * 4;
  const inputImageBytes = whole[CONV_HEIGHT_ARG] * whole[CONV_WIDTH_ARG] * pixelBytes;
  const outRowBytes = whole[CONV_OUT_WIDTH_ARG] * whole[CONV_OUT_CHANNELS_ARG] * 4;

  const args = whole.slice();
  args[job.scratchIndex] = job.scratch[thread];
  args[CONV_BATCH_ARG] = 1;

  for (;;) {
    const chunk = Atomics.add(control.ints, NEXT_CHUNK, 1);
    if (chunk >= chunkCount) return;

    const image = Math.floor(chunk / chunksPerImage);
    const rowStart = (chunk % chunksPerImage) * job.chunkRows;
    const rowEnd = Math.min(outHeight, rowStart + job.chunkRows);
    args[CONV_INPUT_ARG] = whole[CONV_INPUT_ARG] + image * inputImageBytes;
    args[CONV_OUT_ARG] = whole[CONV_OUT_ARG] + (image * outHeight + rowStart) * outRowBytes;
    args[CONV_PAD_TOP_ARG] = whole[CONV_PAD_TOP_ARG] - rowStart * whole[CONV_STRIDE_HEIGHT_ARG];
    args[CONV_OUT_HEIGHT_ARG] = rowEnd - rowStart;
    runKernel(kernels, job.code, args);
  }
}

/**
 * Runs the worker side of the protocol for control slot `slot` until a Stop
 * job arrives: wait for a new request, run chunks, store DONE and notify.
 * `ready` is called once the worker has read the current request number, so
 * a job posted right after it is seen as new.
 */
export function runWorkerLoop(kernels: ThreadKernels, control: ControlBlock, slot: number, ready: () => void): void {
  const ints = control.ints;
  const requestIndex = control.field(slot, REQUEST);
  let seen = Atomics.load(ints, requestIndex);
  ready();

  for (;;) {
    Atomics.wait(ints, requestIndex, seen);
    const request = Atomics.load(ints, requestIndex);
    if (request === seen) continue;
    seen = request;

    const job = control.readJob();
    if (job.code === TaskCode.Stop) return;

    try {
      runChunks(kernels, job, slot + 1, control);
      Atomics.store(ints, control.field(slot, FAILED), 0);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const encoded = new TextEncoder().encode(message).subarray(0, MESSAGE_BYTES);
      control.messages.set(encoded, slot * MESSAGE_BYTES);
      Atomics.store(ints, control.field(slot, MESSAGE_LENGTH), encoded.length);
      Atomics.store(ints, control.field(slot, FAILED), 1);
    }

    Atomics.store(ints, control.field(slot, DONE), seen);
    Atomics.notify(ints, control.field(slot, DONE));
  }
}

/** Data a worker receives at start: the compiled threads module, the shared memory and its control slot. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  slots: number;
  slot: number;
}

/** A started worker thread. */
export interface ThreadHandle {
  terminate(): Promise<unknown>;
}

/** Starts a worker running wasm-thread-worker.js with `init`, resolving once its instance is ready. */
export type ThreadSpawner = (init: WorkerInit) => Promise<ThreadHandle>;

/**
 * Returns the spawner of this runtime, or undefined where threads are unavailable:
 * no SharedArrayBuffer, a page that is not cross-origin isolated, or no worker_threads.
 */
async function detectSpawner(): Promise<ThreadSpawner | undefined> {
  if (typeof globalThis.SharedArrayBuffer !== 'function') return undefined;
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) return undefined;
  // Relative to dist/, so the URL is the same from dist/sdk/backends/ and from the Node
  // and Deno bundles in dist/bundles/*/. The browser bundles get a worker beside them instead.
  const workerUrl = new URL('../../sdk/backends/wasm-thread-worker.js', import.meta.url);
  if (typeof process === 'undefined' || process.versions?.node === undefined) {
    // Limitation: Deno without Node compatibility globals keeps one thread, because its Web Workers are untested here.
    const isBrowser = typeof Worker === 'function' && !('Deno' in globalThis);
    return isBrowser ? webWorkerSpawner(workerUrl) : undefined;
  }

  let workerThreads: typeof import('node:worker_threads');
  try {
    workerThreads = await import('node:worker_threads');
  } catch {
    return undefined;
  }

  return (init) =>
    new Promise<ThreadHandle>((resolve, reject) => {
      // The worker needs none of the parent's Node flags, and some of them
      // (--input-type, --eval) make a worker fail to start.
      const worker = new workerThreads.Worker(workerUrl, { workerData: init, execArgv: [] });
      const onError = (error: Error) => {
        reject(new QnnError(`starting WASM worker ${init.slot + 1} failed (${error.message})`));
      };
      worker.once('error', onError);
      worker.once('message', () => {
        worker.off('error', onError);
        // An idle worker blocks in Atomics.wait. unref lets the process exit
        // even when dispose() was never called.
        worker.unref();
        resolve(worker);
      });
    });
}

/** Returns a spawner of module Web Workers, the threads of browsers. Each worker gets its WorkerInit as its first message. */
function webWorkerSpawner(workerUrl: URL): ThreadSpawner {
  return (init) =>
    new Promise<ThreadHandle>((resolve, reject) => {
      const worker = new Worker(workerUrl, { type: 'module' });
      worker.onerror = (event) => {
        worker.terminate();
        const reason = event.message || 'the script failed to load or threw';
        reject(new QnnError(`starting WASM worker ${init.slot + 1} from ${workerUrl.href} failed (${reason}). Serve the worker at that URL`));
      };
      worker.onmessage = () => {
        worker.onerror = null;
        worker.onmessage = null;
        resolve({ terminate: async () => worker.terminate() });
      };
      worker.postMessage(init);
    });
}

/** Resolves the threads option to a count: 'auto' is the core count, capped at MAX_AUTO_THREADS. */
export async function resolveThreadCount(threads: number | 'auto' | undefined): Promise<number> {
  if (threads === undefined) return 1;
  if (threads === 'auto') {
    let cores = 1;
    if (typeof navigator !== 'undefined' && navigator.hardwareConcurrency > 0) {
      cores = navigator.hardwareConcurrency;
    } else if (typeof process !== 'undefined' && process.versions?.node !== undefined) {
      const os = await import('node:os');
      cores = os.availableParallelism();
    }
    return Math.max(1, Math.min(MAX_AUTO_THREADS, cores));
  }
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new QnnError(`threads = ${threads} is invalid, expected an integer from 1 to ${MAX_THREADS} or 'auto'`);
  }
  return threads;
}

function atomicsWaitAllowed(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** Worker threads and the control block that posts jobs to them. The calling thread takes chunks of every job too. */
class WorkerPool {
  private disposed = false;

  /** Whether Atomics.wait may block here. On a browser's main thread it throws, so the caller spins, as it is blocked for the call anyway. */
  private readonly canBlock = atomicsWaitAllowed();

  constructor(
    private readonly workers: ThreadHandle[],
    private readonly control: ControlBlock,
  ) {}

  /** Number of threads including the caller's. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs `job` on `threads` threads (the caller and threads - 1 workers) and
   * returns when every chunk is done. Throws a QnnError with the message of
   * each thread whose chunk failed.
   */
  run(kernels: ThreadKernels, job: Job, threads: number, kernelName: string): void {
    if (this.disposed) {
      throw new QnnError(`${kernelName}: the threaded WASM backend was disposed. Create a new backend`);
    }
    const ints = this.control.ints;

    // The plain writes of the job happen before the Atomics operations that
    // wake the workers, so a worker that observes the new request also observes the job.
    this.control.writeJob(job);
    Atomics.store(ints, NEXT_CHUNK, 0);
    const posted: { slot: number; sequence: number }[] = [];
    for (let slot = 0; slot < threads - 1; slot++) {
      const sequence = Atomics.add(ints, this.control.field(slot, REQUEST), 1) + 1;
      Atomics.notify(ints, this.control.field(slot, REQUEST));
      posted.push({ slot, sequence });
    }

    // The caller waits for every worker even when its own chunk failed, so no
    // worker is still writing to the shared memory when this method returns.
    const failures: string[] = [];
    try {
      runChunks(kernels, job, 0, this.control);
    } catch (error) {
      failures.push(`calling thread: ${error instanceof Error ? error.message : String(error)}`);
    }

    for (const { slot, sequence } of posted) {
      const doneIndex = this.control.field(slot, DONE);
      // NOTE: no timeout, because a large call may run for minutes. A worker
      // that died mid-job would block the caller here.
      for (let done = Atomics.load(ints, doneIndex); done !== sequence; done = Atomics.load(ints, doneIndex)) {
        if (this.canBlock) Atomics.wait(ints, doneIndex, done);
      }
      if (Atomics.load(ints, this.control.field(slot, FAILED)) === 1) {
        const length = Atomics.load(ints, this.control.field(slot, MESSAGE_LENGTH));
        const start = slot * MESSAGE_BYTES;
        const message = new TextDecoder().decode(this.control.messages.slice(start, start + length));
        failures.push(`worker ${slot + 1}: ${message}`);
      }
    }

    if (failures.length > 0) {
      throw new QnnError(`${kernelName} failed in the WASM kernel (${failures.join('; ')})`);
    }
  }

  /** Stops every worker. Later calls to run throw. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;

    const ints = this.control.ints;
    this.control.writeJob({ code: TaskCode.Stop, args: [], rowStrides: [], chunkRows: 1, scratchIndex: -1, scratch: [] });
    for (let slot = 0; slot < this.workers.length; slot++) {
      Atomics.add(ints, this.control.field(slot, REQUEST), 1);
      Atomics.notify(ints, this.control.field(slot, REQUEST));
    }
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

/**
 * Chunks per thread of the row-split kernels. More chunks balance threads on
 * unequally loaded cores better. Each chunk rereads all of b, which costs
 * little next to its rows of output.
 */
const CHUNKS_PER_THREAD = 8;

/** Rows per chunk when `rows` rows are split into about `chunksPerThread` chunks for each of `threads` threads. */
export function chunkRows(rows: number, threads: number, chunksPerThread: number): number {
  return Math.max(1, Math.ceil(rows / (threads * chunksPerThread)));
}

/** Constructor of the threaded backend class, defined on first use by defineThreadedBackend. */
type ThreadedBackendClass = new (instance: WebAssembly.Instance, pool: WorkerPool, minOpsPerThread: number) => WasmBackend;

let threadedBackendClass: ThreadedBackendClass | undefined;

/**
 * Defines the threaded backend class. wasm-backend.ts and this module import
 * each other, so a class that extends WasmBackend at module load could run
 * before WasmBackend exists. Defining it inside a function defers that to the
 * first createThreadedWasmBackend call.
 */
function defineThreadedBackend(): ThreadedBackendClass {
  /**
   * WASM backend whose binaryGemm, binaryGemmThresholdPack, bitplaneGemm,
   * matmul and binaryConv2d split their output rows across worker threads. The
   * other kernels run on the calling thread. Call dispose() when done with it.
   */
  return class ThreadedWasmBackend extends WasmBackend {
    constructor(
      instance: WebAssembly.Instance,
      private readonly pool: WorkerPool,
      private readonly minOpsPerThread: number,
    ) {
      super(instance, pool.threads);
    }

    /** Number of threads for a call of `rows` output rows and `ops` multiply-adds. */
    private threadCount(rows: number, ops: number): number {
      return Math.max(1, Math.min(this.threads, rows, Math.floor(ops / this.minOpsPerThread)));
    }

    override binaryGemm(a: Uint32Array, b: Uint32Array, m: number, n: number, k: number): Int32Array {
      const threads = this.threadCount(m, m * n * k);
      if (threads === 1) return super.binaryGemm(a, b, m, n, k);
      const words = checkBinaryOperands('binaryGemm', a, b, m, n, k);

      const [aPtr, bPtr, outPtr] = this.heap.reserve('binaryGemm', [a.byteLength, b.byteLength, m * n * 4]);
      this.heap.write(aPtr, a);
      this.heap.write(bPtr, b);

      this.pool.run(
        this.kernels,
        {
          code: TaskCode.BinaryGemm,
          args: [aPtr, bPtr, m, n, k, outPtr],
          rowStrides: [words * 4, 0, 0, 0, 0, n * 4],
          chunkRows: chunkRows(m, threads, CHUNKS_PER_THREAD),
          scratchIndex: -1,
          scratch: [],
        },
        threads,
        'binaryGemm',
      );
      return this.heap.readInt32(outPtr, m * n);
    }

    override binaryGemmThresholdPack(
      a: Uint32Array,
      b: Uint32Array,
      m: number,
      n: number,
      k: number,
      thresholds: Int32Array,
      directions: Int8Array,
    ): Uint32Array {
      const threads = this.threadCount(m, m * n * k);
      if (threads === 1) return super.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions);
      const kernel = 'binaryGemmThresholdPack';
      const words = checkBinaryOperands(kernel, a, b, m, n, k);
      checkLength(kernel, 'thresholds', thresholds, n, 'n');
      checkLength(kernel, 'directions', directions, n, 'n');
      const outWords = wordsPerRow(n);

      const [aPtr, bPtr, thresholdsPtr, directionsPtr, outPtr] = this.heap.reserve(kernel, [
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

      this.pool.run(
        this.kernels,
        {
          code: TaskCode.BinaryGemmThresholdPack,
          args: [aPtr, bPtr, m, n, k, thresholdsPtr, directionsPtr, outPtr],
          rowStrides: [words * 4, 0, 0, 0, 0, 0, 0, outWords * 4],
          chunkRows: chunkRows(m, threads, CHUNKS_PER_THREAD),
          scratchIndex: -1,
          scratch: [],
        },
        threads,
        kernel,
      );
      return this.heap.readUint32(outPtr, m * outWords);
    }

    override bitplaneGemm(x: Uint8Array, w: Uint32Array, m: number, n: number, k: number): Int32Array {
      const threads = this.threadCount(m, m * n * k * 8);
      if (threads === 1) return super.bitplaneGemm(x, w, m, n, k);
      checkDims('bitplaneGemm', { m, n, k });
      const words = wordsPerRow(k);
      checkLength('bitplaneGemm', 'x', x, m * k, `m * k = ${m} * ${k}`);
      checkLength('bitplaneGemm', 'w', w, n * words, `n * ceil(k / 32) = ${n} * ${words}`);

      // Each thread packs the bit-planes of its chunk's rows into its own scratch.
      const rowsPerChunk = chunkRows(m, threads, CHUNKS_PER_THREAD);
      const scratchBytes = this.kernels.bitplaneGemmScratchBytes(rowsPerChunk, k);
      const [xPtr, wPtr, outPtr, ...scratch] = this.heap.reserve('bitplaneGemm', [
        x.byteLength,
        w.byteLength,
        m * n * 4,
        ...Array<number>(threads).fill(scratchBytes),
      ]);
      this.heap.write(xPtr, x);
      this.heap.write(wPtr, w);

      this.pool.run(
        this.kernels,
        {
          code: TaskCode.BitplaneGemm,
          args: [xPtr, wPtr, m, n, k, outPtr, 0],
          rowStrides: [k, 0, 0, 0, 0, n * 4, 0],
          chunkRows: rowsPerChunk,
          scratchIndex: 6,
          scratch,
        },
        threads,
        'bitplaneGemm',
      );
      return this.heap.readInt32(outPtr, m * n);
    }

    override matmul(
      a: Float32Array,
      b: Float32Array,
      m: number,
      k: number,
      n: number,
      transposeA: boolean,
      transposeB: boolean,
    ): Float32Array {
      const threads = this.threadCount(m, m * n * k);
      if (threads === 1) return super.matmul(a, b, m, k, n, transposeA, transposeB);
      checkDims('matmul', { m, k, n });
      checkLength('matmul', 'a', a, m * k, transposeA ? `k * m = ${k} * ${m} (transposeA)` : `m * k = ${m} * ${k}`);
      checkLength('matmul', 'b', b, k * n, transposeB ? `n * k = ${n} * ${k} (transposeB)` : `k * n = ${k} * ${n}`);

      // One chunk per thread, because each chunk packs all of op(b) into panels
      // in its thread's scratch.
      const rowsPerChunk = chunkRows(m, threads, 1);
      const scratchBytes = this.kernels.floatGemmScratchBytes(rowsPerChunk, k, n);
      const [aPtr, bPtr, cPtr, ...scratch] = this.heap.reserve('matmul', [
        a.byteLength,
        b.byteLength,
        m * n * 4,
        ...Array<number>(threads).fill(scratchBytes),
      ]);
      // Rows of op(a) must be contiguous for a row split, so a stored [K,M] is
      // written transposed. The kernel packs the same values into its panels
      // either way, so the result is bit for bit the single-thread one.
      this.heap.write(aPtr, transposeA ? transpose(a, k, m) : a);
      this.heap.write(bPtr, b);

      this.pool.run(
        this.kernels,
        {
          code: TaskCode.FloatGemm,
          args: [aPtr, bPtr, m, k, n, 0, transposeB ? 1 : 0, cPtr, 0],
          rowStrides: [k * 4, 0, 0, 0, 0, 0, 0, n * 4, 0],
          chunkRows: rowsPerChunk,
          scratchIndex: 8,
          scratch,
        },
        threads,
        'matmul',
      );
      return this.heap.readFloat32(cPtr, m * n);
    }

    override binaryConv2d(input: Uint32Array, weights: Uint32Array, shape: BinaryConv2dShape): Int32Array {
      checkBinaryConv2d('binaryConv2d', input, weights, shape);
      const { outHeight, outWidth, padTop, padLeft } = binaryConv2dGeometry(shape);
      const { batch, outChannels, kernelHeight, kernelWidth } = shape;
      const rows = batch * outHeight;
      const ops = rows * outWidth * outChannels * kernelHeight * kernelWidth * shape.channels;
      const threads = this.threadCount(rows, ops);
      if (threads === 1) return super.binaryConv2d(input, weights, shape);

      // Whole images per chunk when every thread gets one, otherwise ranges of
      // output rows, about CHUNKS_PER_THREAD chunks per thread in all.
      const rowsPerChunk =
        batch >= threads ? outHeight : Math.ceil(outHeight / Math.ceil((threads * CHUNKS_PER_THREAD) / batch));
      const outLength = rows * outWidth * outChannels;
      const scratchBytes = this.kernels.binaryConv2dScratchBytes(outChannels, kernelHeight, kernelWidth);
      const [inputPtr, weightsPtr, outPtr, ...scratch] = this.heap.reserve('binaryConv2d', [
        input.byteLength,
        weights.byteLength,
        outLength * 4,
        ...Array<number>(threads).fill(scratchBytes),
      ]);
      this.heap.write(inputPtr, input);
      this.heap.write(weightsPtr, weights);

      this.pool.run(
        this.kernels,
        {
          code: TaskCode.BinaryConv2d,
          args: [
            inputPtr,
            weightsPtr,
            outPtr,
            0,
            batch,
            shape.height,
            shape.width,
            shape.channels,
            outChannels,
            kernelHeight,
            kernelWidth,
            shape.strideHeight,
            shape.strideWidth,
            padTop,
            padLeft,
            outHeight,
            outWidth,
            shape.padValue,
          ],
          rowStrides: [],
          chunkRows: rowsPerChunk,
          scratchIndex: 3,
          scratch,
        },
        threads,
        'binaryConv2d',
      );
      return this.heap.readInt32(outPtr, outLength);
    }

    protected override floatGemmScratch(m: number, k: number, n: number): number[] {
      const threads = this.threadCount(m, m * n * k);
      if (threads === 1) return super.floatGemmScratch(m, k, n);
      return Array<number>(threads).fill(this.kernels.floatGemmScratchBytes(chunkRows(m, threads, 1), k, n));
    }

    // One chunk per thread, as in matmul, because each chunk packs all of op(b) in its scratch.
    protected override runFloatGemm(
      aPtr: number,
      bPtr: number,
      m: number,
      k: number,
      n: number,
      transposeB: boolean,
      cPtr: number,
      scratch: number[],
    ): void {
      const threads = scratch.length;
      if (threads === 1) {
        super.runFloatGemm(aPtr, bPtr, m, k, n, transposeB, cPtr, scratch);
        return;
      }
      this.pool.run(
        this.kernels,
        {
          code: TaskCode.FloatGemm,
          args: [aPtr, bPtr, m, k, n, 0, transposeB ? 1 : 0, cPtr, 0],
          rowStrides: [k * 4, 0, 0, 0, 0, 0, 0, n * 4, 0],
          chunkRows: chunkRows(m, threads, 1),
          scratchIndex: 8,
          scratch,
        },
        threads,
        'floatGemm',
      );
    }

    protected override floatGemmAtBScratch(k: number, m: number, n: number): number[] {
      const threads = this.threadCount(k, m * n * k);
      return Array<number>(threads).fill(this.kernels.floatGemmAtBScratchBytes(m, n));
    }

    // Threads split the long k axis into one chunk per scratch region, and each chunk sums into the accumulator
    // at the start of its region (runChunks), so a thread that runs both chunks gives the same bits as two threads.
    protected override launchFloatGemmAtB(aPtr: number, bPtr: number, k: number, m: number, n: number, scratch: number[]): void {
      const threads = scratch.length;
      if (threads === 1) {
        super.launchFloatGemmAtB(aPtr, bPtr, k, m, n, scratch);
        return;
      }
      this.pool.run(
        this.kernels,
        {
          code: TaskCode.FloatGemmAtB,
          args: [aPtr, bPtr, k, m, n, 0],
          rowStrides: [m * 4, n * 4, 0, 0, 0, 0],
          chunkRows: chunkRows(k, threads, 1),
          scratchIndex: 5,
          scratch,
        },
        threads,
        'floatGemmAtB',
      );
    }

    /** Stops the worker threads. The backend throws on later threaded calls. */
    override async dispose(): Promise<void> {
      await this.pool.dispose();
    }
  };
}

/** Returns the [cols, rows] transpose of the row-major [rows, cols] matrix x. */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  }
  return out;
}

/** Checks the packed operands of a binary GEMM and returns the words per row. */
function checkBinaryOperands(kernel: string, a: Uint32Array, b: Uint32Array, m: number, n: number, k: number): number {
  checkDims(kernel, { m, n, k });
  const words = wordsPerRow(k);
  checkLength(kernel, 'a', a, m * words, `m * ceil(k / 32) = ${m} * ${words}`);
  checkLength(kernel, 'b', b, n * words, `n * ceil(k / 32) = ${n} * ${words}`);
  return words;
}

/**
 * Creates a threaded backend for `options`. Returns undefined when the
 * resolved thread count is 1 or this runtime lacks SharedArrayBuffer or
 * workers, so the caller creates the single-thread backend instead. Throws a
 * QnnError when an explicit module is not a threads build.
 */
export async function createThreadedWasmBackend(
  options: WasmBackendOptions,
  build: WasmBuild,
): Promise<WasmBackend | undefined> {
  const threads = await resolveThreadCount(options.threads);
  const minOpsPerThread = options.minOpsPerThread ?? DEFAULT_MIN_OPS_PER_THREAD;
  if (!(minOpsPerThread >= 0 && minOpsPerThread <= Number.MAX_SAFE_INTEGER)) {
    throw new QnnError(`minOpsPerThread = ${minOpsPerThread} is invalid, expected a number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  }
  if (threads === 1) return undefined;
  const spawn = await detectSpawner();
  if (spawn === undefined) return undefined;

  let bytes: BufferSource;
  let source: string;
  if (options.wasmBytes !== undefined) {
    bytes = options.wasmBytes;
    source = 'options.wasmBytes';
  } else {
    const url = options.wasmUrl === undefined ? defaultWasmUrl(build, true) : new URL(options.wasmUrl);
    bytes = await readWasmBytes(url);
    source = url.href;
  }

  const module = await compileWasm(bytes, source);
  const importsMemory = WebAssembly.Module.imports(module).some((entry) => entry.kind === 'memory');
  if (!importsMemory) {
    throw new QnnError(
      `threads: ${options.threads} needs a threads build of the qnn module (qnn-simd-threads.wasm or ` +
        `qnn-scalar-threads.wasm), but the module from ${source} does not import a shared memory`,
    );
  }

  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: 1, maximum: SHARED_MEMORY_MAX_PAGES, shared: true });
  } catch {
    // An engine without shared WebAssembly memory, or without address space for
    // a 4 GiB maximum (a 32-bit process), gets one thread like any other host without threads.
    return undefined;
  }
  const instance = await instantiateWasm(module, source, memory);

  const slots = threads - 1;
  const control = ControlBlock.create(slots);
  const started = await Promise.allSettled(
    Array.from({ length: slots }, (_, slot) => spawn({ module, memory, control: control.buffer, slots, slot })),
  );
  const workers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = started.find((result) => result.status === 'rejected');
  if (failure !== undefined) {
    await Promise.all(workers.map((worker) => worker.terminate()));
    throw failure.reason;
  }

  threadedBackendClass ??= defineThreadedBackend();
  return new threadedBackendClass(instance, new WorkerPool(workers, control), minOpsPerThread);
}

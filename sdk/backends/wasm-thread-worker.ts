/**
 * Entry of a worker thread of the threaded WASM backend (wasm-threads.ts).
 * It instantiates the threads build of the qnn module on the shared memory it
 * receives, reports that it is ready, then runs posted tasks until a Stop
 * task. Under Node it is a worker_threads worker that gets its WorkerInit as
 * workerData. In browsers it is a module Web Worker that gets it as the first
 * message.
 */
import { QnnError } from '../errors.js';
import { ControlBlock, type ThreadKernels, type WorkerInit, runWorkerLoop } from './wasm-threads.js';

function start(init: WorkerInit, ready: () => void): void {
  const instance = new WebAssembly.Instance(init.module, {
    env: {
      memory: init.memory,
      abort(_message: number, _file: number, line: number, column: number): never {
        throw new QnnError(`the WASM module aborted at line ${line}, column ${column}`);
      },
    },
  });

  const control = new ControlBlock(init.control, init.slots);
  runWorkerLoop(instance.exports as unknown as ThreadKernels, control, init.slot, ready);
}

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
if (isNode) {
  const { parentPort, workerData } = await import('node:worker_threads');
  if (parentPort === null) {
    throw new QnnError('wasm-thread-worker.js is a worker entry. Start it with new Worker() instead of importing it');
  }
  const port = parentPort;
  start(workerData as WorkerInit, () => port.postMessage('ready'));
} else {
  // A dedicated Web Worker may call Atomics.wait, so the loop keeps this worker's event loop blocked until a Stop task.
  const scope = globalThis as unknown as {
    addEventListener(type: 'message', listener: (event: MessageEvent<WorkerInit>) => void, options: { once: boolean }): void;
    postMessage(message: string): void;
  };
  scope.addEventListener('message', (event) => start(event.data, () => scope.postMessage('ready')), { once: true });
}

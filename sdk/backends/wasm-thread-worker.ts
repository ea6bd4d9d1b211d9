/**
 * Entry of a worker thread of the threaded WASM backend (wasm-threads.ts).
 * It instantiates the threads build of the qnn module on the shared memory it
 * receives, reports that it is ready, then runs posted tasks until a Stop
 * task. Node worker_threads only for now.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { QnnError } from '../errors.js';
import { ControlBlock, type ThreadKernels, type WorkerInit, runWorkerLoop } from './wasm-threads.js';

if (parentPort === null) {
  throw new QnnError('wasm-thread-worker.js is a worker entry. Start it with new Worker() instead of importing it');
}

const init = workerData as WorkerInit;
const instance = new WebAssembly.Instance(init.module, {
  env: {
    memory: init.memory,
    abort(_message: number, _file: number, line: number, column: number): never {
      throw new QnnError(`the WASM module aborted at line ${line}, column ${column}`);
    },
  },
});

const port = parentPort;
const control = new ControlBlock(init.control, init.slots);
runWorkerLoop(instance.exports as unknown as ThreadKernels, control, init.slot, () => port.postMessage('ready'));

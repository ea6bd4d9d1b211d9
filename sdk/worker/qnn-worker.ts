/**
 * Entry of the training worker script (dist/bundles/browser/qnn-worker.js), a
 * module worker: `new Worker(url, { type: 'module' })`. It answers the
 * requests of sdk/worker/protocol.ts.
 */
import type { WorkerMessage, WorkerRequest } from './protocol.js';
import { createWorkerHost } from './worker-host.js';

/** The parts of a dedicated worker's global scope used here; the DOM typings describe a window's globalThis instead. */
interface WorkerScope {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: WorkerRequest }) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
const handle = createWorkerHost({ postMessage: (message, transfer) => scope.postMessage(message, transfer ?? []) });
scope.addEventListener('message', (event) => void handle(event.data));

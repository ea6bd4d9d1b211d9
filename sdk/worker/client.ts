/**
 * The page side of the training worker: starts qnn-worker.js as a module
 * worker and turns the message protocol (sdk/worker/protocol.ts) into
 * promises and progress events.
 */
import { QnnError } from '../errors.js';
import type { BatchEvent, EpochEvent, FineTuneRequest, FineTunedEvent, PredictResponse, TrainConfig, TrainResult, WorkerMessage, WorkerRequest } from './protocol.js';

/** The Worker members the client uses; a Web Worker has them, and so does a test double. */
export interface WorkerLike {
  postMessage(message: WorkerRequest, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: WorkerMessage }) => void): void;
  addEventListener(type: 'error', listener: (event: { message?: string }) => void): void;
  terminate(): void;
}

export interface TrainingWorkerOptions {
  /** URL of qnn-worker.js; default: the file next to the browser bundle. */
  workerUrl?: string | URL;
  /** A worker already started, used instead of starting one from workerUrl. */
  worker?: WorkerLike;
}

export interface TrainOptions {
  /** Called for each 'batch' and 'epoch' event of this run. */
  onProgress?: (event: BatchEvent | EpochEvent) => void;
  /**
   * Transfer the data's buffers to the worker instead of copying them. Faster
   * for large sets, but the arrays in `config` are detached (empty) afterwards.
   */
  transfer?: boolean;
}

export interface Prediction {
  /** Float32 class scores, [count, classes]. */
  scores: Float32Array;
  /** Predicted class of each sample. */
  classes: Int32Array;
}

type Pending = {
  resolve: (message: WorkerMessage) => void;
  reject: (error: Error) => void;
  onProgress?: (event: BatchEvent | EpochEvent) => void;
};

/**
 * Trains and runs models in a worker. Progress reaches the `onProgress`
 * callback of train() and listeners of the 'batch' and 'epoch' events, whose
 * `detail` is the BatchEvent or EpochEvent.
 */
export class TrainingWorkerClient extends EventTarget {
  readonly #worker: WorkerLike;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed: Error | undefined;

  constructor(worker: WorkerLike) {
    super();
    this.#worker = worker;
    worker.addEventListener('message', (event) => this.#receive(event.data));
    // A worker script that fails to load or throws outside a request fails every request in flight.
    worker.addEventListener('error', (event) => this.#failAll(new QnnError(`the training worker failed: ${event.message ?? 'no message (did the worker script load?)'}`)));
  }

  /** Trains the model `config` describes; resolves to the .qnn bytes and the report. */
  train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
    const transfer = options.transfer === true ? datasetBuffers(config) : [];
    return this.#request({ type: 'train', id: 0, config }, transfer, options.onProgress).then((message) => {
      const done = message as Extract<WorkerMessage, { type: 'done' }>;
      return { qnn: done.qnn, report: done.report };
    });
  }

  /**
   * Runs a packed model on uint8 samples [count, ...inputShape]: the model in
   * `qnn` (.qnn file bytes) or, without it, the last model this worker trained.
   */
  predict(samples: Uint8Array, qnn?: Uint8Array): Promise<Prediction> {
    return this.#request({ type: 'predict', id: 0, samples, ...(qnn === undefined ? {} : { qnn }) }, []).then((message) => {
      const { scores, classes } = message as PredictResponse;
      return { scores, classes };
    });
  }

  /**
   * Fine-tunes the packed dense network in `request.qnn` in the worker (see
   * FineTuneRequest); resolves to the fine-tuned model's .qnn bytes.
   */
  fineTune(request: Omit<FineTuneRequest, 'type' | 'id'>): Promise<{ qnn: Uint8Array; seconds: number }> {
    return this.#request({ ...request, type: 'fine-tune', id: 0 }, []).then((message) => {
      const { qnn, seconds } = message as FineTunedEvent;
      return { qnn, seconds };
    });
  }

  /** Stops the worker at once; requests in flight reject. */
  terminate(): void {
    this.#worker.terminate();
    this.#failAll(new QnnError('the training worker was terminated'));
  }

  #request(request: WorkerRequest, transfer: Transferable[], onProgress?: Pending['onProgress']): Promise<WorkerMessage> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ ...request, id }, transfer);
    });
  }

  #receive(message: WorkerMessage): void {
    const pending = this.#pending.get(message.id);
    if (message.type === 'batch' || message.type === 'epoch') {
      pending?.onProgress?.(message);
      this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
      return;
    }
    if (pending === undefined) return;

    this.#pending.delete(message.id);
    if (message.type === 'error') pending.reject(new QnnError(`${message.name} in the training worker: ${message.message}`));
    else pending.resolve(message);
  }

  #failAll(error: Error): void {
    this.#closed = error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

/**
 * Starts the training worker. In the browser bundle the default worker URL is
 * qnn-worker.js beside the bundle; elsewhere pass `workerUrl` or `worker`.
 */
export function createTrainingWorker(options: TrainingWorkerOptions = {}): TrainingWorkerClient {
  if (options.worker !== undefined) return new TrainingWorkerClient(options.worker);
  if (typeof Worker === 'undefined') {
    throw new QnnError('createTrainingWorker: this runtime has no Web Worker; pass options.worker (an object with postMessage, addEventListener and terminate)');
  }
  const url = options.workerUrl ?? new URL('./qnn-worker.js', import.meta.url);
  return new TrainingWorkerClient(new Worker(url, { type: 'module' }) as unknown as WorkerLike);
}

function datasetBuffers(config: TrainConfig): Transferable[] {
  const arrays = [config.train.inputs, config.train.labels, config.test?.inputs, config.test?.labels];
  const buffers = new Set<ArrayBuffer>();
  for (const array of arrays) if (array !== undefined && array.buffer instanceof ArrayBuffer) buffers.add(array.buffer);
  return [...buffers];
}

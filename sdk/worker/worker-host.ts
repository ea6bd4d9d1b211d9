/**
 * The message loop of the training worker, written against a small port
 * interface so that a Web Worker's global scope, Node's parentPort or a test
 * double can drive it.
 */
import type { Backend } from '../backends/backend.js';
import type { PackedNetwork } from '../compile/graph.js';
import { runPacked } from '../compile/run-packed.js';
import { QnnError, ShapeError } from '../errors.js';
import { decodeQnnNetwork } from '../format/qnn-decode.js';
import { selectBackend } from '../backends/select-backend.js';
import { argmax } from '../training/metrics.js';
import { encodeQnn } from '../format/qnn-encode.js';
import { fineTune } from '../finetune/fine-tune.js';
import { unpackNetwork } from '../finetune/unpack-network.js';
import type { FineTuneRequest, PredictRequest, TrainRequest, WorkerMessage, WorkerRequest } from './protocol.js';
import { runTrainJob } from './train-job.js';

/** The side of a message channel that the worker sees. */
export interface WorkerPort {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
}

/** Serves train, predict and fine-tune requests on `port`; returns the handler for incoming messages. */
export function createWorkerHost(port: WorkerPort): (request: WorkerRequest) => Promise<void> {
  let lastModel: { network: PackedNetwork; cpu: Backend } | undefined;
  let predictBackend: Backend | undefined;
  // Requests run one after another: a prediction sent during training sees the model that training returns.
  let queue: Promise<void> = Promise.resolve();

  const train = async (request: TrainRequest): Promise<void> => {
    const { id } = request;
    const result = await runTrainJob(request.config, {
      onBatch: (progress) => port.postMessage({ type: 'batch', id, ...progress }),
      onEpoch: (progress) => port.postMessage({ type: 'epoch', id, ...progress }),
    });
    lastModel = { network: result.network, cpu: result.cpu };
    port.postMessage({ type: 'done', id, qnn: result.qnn, report: result.report }, [result.qnn.buffer]);
  };

  const predict = async (request: PredictRequest): Promise<void> => {
    let model = lastModel;
    if (request.qnn !== undefined) {
      // Without a training run there is no backend yet, so the first prediction from bytes loads WASM once.
      predictBackend ??= lastModel?.cpu ?? (await selectBackend('wasm'));
      model = { network: decodeQnnNetwork(request.qnn, 'predict request qnn'), cpu: predictBackend };
    }
    if (model === undefined) throw new QnnError('predict: no model yet; send .qnn bytes in the request or finish a training run first');

    if (request.samples.length === 0) throw new ShapeError('predict: samples is empty; send at least one sample of uint8 values');
    const scores = runPacked(model.network, model.cpu, request.samples);
    const count = request.samples.length / inputSize(model.network);
    const predicted = argmax(scores, count, scores.length / count);
    port.postMessage({ type: 'prediction', id: request.id, scores, classes: predicted }, [scores.buffer, predicted.buffer]);
  };

  const fineTuneModel = (request: FineTuneRequest): void => {
    const started = performance.now();
    const unpacked = unpackNetwork(decodeQnnNetwork(request.qnn, 'fine-tune request qnn'));
    const { network } = fineTune(unpacked, request.images, request.labels, {
      epochs: request.epochs,
      seed: request.seed,
      ...(request.replay === undefined ? {} : { replay: request.replay }),
      ...(request.learningRate === undefined ? {} : { learningRate: request.learningRate }),
      ...(request.repeats === undefined ? {} : { repeats: request.repeats }),
      ...(request.trainFrom === undefined ? {} : { trainFrom: request.trainFrom }),
    });
    const qnn = encodeQnn(network);
    port.postMessage({ type: 'fine-tuned', id: request.id, qnn, seconds: (performance.now() - started) / 1000 }, [qnn.buffer]);
  };

  return (request) => {
    queue = queue.then(async () => {
      try {
        if (request?.type === 'train') await train(request);
        else if (request?.type === 'predict') await predict(request);
        else if (request?.type === 'fine-tune') fineTuneModel(request);
        else throw new QnnError(`the training worker got a message of unknown type '${String((request as { type?: unknown })?.type)}'; expected 'train', 'predict' or 'fine-tune'`);
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        port.postMessage({ type: 'error', id: typeof request?.id === 'number' ? request.id : -1, name: failure.name, message: failure.message });
      }
    });
    return queue;
  };
}

function inputSize(network: PackedNetwork): number {
  return network.inputShape.reduce((product, size) => product * size, 1);
}

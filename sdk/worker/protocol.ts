/**
 * Messages between a page (or any main thread) and the training worker
 * (qnn-worker.js). Every request carries an `id` that the worker repeats in
 * each message it sends for that request, so a client can match replies to
 * requests. The worker serves requests one at a time, in order. It transfers
 * the typed arrays of its replies, which leaves its own copies detached.
 */

/** Backend the worker trains on; 'auto' takes WebGPU when a hardware adapter exists, else WASM. */
export type WorkerBackendName = 'wasm' | 'webgpu' | 'auto';

/** Optimizer by name, with the learning rate given in TrainConfig. */
export type WorkerOptimizerName = 'adam' | 'shift-adamax';

/**
 * A binarized MLP (BinaryNet): QuantDense -> BatchNorm blocks of `hidden`
 * units, then a batch-normalized score layer. The input size and class count
 * come from the data.
 */
export interface MlpPreset {
  kind: 'mlp';
  hidden: number[];
  /** Dropout rate after each hidden block; default 0. */
  dropout?: number;
  /** 'shift' uses shift-based batch norm; default 'standard'. */
  batchNorm?: 'standard' | 'shift';
}

export type ModelPreset = MlpPreset;

/**
 * Labelled samples. `inputs` holds `count * features` values, sample after
 * sample: bytes (pixels, 0..255), which the model sees as byte / 256, or
 * float32 values in [0, 1), which the worker rounds to bytes (x * 256) so the
 * packed model gets the same input the training saw.
 */
export interface WorkerDataset {
  inputs: Uint8Array | Float32Array;
  /** Class index of each sample, 0 .. classes - 1. */
  labels: Uint8Array;
  /** Values per sample. */
  features: number;
}

export interface TrainConfig {
  model: ModelPreset;
  classes: number;
  epochs: number;
  batchSize: number;
  optimizer: WorkerOptimizerName;
  learningRate: number;
  /** Learning rate of the last epoch, reached by exponential decay; default: learningRate (constant). */
  finalLearningRate?: number;
  /** Default 'softmax_cross_entropy'. */
  loss?: 'softmax_cross_entropy' | 'squared_hinge';
  /** Default 'wasm'. */
  backend?: WorkerBackendName;
  /** Seed of the initial weights, data order and dropout masks. */
  seed: number;
  train: WorkerDataset;
  /** Held-out samples; the report then carries test and packed accuracy. */
  test?: WorkerDataset;
  /** Post a 'batch' event every this many batches (and on the last batch of an epoch); default 1. */
  batchEventEvery?: number;
}

// ----- Requests: main thread -> worker -----

export interface TrainRequest {
  type: 'train';
  id: number;
  config: TrainConfig;
}

/**
 * Runs a packed model on uint8 samples. `qnn` contains .qnn file bytes; absent,
 * the worker uses the model of its last finished training run.
 */
export interface PredictRequest {
  type: 'predict';
  id: number;
  samples: Uint8Array;
  qnn?: Uint8Array;
}

/**
 * Fine-tunes the packed dense network in `qnn` on labelled uint8 samples (one
 * row per sample), optionally mixed with replayed samples of its training set,
 * through unpackNetwork and fineTune; the fields after `labels` are fineTune's options.
 */
export interface FineTuneRequest {
  type: 'fine-tune';
  id: number;
  qnn: Uint8Array;
  images: Uint8Array;
  labels: Uint8Array | Int32Array;
  replay?: { images: Uint8Array; labels: Uint8Array | Int32Array };
  epochs: number;
  seed: number;
  learningRate?: number;
  repeats?: number;
  trainFrom?: number;
}

export type WorkerRequest = TrainRequest | PredictRequest | FineTuneRequest;

// ----- Replies: worker -> main thread -----

export interface BatchEvent {
  type: 'batch';
  id: number;
  /** 0-based. */
  epoch: number;
  /** 0-based batch within the epoch. */
  batch: number;
  batches: number;
  /** Mean loss of this batch. */
  loss: number;
  /** Training accuracy of this batch, 0..1. */
  accuracy: number;
  /** Seconds since the training run started. */
  seconds: number;
}

export interface EpochEvent {
  type: 'epoch';
  id: number;
  /** 0-based. */
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch. */
  loss: number;
  /** Training accuracy over the epoch (with dropout and batch statistics), 0..1. */
  accuracy: number;
  learningRate: number;
  /** Seconds this epoch took. */
  seconds: number;
  /** Accuracy of the float model in inference mode on the test set, when one was given. */
  testAccuracy?: number;
}

/** Summary of a finished training run. */
export interface TrainReport {
  /** Layer sizes, e.g. "784-256-10". */
  architecture: string;
  /** Backend that ran the training: 'webgpu' or the WASM build's name. */
  backend: string;
  epochs: Omit<EpochEvent, 'type' | 'id'>[];
  /** Seconds of the whole run, compile included. */
  seconds: number;
  /** Accuracy of the packed model on the training samples, 0..1. */
  packedTrainAccuracy: number;
  /** Test-set accuracy of the float model in inference mode, when a test set was given. */
  testAccuracy?: number;
  /** Test-set accuracy of the packed model, when a test set was given. */
  packedTestAccuracy?: number;
  /** Fraction of test samples (training samples without a test set) where the float and packed models pick the same class. */
  packedAgreement: number;
}

export interface DoneEvent {
  type: 'done';
  id: number;
  /** The compiled packed model as .qnn file bytes. */
  qnn: Uint8Array;
  report: TrainReport;
}

export interface PredictResponse {
  type: 'prediction';
  id: number;
  /** Float32 class scores, [count, classes]. */
  scores: Float32Array;
  /** Predicted class of each sample (argmax of the scores). */
  classes: Int32Array;
}

export interface WorkerErrorEvent {
  type: 'error';
  /** The request that failed; -1 for a message the worker could not read. */
  id: number;
  /** Error class name, e.g. 'ShapeError'. */
  name: string;
  message: string;
}

export interface FineTunedEvent {
  type: 'fine-tuned';
  id: number;
  /** The fine-tuned packed model as .qnn file bytes. */
  qnn: Uint8Array;
  /** Seconds the fine-tuning took in the worker, compile included. */
  seconds: number;
}

export type WorkerMessage = BatchEvent | EpochEvent | DoneEvent | PredictResponse | FineTunedEvent | WorkerErrorEvent;

/** Result of a TrainingWorkerClient's train(). */
export interface TrainResult {
  qnn: Uint8Array;
  report: TrainReport;
}

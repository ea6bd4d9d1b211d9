/**
 * Training checkpoints: every parameter and training-state array of a
 * Sequential model, the optimizer's state and the position in the data order,
 * so that `fit` resumes bit for bit. The layout is in docs/checkpoint-format.md.
 */
import { FileFormatError, QnnError, ShapeError } from '../errors.js';
import type { Layer } from '../layers/layer.js';
import type { Sequential } from '../layers/sequential.js';
import type { Optimizer, OptimizerState } from '../optimizers/optimizer.js';
import { formatShape } from '../tensor/tensor.js';
import { ArrayWriter, CHECKPOINT_VERSION, type DecodedContainer, decodeContainer } from './checkpoint-format.js';

/** Position of `fit` in the data: the next batch to run and the random streams that will produce it. */
export interface TrainingPosition {
  /** Epoch (0-based) of the next batch. */
  epoch: number;
  /** Batch within that epoch; 0 means the epoch has not started, so its shuffle and stream fork are still to come. */
  batch: number;
  batchSize: number;
  sampleCount: number;
  seed: number;
  /** State of the stream that shuffles the data and forks one stream per epoch. */
  randomState: number;
  /** State of the current epoch's stream (dropout, stochastic quantizers); null when batch is 0. */
  epochRandomState: number | null;
  /** The sample order, which each epoch shuffles further in place. */
  order: Int32Array;
  /** Sum of batch loss times batch size, and correct predictions, over the epoch's finished batches. */
  lossSum: number;
  correct: number;
}

/** One layer's fingerprint: enough to reject loading into another architecture. */
export interface LayerRecord {
  name: string;
  type: string;
  parameters: { name: string; shape: number[] }[];
  stateLengths: number[];
}

export interface Checkpoint {
  layers: LayerRecord[];
  /** Values of every layer's parameters, layer by layer, in `parameters()` order. */
  parameters: Float32Array[];
  /** Every layer's `trainingState()` arrays, layer by layer. */
  trainingState: Float32Array[];
  optimizer: OptimizerState | null;
  position: TrainingPosition | null;
}

/** Copies the model's values (and the optimizer's state, when given) into a checkpoint. */
export function captureCheckpoint(model: Sequential, optimizer?: Optimizer, position?: TrainingPosition): Checkpoint {
  if (!model.isBuilt) throw new ShapeError('captureCheckpoint: the model is not built; call build(inputShape, seed) first');
  let optimizerState: OptimizerState | null = null;
  if (optimizer !== undefined) {
    if (optimizer.getState === undefined) throw new QnnError(`captureCheckpoint: the optimizer ${optimizer.constructor.name} has no getState, so its state cannot be saved`);
    optimizerState = optimizer.getState(model.parameters());
  }
  return {
    layers: model.layers.map(layerRecord),
    parameters: model.parameters().map((p) => (p.value.data as Float32Array).slice()),
    trainingState: model.trainingState().map((array) => array.slice()),
    optimizer: optimizerState,
    position: position === undefined ? null : { ...position, order: position.order.slice() },
  };
}

/**
 * Writes a checkpoint's values into `model` (and `optimizer`), after checking
 * that the model has the same layers with the same shapes. Nothing is written
 * unless every check passes.
 */
export function restoreCheckpoint(model: Sequential, checkpoint: Checkpoint, optimizer?: Optimizer, source = 'checkpoint'): void {
  if (!model.isBuilt) throw new ShapeError(`${source}: the model is not built; build it with the architecture of the checkpoint before restoring`);
  checkArchitecture(model, checkpoint.layers, source);

  const parameters = model.parameters();
  const state = model.trainingState();
  if (optimizer !== undefined && checkpoint.optimizer !== null) {
    if (optimizer.setState === undefined) throw new QnnError(`${source}: the optimizer ${optimizer.constructor.name} has no setState, so training cannot resume`);
    optimizer.setState(checkpoint.optimizer, parameters);
  }
  parameters.forEach((p, i) => (p.value.data as Float32Array).set(checkpoint.parameters[i]));
  state.forEach((array, i) => array.set(checkpoint.trainingState[i]));
}

/** Serializes a checkpoint to the binary layout of docs/checkpoint-format.md. */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const writer = new ArrayWriter();
  let parameterIndex = 0;
  let stateIndex = 0;
  const layers = checkpoint.layers.map((layer) => ({
    name: layer.name,
    type: layer.type,
    parameters: layer.parameters.map((p) => ({ name: p.name, shape: p.shape, array: writer.add(checkpoint.parameters[parameterIndex++]) })),
    state: layer.stateLengths.map(() => ({ array: writer.add(checkpoint.trainingState[stateIndex++]) })),
  }));
  const optimizer = checkpoint.optimizer === null ? null : encodeOptimizer(checkpoint.optimizer, writer);
  const position = checkpoint.position === null ? null : { ...checkpoint.position, order: writer.add(checkpoint.position.order) };
  return writer.encode({ format: 'qnn-checkpoint', version: CHECKPOINT_VERSION, layers, optimizer, position });
}

function encodeOptimizer(state: OptimizerState, writer: ArrayWriter): Record<string, unknown> {
  return {
    kind: state.kind,
    step: state.step,
    learningRate: state.learningRate,
    settings: state.settings,
    slots: state.slots.map((slots) => (slots === null ? null : Object.fromEntries(Object.entries(slots).map(([name, values]) => [name, writer.add(values)])))),
    ...(state.inner === undefined ? {} : { inner: encodeOptimizer(state.inner, writer) }),
  };
}

/** Parses a checkpoint file, treating it as untrusted: every size is checked before anything is allocated from it. */
export function decodeCheckpoint(bytes: Uint8Array, source = '<memory>'): Checkpoint {
  const container = decodeContainer(bytes, source);
  const header = container.header;
  if (header.format !== 'qnn-checkpoint') throw new FileFormatError(`header field "format" is ${JSON.stringify(header.format)}, expected "qnn-checkpoint"`, source);
  if (!Array.isArray(header.layers)) throw new FileFormatError('header field "layers" is missing or not a list', source);

  const parameters: Float32Array[] = [];
  const trainingState: Float32Array[] = [];
  const layers = header.layers.map((raw: unknown, l): LayerRecord => {
    const field = `layers[${l}]`;
    const layer = objectField(raw, field, source);
    const name = stringField(layer.name, `${field}.name`, source);
    const type = stringField(layer.type, `${field}.type`, source);
    const rawParameters = listField(layer.parameters, `${field}.parameters`, source);
    const rawState = listField(layer.state, `${field}.state`, source);

    const records = rawParameters.map((rawParameter, p) => {
      const pField = `${field}.parameters[${p}]`;
      const parameter = objectField(rawParameter, pField, source);
      const shape = shapeField(parameter.shape, `${pField}.shape`, source);
      const size = shape.reduce((a, b) => a * b, 1);
      parameters.push(container.array(parameter.array, pField, 'float32', size) as Float32Array);
      return { name: stringField(parameter.name, `${pField}.name`, source), shape };
    });
    const stateLengths = rawState.map((rawEntry, s) => {
      const values = container.array(objectField(rawEntry, `${field}.state[${s}]`, source).array, `${field}.state[${s}]`, 'float32') as Float32Array;
      trainingState.push(values);
      return values.length;
    });
    return { name, type, parameters: records, stateLengths };
  });

  const optimizer = header.optimizer === null || header.optimizer === undefined ? null : decodeOptimizer(header.optimizer, 'optimizer', container, source);
  const position = header.position === null || header.position === undefined ? null : decodePosition(header.position, container, source);
  return { layers, parameters, trainingState, optimizer, position };
}

/** Optimizers nest one level (Bop and its other optimizer); a deeper chain in a file is rejected before it can exhaust the stack. */
const MAX_OPTIMIZER_NESTING = 4;

function decodeOptimizer(raw: unknown, field: string, container: DecodedContainer, source: string, depth = 0): OptimizerState {
  if (depth > MAX_OPTIMIZER_NESTING) throw new FileFormatError(`header field ${field} nests optimizers more than ${MAX_OPTIMIZER_NESTING} levels deep`, source);
  const state = objectField(raw, field, source);
  const settings = objectField(state.settings, `${field}.settings`, source);
  for (const [name, value] of Object.entries(settings)) numberField(value, `${field}.settings.${name}`, source);
  const slots = listField(state.slots, `${field}.slots`, source).map((rawSlots, i) => {
    if (rawSlots === null) return null;
    const named = objectField(rawSlots, `${field}.slots[${i}]`, source);
    return Object.fromEntries(Object.entries(named).map(([name, index]) => [name, container.array(index, `${field}.slots[${i}].${name}`, 'float32') as Float32Array]));
  });
  return {
    kind: stringField(state.kind, `${field}.kind`, source),
    step: countField(state.step, `${field}.step`, source),
    learningRate: numberField(state.learningRate, `${field}.learningRate`, source),
    settings: settings as Record<string, number>,
    slots,
    ...(state.inner === undefined ? {} : { inner: decodeOptimizer(state.inner, `${field}.inner`, container, source, depth + 1) }),
  };
}

function decodePosition(raw: unknown, container: DecodedContainer, source: string): TrainingPosition {
  const position = objectField(raw, 'position', source);
  const sampleCount = countField(position.sampleCount, 'position.sampleCount', source);
  const epochRandomState = position.epochRandomState === null ? null : uint32Field(position.epochRandomState, 'position.epochRandomState', source);
  const order = container.array(position.order, 'position.order', 'int32', sampleCount) as Int32Array;
  checkPermutation(order, source);
  return {
    epoch: countField(position.epoch, 'position.epoch', source),
    batch: countField(position.batch, 'position.batch', source),
    batchSize: countField(position.batchSize, 'position.batchSize', source),
    sampleCount,
    seed: numberField(position.seed, 'position.seed', source),
    randomState: uint32Field(position.randomState, 'position.randomState', source),
    epochRandomState,
    order,
    lossSum: numberField(position.lossSum, 'position.lossSum', source),
    correct: countField(position.correct, 'position.correct', source),
  };
}

/** Rejects a sample order that is not a permutation of 0..n-1, because fit would index the data with it. */
function checkPermutation(order: Int32Array, source: string): void {
  const seen = new Uint8Array(order.length);
  for (let i = 0; i < order.length; i++) {
    const sample = order[i];
    if (sample < 0 || sample >= order.length || seen[sample] === 1) {
      throw new FileFormatError(`position.order[${i}] is ${sample}; the order must list each sample index from 0 to ${order.length - 1} once`, source);
    }
    seen[sample] = 1;
  }
}

function layerRecord(layer: Layer): LayerRecord {
  const prefix = `${layer.name}/`;
  return {
    name: layer.name,
    type: layer.constructor.name,
    // Parameter names carry the layer's auto-numbered name; the part after it ('kernel', 'gamma') is what identifies the role.
    parameters: layer.parameters().map((p) => ({ name: p.name.startsWith(prefix) ? p.name.slice(prefix.length) : p.name, shape: [...p.value.shape] })),
    stateLengths: layer.trainingState().map((array) => array.length),
  };
}

/**
 * Compares layers by position, not by name, because layer names are numbered
 * per process and a model rebuilt in another run gets other numbers.
 */
function checkArchitecture(model: Sequential, saved: LayerRecord[], source: string): void {
  if (saved.length !== model.layers.length) {
    throw new ShapeError(`${source}: the checkpoint has ${saved.length} layers (${saved.map((l) => l.type).join(', ')}), the model has ${model.layers.length}; build the model the checkpoint was saved from`);
  }
  model.layers.forEach((layer, i) => {
    const expected = saved[i];
    const actual = layerRecord(layer);
    const where = `${source}: layer ${i} (${layer.name})`;
    if (expected.type !== actual.type) throw new ShapeError(`${where} is a ${actual.type} in the model but a ${expected.type} (${expected.name}) in the checkpoint`);
    if (expected.parameters.length !== actual.parameters.length) {
      throw new ShapeError(`${where} has ${actual.parameters.length} parameters in the model but ${expected.parameters.length} in the checkpoint (${expected.parameters.map((p) => p.name).join(', ')})`);
    }
    actual.parameters.forEach((parameter, p) => {
      const other = expected.parameters[p];
      if (other.name !== parameter.name || formatShape(other.shape) !== formatShape(parameter.shape)) {
        throw new ShapeError(`${where}: ${parameter.name} ${formatShape(parameter.shape)} in the model, ${other.name} ${formatShape(other.shape)} in the checkpoint`);
      }
    });
    if (expected.stateLengths.join(',') !== actual.stateLengths.join(',')) {
      throw new ShapeError(`${where}: training-state arrays of lengths [${actual.stateLengths.join(', ')}] in the model, [${expected.stateLengths.join(', ')}] in the checkpoint`);
    }
  });
}

function objectField(value: unknown, field: string, source: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FileFormatError(`header field ${field} is not an object`, source);
  return value as Record<string, unknown>;
}

function listField(value: unknown, field: string, source: string): unknown[] {
  if (!Array.isArray(value)) throw new FileFormatError(`header field ${field} is not a list`, source);
  return value;
}

function stringField(value: unknown, field: string, source: string): string {
  if (typeof value !== 'string') throw new FileFormatError(`header field ${field} is not a string`, source);
  return value;
}

function numberField(value: unknown, field: string, source: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new FileFormatError(`header field ${field} is ${JSON.stringify(value)}, expected a finite number`, source);
  return value;
}

function countField(value: unknown, field: string, source: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new FileFormatError(`header field ${field} is ${JSON.stringify(value)}, expected a non-negative integer`, source);
  return value;
}

function uint32Field(value: unknown, field: string, source: string): number {
  const count = countField(value, field, source);
  if (count > 0xffffffff) throw new FileFormatError(`header field ${field} is ${count}, expected a 32-bit unsigned integer`, source);
  return count;
}

function shapeField(value: unknown, field: string, source: string): number[] {
  const list = listField(value, field, source);
  const shape = list.map((dim, i) => countField(dim, `${field}[${i}]`, source));
  // The product decides an allocation later, so it must stay a safe integer.
  if (shape.reduce((a, b) => a * b, 1) > Number.MAX_SAFE_INTEGER) throw new FileFormatError(`header field ${field} ${formatShape(shape)} has too many elements`, source);
  return shape;
}

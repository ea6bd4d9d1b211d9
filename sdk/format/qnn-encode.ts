/** Encoder of the `.qnn` file (layout in qnn-layout.ts and docs/qnn-format.md). */
import { wordsPerRow } from '../backends/backend.js';
import { type PackedConv2dLayer, type PackedDenseKbitLayer, type PackedDenseLayer, type PackedLayer, type PackedModel, type PackedNetwork, type SignOutput, isPackedModel } from '../compile/graph.js';
import { QnnError, ShapeError } from '../errors.js';
import { crc32 } from './crc32.js';
import {
  CHECKSUM_BYTES,
  FLAG_BIAS,
  FLAG_SCALE,
  FLAG_SHIFT,
  HEADER_FIXED_BYTES,
  INPUT_KIND_CODES,
  LAYER_KIND_DENSE,
  MAX_ARRAY_ELEMENTS,
  MAX_FILE_BYTES,
  MAX_INPUT_RANK,
  MAX_LAYERS,
  OUTPUT_KIND_SCORES,
  OUTPUT_KIND_SIGNS,
  QNN_FORMAT_VERSION,
  QNN_MAGIC,
  FLATTEN_RECORD_BYTES,
  LAYER_KIND_CONV2D,
  LAYER_KIND_FLATTEN,
  LAYER_KIND_MAX_POOL2D,
  MAX_POOL2D_RECORD_BYTES,
  PADDING_CODES,
  conv2dRecordBytes,
  conv2dWeightWords,
  denseRecordBytes,
  findNonzeroPadWord,
} from './qnn-layout.js';
import { denseKbitLayerBytes, findDenseKbitFieldProblem, writeDenseKbitRecord } from './qnn-kbit-record.js';
import { findNetworkProblem } from './qnn-network-checks.js';
import { GLOBAL_POOL_RECORD_BYTES, convKbitLayerBytes, findConvKbitArrayProblem, writeConvKbitRecord, writeGlobalPoolRecord } from './qnn-conv-kbit-record.js';

/**
 * Encodes a packed model or network as a version-2 `.qnn` file. Validates the model first
 * with the same rules the decoder applies, so every encoded file decodes again.
 * Throws ShapeError for an array of the wrong length and QnnError for any other
 * invalid field, naming the layer and the field.
 */
export function encodeQnn(model: PackedNetwork): Uint8Array {
  if (isPackedModel(model)) validateModel(model);
  else validateNetwork(model);

  const headerBytes = HEADER_FIXED_BYTES + 4 * model.inputShape.length;
  const recordBytes = model.layers.map(recordLength);
  const fileBytes = headerBytes + recordBytes.reduce((sum, bytes) => sum + bytes, 0) + CHECKSUM_BYTES;
  if (fileBytes > MAX_FILE_BYTES) {
    throw new QnnError(`invalid model for .qnn: the file would take ${fileBytes} bytes, more than the maximum ${MAX_FILE_BYTES}`);
  }

  const writer = new ByteWriter(fileBytes);

  // Header.
  writer.bytes(QNN_MAGIC);
  writer.u32(QNN_FORMAT_VERSION);
  writer.u32(headerBytes);
  writer.u32(fileBytes);
  writer.u32(model.layers.length);
  writer.u32(model.inputShape.length);
  for (const size of model.inputShape) writer.u32(size);

  // Layer records.
  model.layers.forEach((layer, index) => {
    const start = writer.offset;
    writeRecord(writer, layer, recordBytes[index]);
    if (writer.offset - start !== recordBytes[index]) {
      throw new Error(`internal error in encodeQnn: layer ${index} record: wrote ${writer.offset - start} bytes, expected ${recordBytes[index]}`);
    }
  });

  // Checksum of everything before it.
  writer.u32(crc32(writer.output.subarray(0, writer.offset)));
  return writer.output;
}

function recordLength(layer: PackedLayer): number {
  if (layer.kind === 'dense') return denseRecordBytes(layer.inputs, layer.units, outputKindCode(layer), epilogueFlags(layer));
  if (layer.kind === 'maxPool2d') return MAX_POOL2D_RECORD_BYTES;
  if (layer.kind === 'flatten') return FLATTEN_RECORD_BYTES;
  if (layer.kind === 'dense-kbit') return denseKbitLayerBytes(layer);
  if (layer.kind === 'conv2d-kbit') return convKbitLayerBytes(layer);
  if (layer.kind === 'globalAveragePool2d') return GLOBAL_POOL_RECORD_BYTES;
  return conv2dRecordBytes(layer.weights.length, layer.outChannels);
}

function writeRecord(writer: ByteWriter, layer: PackedLayer, recordBytes: number): void {
  if (layer.kind === 'dense') {
    writeDenseRecord(writer, layer, recordBytes);
    return;
  }
  if (layer.kind === 'dense-kbit') {
    writeDenseKbitRecord(writer, layer);
    return;
  }
  if (layer.kind === 'conv2d-kbit') {
    writeConvKbitRecord(writer, layer);
    return;
  }
  if (layer.kind === 'globalAveragePool2d') {
    writeGlobalPoolRecord(writer, layer);
    return;
  }

  writer.u32(recordBytes);
  if (layer.kind === 'flatten') {
    writer.u32(LAYER_KIND_FLATTEN);
    for (const value of [layer.height, layer.width, layer.channels]) writer.u32(value);
    return;
  }
  if (layer.kind === 'maxPool2d') {
    writer.u32(LAYER_KIND_MAX_POOL2D);
    const fields = [layer.height, layer.width, layer.channels, layer.poolHeight, layer.poolWidth, layer.strideHeight, layer.strideWidth];
    for (const value of fields) writer.u32(value);
    return;
  }

  writer.u8(LAYER_KIND_CONV2D);
  writer.u8(INPUT_KIND_CODES[layer.input]);
  writer.u8(OUTPUT_KIND_SIGNS);
  writer.u8(PADDING_CODES[layer.padding]);
  writer.i32(layer.padValue);
  const shape = [layer.height, layer.width, layer.channels, layer.outChannels, layer.kernelHeight, layer.kernelWidth, layer.strideHeight, layer.strideWidth];
  for (const value of shape) writer.u32(value);
  const pool = layer.pool ?? { poolHeight: 0, poolWidth: 0, strideHeight: 0, strideWidth: 0 };
  for (const value of [pool.poolHeight, pool.poolWidth, pool.strideHeight, pool.strideWidth]) writer.u32(value);
  for (const word of layer.weights) writer.u32(word);
  for (const threshold of layer.output.thresholds) writer.i32(threshold);
  for (const direction of layer.output.directions) writer.u8(direction & 0xff);
  writer.alignTo4();
}

function outputKindCode(layer: PackedDenseLayer): number {
  return layer.output.kind === 'signs' ? OUTPUT_KIND_SIGNS : OUTPUT_KIND_SCORES;
}

function epilogueFlags(layer: PackedDenseLayer): number {
  if (layer.output.kind === 'signs') return 0;

  const { bias, scale, shift } = layer.output.epilogue;
  return (bias ? FLAG_BIAS : 0) | (scale ? FLAG_SCALE : 0) | (shift ? FLAG_SHIFT : 0);
}

function writeDenseRecord(writer: ByteWriter, layer: PackedDenseLayer, recordBytes: number): void {
  writer.u32(recordBytes);
  writer.u8(LAYER_KIND_DENSE);
  writer.u8(INPUT_KIND_CODES[layer.input]);
  writer.u8(outputKindCode(layer));
  writer.u8(epilogueFlags(layer));
  writer.u32(layer.inputs);
  writer.u32(layer.units);
  for (const word of layer.weights) writer.u32(word);

  const output = layer.output;
  if (output.kind === 'signs') {
    for (const threshold of output.thresholds) writer.i32(threshold);
    for (const direction of output.directions) writer.u8(direction & 0xff);
    writer.alignTo4();
    return;
  }

  const { inputScale, bias, scale, shift } = output.epilogue;
  writer.f64(inputScale);
  for (const values of [bias, scale, shift]) {
    if (values) for (const value of values) writer.f32(value);
  }
}

/** Little-endian writer into a zero-filled buffer of a known size. */
class ByteWriter {
  readonly output: Uint8Array;
  private readonly view: DataView;
  offset = 0;

  constructor(byteLength: number) {
    this.output = new Uint8Array(byteLength);
    this.view = new DataView(this.output.buffer);
  }

  bytes(values: Uint8Array): void {
    this.output.set(values, this.offset);
    this.offset += values.length;
  }

  u8(value: number): void {
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }

  u32(value: number): void {
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
  }

  i32(value: number): void {
    this.view.setInt32(this.offset, value, true);
    this.offset += 4;
  }

  f32(value: number): void {
    this.view.setFloat32(this.offset, value, true);
    this.offset += 4;
  }

  f64(value: number): void {
    this.view.setFloat64(this.offset, value, true);
    this.offset += 8;
  }

  /** Skips to the next multiple of 4, leaving the skipped bytes 0. */
  alignTo4(): void {
    this.offset = Math.ceil(this.offset / 4) * 4;
  }
}

// Validation of the in-memory model, mirroring the decoder's checks.

function invalid(message: string): QnnError {
  return new QnnError(`invalid model for .qnn: ${message}`);
}

function checkCount(value: number, name: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer in ${min}..${max}, found ${value}`);
  }
}

function validateModel(model: PackedModel): void {
  const { inputShape, layers } = model;

  checkCount(layers.length, 'layer count', 1, MAX_LAYERS);
  checkCount(inputShape.length, 'input rank', 1, MAX_INPUT_RANK);
  inputShape.forEach((size, d) => checkCount(size, `inputShape[${d}]`, 1, MAX_ARRAY_ELEMENTS));

  const inputElements = inputShape.reduce((product, size) => product * size, 1);
  if (inputElements !== layers[0].inputs) {
    throw new ShapeError(
      `invalid model for .qnn: inputShape [${inputShape.join(', ')}] has ${inputElements} elements, ` +
        `but layer 0 expects ${layers[0].inputs} inputs`,
    );
  }

  layers.forEach((layer, index) => validateLayer(layer, index, layers));
}

function validateLayer(layer: PackedDenseLayer, index: number, layers: PackedDenseLayer[]): void {
  const name = `layer ${index}`;
  if (layer.kind !== 'dense') throw invalid(`${name} kind must be 'dense', found '${String(layer.kind)}'`);
  if (!(layer.input in INPUT_KIND_CODES)) {
    throw invalid(`${name} input kind must be 'uint8' or 'signs', found '${String(layer.input)}'`);
  }
  if (index > 0 && layer.input !== 'signs') {
    throw invalid(`${name} input kind must be 'signs' because layer ${index - 1} outputs signs, found '${layer.input}'`);
  }

  checkCount(layer.inputs, `${name} inputs`, 1, MAX_ARRAY_ELEMENTS);
  checkCount(layer.units, `${name} units`, 1, MAX_ARRAY_ELEMENTS);
  if (index > 0 && layer.inputs !== layers[index - 1].units) {
    throw new ShapeError(
      `invalid model for .qnn: ${name} has ${layer.inputs} inputs, but layer ${index - 1} has ${layers[index - 1].units} units`,
    );
  }

  validateDenseArrays(layer, name, index === layers.length - 1);
}

/** Checks a dense layer's arrays: their types and lengths, the weights' pad bits and the output's values. */
function validateDenseArrays(layer: PackedDenseLayer, name: string, isLast: boolean): void {
  const words = wordsPerRow(layer.inputs);
  checkCount(layer.units * words, `${name} weight word count (units * ceil(inputs / 32))`, 1, MAX_ARRAY_ELEMENTS);
  checkArray(layer.weights, Uint32Array, layer.units * words, `${name} weights`, `${layer.units} units * ${words} words per row`);
  const padWord = findNonzeroPadWord(layer.weights, layer.units, layer.inputs);
  if (padWord >= 0) {
    throw invalid(
      `${name} weights word ${padWord} has nonzero pad bits: ` +
        `expected bits ${layer.inputs % 32}..31 to be 0, found 0x${layer.weights[padWord].toString(16).padStart(8, '0')}`,
    );
  }

  const expectedOutput = isLast ? 'scores' : 'signs';
  if (layer.output.kind !== expectedOutput) {
    const position = isLast ? 'the last layer' : 'a hidden layer';
    throw invalid(`${name} output kind must be '${expectedOutput}' for ${position}, found '${String(layer.output.kind)}'`);
  }

  if (layer.output.kind === 'signs') {
    validateSignOutput(layer.output, layer.units, name);
    return;
  }

  const { inputScale, bias, scale, shift } = layer.output.epilogue;
  if (typeof inputScale !== 'number' || !Number.isFinite(inputScale)) {
    throw invalid(`${name} epilogue inputScale must be a finite number, found ${String(inputScale)}`);
  }
  const optionalArrays = { bias, scale, shift };
  for (const [field, values] of Object.entries(optionalArrays)) {
    if (values !== null && values !== undefined) checkArray(values, Float32Array, layer.units, `${name} epilogue ${field}`, 'one per unit');
  }
}

function validateSignOutput(output: SignOutput, units: number, name: string): void {
  const { thresholds, directions } = output;
  checkArray(thresholds, Int32Array, units, `${name} thresholds`, 'one per output channel');
  checkArray(directions, Int8Array, units, `${name} directions`, 'one per output channel');
  const badDirection = directions.findIndex((direction) => direction !== 1 && direction !== -1);
  if (badDirection >= 0) {
    throw invalid(`${name} directions[${badDirection}] must be 1 or -1, found ${directions[badDirection]}`);
  }
}

/** Validates a network with conv2d, maxPool2d or flatten layers: the shared chain rules, then each layer's arrays. */
function validateNetwork(network: PackedNetwork): void {
  const { inputShape, layers } = network;
  checkCount(layers.length, 'layer count', 1, MAX_LAYERS);
  checkCount(inputShape.length, 'input rank', 1, MAX_INPUT_RANK);
  inputShape.forEach((size, d) => checkCount(size, `inputShape[${d}]`, 1, MAX_ARRAY_ELEMENTS));

  const problem = findNetworkProblem(network);
  if (problem !== null) throw invalid(problem.message);

  layers.forEach((layer, index) => {
    const name = `layer ${index} (${layer.kind})`;
    if (layer.kind === 'dense') {
      checkCount(layer.units, `${name} units`, 1, MAX_ARRAY_ELEMENTS);
      validateDenseArrays(layer, name, index === layers.length - 1);
    }
    if (layer.kind === 'conv2d') validateConvArrays(layer, name);
    if (layer.kind === 'dense-kbit') validateDenseKbitArrays(layer, name);
    if (layer.kind === 'conv2d-kbit') {
      const problem = findConvKbitArrayProblem(layer);
      if (problem !== null) throw invalid(`${name} ${problem}`);
    }
  });
}

/** Checks a dense-kbit layer's scalar fields, its arrays' types and lengths, and the weights' pad bits. */
function validateDenseKbitArrays(layer: PackedDenseKbitLayer, name: string): void {
  checkCount(layer.units, `${name} units`, 1, MAX_ARRAY_ELEMENTS);
  const problem = findDenseKbitFieldProblem(layer);
  if (problem !== null) throw invalid(`${name} ${problem}`);

  const rows = layer.units * layer.weightBits;
  const words = rows * wordsPerRow(layer.inputs);
  checkCount(words, `${name} weight word count`, 1, MAX_ARRAY_ELEMENTS);
  checkArray(layer.weights, Uint32Array, words, `${name} weights`, `${layer.units} units * ${layer.weightBits} planes * ${wordsPerRow(layer.inputs)} words per row`);
  const padWord = findNonzeroPadWord(layer.weights, rows, layer.inputs);
  if (padWord >= 0) throw invalid(`${name} weights word ${padWord} has nonzero pad bits: expected bits ${layer.inputs % 32}..31 to be 0`);
  checkArray(layer.correction, Int32Array, layer.units, `${name} correction`, 'one per unit');

  const output = layer.output;
  if (output.kind === 'scores') {
    const { inputScale, bias, scale, shift } = output.epilogue;
    if (typeof inputScale !== 'number' || !Number.isFinite(inputScale)) throw invalid(`${name} epilogue inputScale must be a finite number, found ${String(inputScale)}`);
    for (const [field, values] of Object.entries({ bias, scale, shift })) {
      if (values !== null && values !== undefined) checkArray(values, Float32Array, layer.units, `${name} epilogue ${field}`, 'one per unit');
    }
    return;
  }
  if (output.kind === 'signs') {
    validateSignOutput(output, layer.units, name);
    return;
  }
  if (!Number.isInteger(output.bits) || output.bits < 1 || output.bits > 8) throw invalid(`${name} output bits must be an integer in 1..8, found ${output.bits}`);
  const levels = 2 ** output.bits - 1;
  checkArray(output.thresholds, Int32Array, layer.units * levels, `${name} thresholds`, `${levels} levels per unit`);
  validateSignOutput({ kind: 'signs', thresholds: output.thresholds.subarray(0, layer.units), directions: output.directions }, layer.units, name);
}

function validateConvArrays(layer: PackedConv2dLayer, name: string): void {
  const { input, outChannels, kernelHeight, kernelWidth, channels } = layer;
  const words = conv2dWeightWords(input, outChannels, kernelHeight, kernelWidth, channels);
  checkCount(words, `${name} weight word count`, 1, MAX_ARRAY_ELEMENTS);
  checkArray(layer.weights, Uint32Array, words, `${name} weights`, `the ${input} layout of compile/graph.ts`);

  const [rows, rowBits] = input === 'uint8' ? [outChannels, kernelHeight * kernelWidth * channels] : [outChannels * kernelHeight * kernelWidth, channels];
  const padWord = findNonzeroPadWord(layer.weights, rows, rowBits);
  if (padWord >= 0) {
    throw invalid(`${name} weights word ${padWord} has nonzero pad bits: expected bits ${rowBits % 32}..31 to be 0, found 0x${layer.weights[padWord].toString(16).padStart(8, '0')}`);
  }
  validateSignOutput(layer.output, outChannels, name);
}

function checkArray(
  values: ArrayLike<number>,
  type: Uint32ArrayConstructor | Int32ArrayConstructor | Int8ArrayConstructor | Float32ArrayConstructor,
  expectedLength: number,
  name: string,
  reason: string,
): void {
  if (!(values instanceof type)) {
    throw invalid(`${name} must be a ${type.name}, found ${Object.prototype.toString.call(values).slice(8, -1)}`);
  }
  if (values.length !== expectedLength) {
    throw new ShapeError(`invalid model for .qnn: ${name}: expected ${expectedLength} elements (${reason}), found ${values.length}`);
  }
}

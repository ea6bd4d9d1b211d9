/**
 * The conv2d-kbit (layer kind 6) and globalAveragePool2d (layer kind 7)
 * records of the `.qnn` file, as compile-conv-kbit.ts and compile-model.ts produce them.
 *
 * conv2d-kbit:
 *   r+0   u32  record length
 *   r+4   u8   layer kind 6, u8 input kind (1 uint8, 2 signs, 3 codes),
 *              u8 output kind (1 signs, 3 codes, 4 floats), u8 epilogue flags (floats only)
 *   r+8   u8   activationBits, u8 weightBits, u8 output code bits (0 unless codes), u8 padding (1 same, 2 valid)
 *   r+12  u32[8] height, width, channels, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth
 *   r+44  u32[4] accumulator pool: poolHeight, poolWidth, strideHeight, strideWidth (all 0 for none)
 *   r+60  u32[4] output pool, the same fields (all 0 for none)
 *   r+76  i32  gemmScale
 *   r+80  i32  rowSumScale
 *   r+84  u32[outChannels * weightBits * ceil(kernelHeight * kernelWidth * channels / 32)] weight sign planes
 *   then  i32[outChannels] correction, i32[outChannels * kernelHeight * kernelWidth] padTapSums
 *   signs output:  i32[outChannels] thresholds, i8[outChannels] directions, zero bytes to a multiple of 4
 *   codes output:  i32[outChannels * (2^bits - 1)] thresholds, i8[outChannels] directions, zero bytes to a multiple of 4
 *   floats output: f64 input scale, then f32[outChannels] bias, scale, shift, each only when its flag is set
 *
 * globalAveragePool2d (28 bytes):
 *   r+0   u32  record length 28
 *   r+4   u8   layer kind 7, u8 output kind (1 signs, 3 codes), u8 code bits (0 for signs), u8 zero
 *   r+8   u32[3] height, width, channels
 *   r+20  f64  step of the codes (0 for signs)
 */
import { wordsPerRow } from '../backends/backend.js';
import type { PackedConv2dKbitLayer, PackedGlobalAveragePool2dLayer, PoolWindow } from '../compile/graph.js';
import type { ByteReader } from './byte-reader.js';
import { KBIT_INPUT_CODES, OUTPUT_KIND_CODES, type RecordWriter, findDenseKbitFieldProblem, readCount, readKbitRecordHeader, readScores, readThresholds } from './qnn-kbit-record.js';
import { FLAG_BIAS, FLAG_SCALE, FLAG_SHIFT, MAX_ARRAY_ELEMENTS, OUTPUT_KIND_SIGNS, PADDING_BY_CODE, PADDING_CODES, alignTo4, findNonzeroPadWord } from './qnn-layout.js';

export const LAYER_KIND_CONV2D_KBIT = 6;
export const LAYER_KIND_GLOBAL_AVERAGE_POOL2D = 7;
export const OUTPUT_KIND_FLOATS = 4;
export const CONV2D_KBIT_FIXED_BYTES = 84;
export const GLOBAL_POOL_RECORD_BYTES = 28;

const CONV_KBIT_OUTPUT_KINDS = new Map([
  [OUTPUT_KIND_SIGNS, 'signs'],
  [OUTPUT_KIND_CODES, 'codes'],
  [OUTPUT_KIND_FLOATS, 'floats'],
]);

/** The fields that fix the record length of a conv2d-kbit layer. */
interface ConvKbitSizes {
  outChannels: number;
  taps: number;
  reduction: number;
  weightBits: number;
  outputKind: number;
  codeBits: number;
  flags: number;
}

/** Length in bytes of a conv2d-kbit record, computed from its fields. */
export function convKbitRecordBytes(sizes: ConvKbitSizes): number {
  const { outChannels, taps, reduction, weightBits, outputKind, codeBits, flags } = sizes;
  const bytes = CONV2D_KBIT_FIXED_BYTES + 4 * outChannels * weightBits * wordsPerRow(reduction) + 4 * outChannels + 4 * outChannels * taps;
  if (outputKind === OUTPUT_KIND_FLOATS) {
    let epilogueBytes = 8;
    for (const flag of [FLAG_BIAS, FLAG_SCALE, FLAG_SHIFT]) if (flags & flag) epilogueBytes += 4 * outChannels;
    return bytes + epilogueBytes;
  }
  const levels = outputKind === OUTPUT_KIND_CODES ? 2 ** codeBits - 1 : 1;
  return bytes + 4 * outChannels * levels + alignTo4(outChannels);
}

function sizesOf(layer: PackedConv2dKbitLayer): ConvKbitSizes {
  const taps = layer.kernelHeight * layer.kernelWidth;
  const output = layer.output;
  let outputKind = OUTPUT_KIND_FLOATS;
  if (output.kind === 'signs') outputKind = OUTPUT_KIND_SIGNS;
  else if (output.kind === 'codes') outputKind = OUTPUT_KIND_CODES;
  let flags = 0;
  if (output.kind === 'floats') {
    const { bias, scale, shift } = output.epilogue;
    flags = (bias ? FLAG_BIAS : 0) | (scale ? FLAG_SCALE : 0) | (shift ? FLAG_SHIFT : 0);
  }
  return {
    outChannels: layer.outChannels,
    taps,
    reduction: taps * layer.channels,
    weightBits: layer.weightBits,
    outputKind,
    codeBits: output.kind === 'codes' ? output.bits : 0,
    flags,
  };
}

/** Length in bytes of the record of `layer`. */
export function convKbitLayerBytes(layer: PackedConv2dKbitLayer): number {
  return convKbitRecordBytes(sizesOf(layer));
}

function writePool(writer: RecordWriter, pool: PoolWindow | null): void {
  const window = pool ?? { poolHeight: 0, poolWidth: 0, strideHeight: 0, strideWidth: 0 };
  for (const value of [window.poolHeight, window.poolWidth, window.strideHeight, window.strideWidth]) writer.u32(value);
}

export function writeConvKbitRecord(writer: RecordWriter, layer: PackedConv2dKbitLayer): void {
  const sizes = sizesOf(layer);
  writer.u32(convKbitRecordBytes(sizes));
  for (const value of [LAYER_KIND_CONV2D_KBIT, KBIT_INPUT_CODES[layer.input], sizes.outputKind, sizes.flags]) writer.u8(value);
  for (const value of [layer.activationBits, layer.weightBits, sizes.codeBits, PADDING_CODES[layer.padding]]) writer.u8(value);
  const shape = [layer.height, layer.width, layer.channels, layer.outChannels, layer.kernelHeight, layer.kernelWidth, layer.strideHeight, layer.strideWidth];
  for (const value of shape) writer.u32(value);
  writePool(writer, layer.pool);
  writePool(writer, layer.outputPool);
  writer.i32(layer.gemmScale);
  writer.i32(layer.rowSumScale);
  for (const word of layer.weights) writer.u32(word);
  for (const value of layer.correction) writer.i32(value);
  for (const value of layer.padTapSums) writer.i32(value);

  const output = layer.output;
  if (output.kind !== 'floats') {
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

export function writeGlobalPoolRecord(writer: RecordWriter, layer: PackedGlobalAveragePool2dLayer): void {
  const output = layer.output;
  writer.u32(GLOBAL_POOL_RECORD_BYTES);
  for (const value of [LAYER_KIND_GLOBAL_AVERAGE_POOL2D, output.kind === 'codes' ? OUTPUT_KIND_CODES : OUTPUT_KIND_SIGNS, output.kind === 'codes' ? output.bits : 0, 0]) writer.u8(value);
  for (const value of [layer.height, layer.width, layer.channels]) writer.u32(value);
  writer.f64(output.kind === 'codes' ? output.step : 0);
}

/**
 * Returns the first invalid array of a conv2d-kbit layer (type, length, weight pad bits,
 * directions) as a message, or null. The encoder calls it; the decoder reads arrays of the right length.
 */
export function findConvKbitArrayProblem(layer: PackedConv2dKbitLayer): string | null {
  const fieldProblem = findDenseKbitFieldProblem(layer);
  if (fieldProblem !== null) return fieldProblem;

  const { outChannels } = layer;
  const taps = layer.kernelHeight * layer.kernelWidth;
  const reduction = taps * layer.channels;
  const rows = outChannels * layer.weightBits;
  const words = rows * wordsPerRow(reduction);
  if (words > MAX_ARRAY_ELEMENTS) return `weight word count ${words} exceeds the maximum ${MAX_ARRAY_ELEMENTS}`;
  const arrays: [string, unknown, Int32ArrayConstructor | Uint32ArrayConstructor, number][] = [
    ['weights', layer.weights, Uint32Array, words],
    ['correction', layer.correction, Int32Array, outChannels],
    ['padTapSums', layer.padTapSums, Int32Array, outChannels * taps],
  ];
  const output = layer.output;
  if (output.kind !== 'floats') {
    if (output.kind === 'codes' && (!Number.isInteger(output.bits) || output.bits < 1 || output.bits > 8)) return `output bits must be an integer in 1..8, found ${output.bits}`;
    arrays.push(['thresholds', output.thresholds, Int32Array, outChannels * (output.kind === 'codes' ? 2 ** output.bits - 1 : 1)]);
  }
  for (const [field, values, type, length] of arrays) {
    if (!(values instanceof type)) return `${field} must be a ${type.name}`;
    if (values.length !== length) return `${field} must hold ${length} elements, found ${values.length}`;
  }
  const padWord = findNonzeroPadWord(layer.weights, rows, reduction);
  if (padWord >= 0) return `weights word ${padWord} has nonzero pad bits: expected bits ${reduction % 32}..31 to be 0`;

  if (output.kind === 'floats') {
    const { inputScale, bias, scale, shift } = output.epilogue;
    if (typeof inputScale !== 'number' || !Number.isFinite(inputScale)) return `epilogue inputScale must be a finite number, found ${String(inputScale)}`;
    for (const [field, values] of Object.entries({ bias, scale, shift })) {
      if (values !== null && values !== undefined && (!(values instanceof Float32Array) || values.length !== outChannels)) return `epilogue ${field} must be a Float32Array of ${outChannels} elements`;
    }
    return null;
  }
  if (!(output.directions instanceof Int8Array) || output.directions.length !== outChannels) return `directions must be an Int8Array of ${outChannels} elements`;
  const badDirection = output.directions.findIndex((direction) => direction !== 1 && direction !== -1);
  return badDirection >= 0 ? `directions[${badDirection}] must be 1 or -1, found ${output.directions[badDirection]}` : null;
}

function readPool(reader: ByteReader, name: string, prefix: string): PoolWindow | null {
  const offset = reader.offset;
  const fields = ['poolHeight', 'poolWidth', 'strideHeight', 'strideWidth'].map((field) => {
    const value = reader.u32(`${name} ${prefix}${field}`);
    if (value > MAX_ARRAY_ELEMENTS) reader.fail(`${name}: ${prefix}${field} ${value} exceeds the maximum ${MAX_ARRAY_ELEMENTS}`, reader.offset - 4);
    return value;
  });
  if (fields.every((value) => value === 0)) return null;
  if (fields.some((value) => value === 0)) reader.fail(`${name}: ${prefix}pool fields must be all 0 (no pool) or all positive, found [${fields.join(', ')}]`, offset);
  return { poolHeight: fields[0], poolWidth: fields[1], strideHeight: fields[2], strideWidth: fields[3] };
}

/** Reads a conv2d-kbit record; chain rules between layers are checked for the whole network afterwards. */
export function readConvKbitRecord(reader: ByteReader, index: number): PackedConv2dKbitLayer {
  const name = `layer ${index} (conv2d-kbit)`;
  const { start, recordLength, input, outputKind, flags } = readKbitRecordHeader(reader, name, CONV2D_KBIT_FIXED_BYTES, CONV_KBIT_OUTPUT_KINDS, OUTPUT_KIND_FLOATS);

  const bitsOffset = reader.offset;
  const activationBits = reader.u8(`${name} activationBits`);
  const weightBits = reader.u8(`${name} weightBits`);
  const codeBits = reader.u8(`${name} output code bits`);
  const paddingCode = reader.u8(`${name} padding`);
  const padding = PADDING_BY_CODE.get(paddingCode);
  if (padding === undefined) reader.fail(`${name}: unknown padding code ${paddingCode}, expected 1 (same) or 2 (valid)`, reader.offset - 1);
  const isCodes = outputKind === OUTPUT_KIND_CODES;
  if (isCodes ? codeBits < 1 || codeBits > 8 : codeBits !== 0) {
    reader.fail(`${name}: output code bits must be ${isCodes ? 'in 1..8 for codes output' : '0 for this output kind'}, found ${codeBits}`, bitsOffset + 2);
  }

  const fieldNames = ['height', 'width', 'channels', 'outChannels', 'kernelHeight', 'kernelWidth', 'strideHeight', 'strideWidth'];
  const [height, width, channels, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth] = fieldNames.map((field) => readCount(reader, `${name} ${field}`));
  const pool = readPool(reader, name, 'pool ');
  const outputPool = readPool(reader, name, 'outputPool ');
  const gemmScale = reader.i32(`${name} gemmScale`);
  const rowSumScale = reader.i32(`${name} rowSumScale`);
  const problem = findDenseKbitFieldProblem({ input, activationBits, weightBits, gemmScale, rowSumScale });
  if (problem !== null) reader.fail(`${name}: ${problem}`, bitsOffset);

  const taps = kernelHeight * kernelWidth;
  const reduction = taps * channels;
  const weightWords = outChannels * weightBits * wordsPerRow(reduction);
  if (weightWords > MAX_ARRAY_ELEMENTS || outChannels * taps > MAX_ARRAY_ELEMENTS) {
    reader.fail(`${name}: weight word count ${weightWords} or pad tap count ${outChannels * taps} exceeds the maximum ${MAX_ARRAY_ELEMENTS}`, start + 12);
  }
  const expectedLength = convKbitRecordBytes({ outChannels, taps, reduction, weightBits, outputKind, codeBits, flags });
  if (recordLength !== expectedLength) reader.fail(`${name}: invalid record length: expected ${expectedLength} bytes from its fields, found ${recordLength}`, start);
  reader.require(expectedLength - CONV2D_KBIT_FIXED_BYTES, `${name} record`);

  const weightsOffset = reader.offset;
  const weights = reader.uint32Array(weightWords, `${name} weights`);
  const padWord = findNonzeroPadWord(weights, outChannels * weightBits, reduction);
  if (padWord >= 0) reader.fail(`${name} weights word ${padWord} has nonzero pad bits: expected bits ${reduction % 32}..31 to be 0`, weightsOffset + 4 * padWord);
  const correction = reader.int32Array(outChannels, `${name} correction`);
  const padTapSums = reader.int32Array(outChannels * taps, `${name} padTapSums`);

  let output: PackedConv2dKbitLayer['output'];
  if (outputKind === OUTPUT_KIND_FLOATS) output = { kind: 'floats', epilogue: readScores(reader, name, outChannels, flags).epilogue };
  else if (isCodes) output = { kind: 'codes', bits: codeBits, ...readThresholds(reader, name, outChannels, 2 ** codeBits - 1) };
  else output = { kind: 'signs', ...readThresholds(reader, name, outChannels, 1) };

  return {
    kind: 'conv2d-kbit',
    input,
    height,
    width,
    channels,
    outChannels,
    kernelHeight,
    kernelWidth,
    strideHeight,
    strideWidth,
    padding,
    activationBits,
    weightBits,
    weights,
    gemmScale,
    rowSumScale,
    correction,
    padTapSums,
    pool,
    outputPool,
    output,
  };
}

/** Reads a globalAveragePool2d record. */
export function readGlobalPoolRecord(reader: ByteReader, index: number): PackedGlobalAveragePool2dLayer {
  const name = `layer ${index} (globalAveragePool2d)`;
  const start = reader.offset;
  reader.require(GLOBAL_POOL_RECORD_BYTES, `${name} record`);
  const recordLength = reader.u32(`${name} record length`);
  if (recordLength !== GLOBAL_POOL_RECORD_BYTES) reader.fail(`${name}: invalid record length: expected ${GLOBAL_POOL_RECORD_BYTES} bytes, found ${recordLength}`, start);
  reader.u8(`${name} layer kind`);

  const outputKind = reader.u8(`${name} output kind`);
  if (outputKind !== OUTPUT_KIND_SIGNS && outputKind !== OUTPUT_KIND_CODES) reader.fail(`${name}: unknown output kind code ${outputKind}, expected 1 (signs) or 3 (codes)`, reader.offset - 1);
  const bits = reader.u8(`${name} code bits`);
  const isCodes = outputKind === OUTPUT_KIND_CODES;
  if (isCodes ? bits < 1 || bits > 8 : bits !== 0) reader.fail(`${name}: code bits must be ${isCodes ? 'in 1..8 for codes output' : '0 for signs output'}, found ${bits}`, reader.offset - 1);
  const reserved = reader.u8(`${name} reserved byte`);
  if (reserved !== 0) reader.fail(`${name}: reserved byte must be 0, found ${reserved}`, reader.offset - 1);

  const height = readCount(reader, `${name} height`);
  const width = readCount(reader, `${name} width`);
  const channels = readCount(reader, `${name} channels`);
  const stepOffset = reader.offset;
  const step = reader.f64(`${name} step`);
  if (!isCodes) {
    if (step !== 0) reader.fail(`${name}: step must be 0 for signs output, found ${step}`, stepOffset);
    return { kind: 'globalAveragePool2d', height, width, channels, output: { kind: 'signs' } };
  }
  if (!Number.isFinite(step) || step <= 0) reader.fail(`${name}: step must be a finite number > 0 for codes output, found ${step}`, stepOffset);
  return { kind: 'globalAveragePool2d', height, width, channels, output: { kind: 'codes', bits, step } };
}

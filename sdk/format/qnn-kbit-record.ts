/**
 * The dense-kbit record of the `.qnn` file (layer kind 5): a dense layer with
 * k-bit weight planes and k-bit activation codes, as compile-kbit.ts produces it.
 *
 *   r+0   u32  record length
 *   r+4   u8   layer kind 5, u8 input kind (1 uint8, 2 signs, 3 codes),
 *              u8 output kind (1 signs, 2 scores, 3 codes), u8 epilogue flags (scores only)
 *   r+8   u32  inputs
 *   r+12  u32  units
 *   r+16  u8   activationBits, u8 weightBits, u8 output code bits (0 unless codes), u8 zero
 *   r+20  i32  gemmScale
 *   r+24  i32  rowSumScale
 *   r+28  u32[units * weightBits * ceil(inputs / 32)] weight sign planes
 *   then  i32[units] correction
 *   signs output:  i32[units] thresholds, i8[units] directions, zero bytes to a multiple of 4
 *   codes output:  i32[units * (2^bits - 1)] thresholds, i8[units] directions, zero bytes to a multiple of 4
 *   scores output: f64 input scale, then f32[units] bias, scale, shift, each only when its flag is set
 */
import { wordsPerRow } from '../backends/backend.js';
import type { CodeOutput, DenseEpilogue, PackedDenseKbitLayer, PackedKbitInputKind, ScoreOutput, SignOutput } from '../compile/graph.js';
import type { ByteReader } from './byte-reader.js';
import { FLAG_BIAS, FLAG_SCALE, FLAG_SHIFT, KNOWN_FLAGS, MAX_ARRAY_ELEMENTS, OUTPUT_KIND_SCORES, OUTPUT_KIND_SIGNS, alignTo4, findNonzeroPadWord } from './qnn-layout.js';

export const LAYER_KIND_DENSE_KBIT = 5;
export const OUTPUT_KIND_CODES = 3;
export const DENSE_KBIT_FIXED_BYTES = 28;

export const KBIT_INPUT_CODES: Record<PackedKbitInputKind, number> = { uint8: 1, signs: 2, codes: 3 };
const KBIT_INPUT_BY_CODE = new Map<number, PackedKbitInputKind>([
  [1, 'uint8'],
  [2, 'signs'],
  [3, 'codes'],
]);

/** The little-endian writes that a record needs; the encoder's ByteWriter has them. */
export interface RecordWriter {
  u8(value: number): void;
  u32(value: number): void;
  i32(value: number): void;
  f32(value: number): void;
  f64(value: number): void;
  alignTo4(): void;
}

/** Length in bytes of a dense-kbit record, computed from its fields. */
export function denseKbitRecordBytes(inputs: number, units: number, weightBits: number, outputKind: number, codeBits: number, flags: number): number {
  let bytes = DENSE_KBIT_FIXED_BYTES + 4 * units * weightBits * wordsPerRow(inputs) + 4 * units;
  if (outputKind === OUTPUT_KIND_SCORES) {
    bytes += 8;
    for (const flag of [FLAG_BIAS, FLAG_SCALE, FLAG_SHIFT]) if (flags & flag) bytes += 4 * units;
    return bytes;
  }
  const levels = outputKind === OUTPUT_KIND_CODES ? 2 ** codeBits - 1 : 1;
  return bytes + 4 * units * levels + alignTo4(units);
}

function outputKindCode(layer: PackedDenseKbitLayer): number {
  if (layer.output.kind === 'signs') return OUTPUT_KIND_SIGNS;
  return layer.output.kind === 'codes' ? OUTPUT_KIND_CODES : OUTPUT_KIND_SCORES;
}

function epilogueFlags(layer: PackedDenseKbitLayer): number {
  if (layer.output.kind !== 'scores') return 0;
  const { bias, scale, shift } = layer.output.epilogue;
  return (bias ? FLAG_BIAS : 0) | (scale ? FLAG_SCALE : 0) | (shift ? FLAG_SHIFT : 0);
}

function codeBits(layer: PackedDenseKbitLayer): number {
  return layer.output.kind === 'codes' ? layer.output.bits : 0;
}

/** Length in bytes of the record of `layer`. */
export function denseKbitLayerBytes(layer: PackedDenseKbitLayer): number {
  return denseKbitRecordBytes(layer.inputs, layer.units, layer.weightBits, outputKindCode(layer), codeBits(layer), epilogueFlags(layer));
}

export function writeDenseKbitRecord(writer: RecordWriter, layer: PackedDenseKbitLayer): void {
  writer.u32(denseKbitLayerBytes(layer));
  writer.u8(LAYER_KIND_DENSE_KBIT);
  writer.u8(KBIT_INPUT_CODES[layer.input]);
  writer.u8(outputKindCode(layer));
  writer.u8(epilogueFlags(layer));
  writer.u32(layer.inputs);
  writer.u32(layer.units);
  for (const value of [layer.activationBits, layer.weightBits, codeBits(layer), 0]) writer.u8(value);
  writer.i32(layer.gemmScale);
  writer.i32(layer.rowSumScale);
  for (const word of layer.weights) writer.u32(word);
  for (const value of layer.correction) writer.i32(value);

  const output = layer.output;
  if (output.kind !== 'scores') {
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

/**
 * Returns the first invalid field of a dense-kbit layer's scalar fields as a
 * message, or null. Shared by the encoder and the decoder.
 */
export function findDenseKbitFieldProblem(layer: Pick<PackedDenseKbitLayer, 'input' | 'activationBits' | 'weightBits' | 'gemmScale' | 'rowSumScale'>): string | null {
  const { input, activationBits, weightBits } = layer;
  for (const [field, bits] of [['activationBits', activationBits], ['weightBits', weightBits]] as const) {
    if (!Number.isInteger(bits) || bits < 1 || bits > 8) return `${field} must be an integer in 1..8, found ${bits}`;
  }
  if (input === 'uint8' && activationBits !== 8) return `activationBits must be 8 for uint8 input, found ${activationBits}`;
  if (input === 'signs' && activationBits !== 1) return `activationBits must be 1 for signs input, found ${activationBits}`;
  for (const [field, value] of [['gemmScale', layer.gemmScale], ['rowSumScale', layer.rowSumScale]] as const) {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) return `${field} must be an int32, found ${value}`;
  }
  return null;
}

/** The leading fields that the dense-kbit and conv2d-kbit records share. */
export interface KbitRecordHeader {
  start: number;
  recordLength: number;
  input: PackedKbitInputKind;
  outputKind: number;
  flags: number;
}

/**
 * Reads the leading fields of a k-bit record: the record length, the layer kind, the input
 * kind, an output kind from `outputKinds` (code to name) and the epilogue flags, which only
 * the output kind `epilogueOutput` may set.
 */
export function readKbitRecordHeader(reader: ByteReader, name: string, fixedBytes: number, outputKinds: ReadonlyMap<number, string>, epilogueOutput: number): KbitRecordHeader {
  const start = reader.offset;
  reader.require(fixedBytes, `${name} fixed fields`);
  const recordLength = reader.u32(`${name} record length`);
  reader.u8(`${name} layer kind`);

  const inputCode = reader.u8(`${name} input kind`);
  const input = KBIT_INPUT_BY_CODE.get(inputCode);
  if (input === undefined) reader.fail(`${name}: unknown input kind code ${inputCode}, expected 1 (uint8), 2 (signs) or 3 (codes)`, reader.offset - 1);

  const outputKind = reader.u8(`${name} output kind`);
  if (!outputKinds.has(outputKind)) {
    const expected = [...outputKinds].map(([code, kind]) => `${code} (${kind})`);
    reader.fail(`${name}: unknown output kind code ${outputKind}, expected ${expected.slice(0, -1).join(', ')} or ${expected[expected.length - 1]}`, reader.offset - 1);
  }

  const flags = reader.u8(`${name} epilogue flags`);
  const allowedFlags = outputKind === epilogueOutput ? KNOWN_FLAGS : 0;
  if ((flags & ~allowedFlags) !== 0) {
    reader.fail(`${name}: invalid epilogue flags 0x${flags.toString(16)}: only bits in 0x${allowedFlags.toString(16)} may be set for this output kind`, reader.offset - 1);
  }
  return { start, recordLength, input, outputKind, flags };
}

const DENSE_KBIT_OUTPUT_KINDS = new Map([
  [OUTPUT_KIND_SIGNS, 'signs'],
  [OUTPUT_KIND_SCORES, 'scores'],
  [OUTPUT_KIND_CODES, 'codes'],
]);

/** Reads a dense-kbit record; chain rules between layers are checked for the whole network afterwards. */
export function readDenseKbitRecord(reader: ByteReader, index: number): PackedDenseKbitLayer {
  const name = `layer ${index} (dense-kbit)`;
  const { start, recordLength, input, outputKind, flags } = readKbitRecordHeader(reader, name, DENSE_KBIT_FIXED_BYTES, DENSE_KBIT_OUTPUT_KINDS, OUTPUT_KIND_SCORES);

  const inputs = readCount(reader, `${name} inputs`);
  const units = readCount(reader, `${name} units`);
  const bitsOffset = reader.offset;
  const activationBits = reader.u8(`${name} activationBits`);
  const weightBits = reader.u8(`${name} weightBits`);
  const outputBits = reader.u8(`${name} output code bits`);
  const reserved = reader.u8(`${name} reserved byte`);
  if (reserved !== 0) reader.fail(`${name}: reserved byte must be 0, found ${reserved}`, reader.offset - 1);
  const gemmScale = reader.i32(`${name} gemmScale`);
  const rowSumScale = reader.i32(`${name} rowSumScale`);
  const problem = findDenseKbitFieldProblem({ input, activationBits, weightBits, gemmScale, rowSumScale });
  if (problem !== null) reader.fail(`${name}: ${problem}`, bitsOffset);
  const expectedCodeBits = outputKind === OUTPUT_KIND_CODES;
  if (expectedCodeBits ? outputBits < 1 || outputBits > 8 : outputBits !== 0) {
    reader.fail(`${name}: output code bits must be ${expectedCodeBits ? 'in 1..8 for codes output' : '0 for this output kind'}, found ${outputBits}`, bitsOffset + 2);
  }

  const words = wordsPerRow(inputs);
  const weightWords = units * weightBits * words;
  if (weightWords > MAX_ARRAY_ELEMENTS) reader.fail(`${name}: weight word count ${weightWords} exceeds the maximum ${MAX_ARRAY_ELEMENTS}`, start + 12);
  const expectedLength = denseKbitRecordBytes(inputs, units, weightBits, outputKind, outputBits, flags);
  if (recordLength !== expectedLength) reader.fail(`${name}: invalid record length: expected ${expectedLength} bytes from its fields, found ${recordLength}`, start);
  reader.require(expectedLength - DENSE_KBIT_FIXED_BYTES, `${name} record`);

  const weightsOffset = reader.offset;
  const weights = reader.uint32Array(weightWords, `${name} weights`);
  const padWord = findNonzeroPadWord(weights, units * weightBits, inputs);
  if (padWord >= 0) {
    reader.fail(`${name} weights word ${padWord} has nonzero pad bits: expected bits ${inputs % 32}..31 to be 0`, weightsOffset + 4 * padWord);
  }
  const correction = reader.int32Array(units, `${name} correction`);

  let output: SignOutput | CodeOutput | ScoreOutput;
  if (outputKind === OUTPUT_KIND_SCORES) output = readScores(reader, name, units, flags);
  else if (outputKind === OUTPUT_KIND_CODES) output = { kind: 'codes', bits: outputBits, ...readThresholds(reader, name, units, 2 ** outputBits - 1) };
  else output = { kind: 'signs', ...readThresholds(reader, name, units, 1) };

  return { kind: 'dense-kbit', input, inputs, units, activationBits, weightBits, weights, gemmScale, rowSumScale, correction, output };
}

export function readCount(reader: ByteReader, field: string): number {
  const offset = reader.offset;
  const value = reader.u32(field);
  if (value < 1 || value > MAX_ARRAY_ELEMENTS) reader.fail(`invalid ${field}: expected 1..${MAX_ARRAY_ELEMENTS}, found ${value}`, offset);
  return value;
}

export function readThresholds(reader: ByteReader, name: string, units: number, levels: number): { thresholds: Int32Array; directions: Int8Array } {
  const thresholds = reader.int32Array(units * levels, `${name} thresholds`);
  const directionsOffset = reader.offset;
  const directions = reader.int8Array(units, `${name} directions`);
  const badDirection = directions.findIndex((direction) => direction !== 1 && direction !== -1);
  if (badDirection >= 0) reader.fail(`${name} directions[${badDirection}]: expected 1 or -1, found ${directions[badDirection]}`, directionsOffset + badDirection);

  const padStart = reader.offset;
  const pad = reader.int8Array(alignTo4(units) - units, `${name} directions padding`);
  const badPad = pad.findIndex((byte) => byte !== 0);
  if (badPad >= 0) reader.fail(`${name} directions padding: expected 0, found ${pad[badPad]}`, padStart + badPad);
  return { thresholds, directions };
}

export function readScores(reader: ByteReader, name: string, units: number, flags: number): ScoreOutput {
  const scaleOffset = reader.offset;
  const inputScale = reader.f64(`${name} epilogue inputScale`);
  if (!Number.isFinite(inputScale)) reader.fail(`${name} epilogue inputScale: expected a finite number, found ${inputScale}`, scaleOffset);

  // The arrays that are present follow in this order: bias, scale, shift.
  const readOptional = (flag: number, field: string) => (flags & flag ? reader.float32Array(units, `${name} epilogue ${field}`) : null);
  const epilogue: DenseEpilogue = {
    inputScale,
    bias: readOptional(FLAG_BIAS, 'bias'),
    scale: readOptional(FLAG_SCALE, 'scale'),
    shift: readOptional(FLAG_SHIFT, 'shift'),
  };
  return { kind: 'scores', epilogue };
}

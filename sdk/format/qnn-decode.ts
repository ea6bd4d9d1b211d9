/**
 * Decoder of the `.qnn` file (layout in qnn-layout.ts and docs/qnn-format.md).
 * The input is untrusted: every count is bounded and checked against the bytes
 * that remain before anything is allocated.
 */
import { wordsPerRow } from '../backends/backend.js';
import {
  type DenseEpilogue,
  type PackedConv2dLayer,
  type PackedDenseLayer,
  type PackedFlattenLayer,
  type PackedLayer,
  type PackedMaxPool2dLayer,
  type PackedModel,
  type PackedNetwork,
  type SignOutput,
  isPackedModel,
} from '../compile/graph.js';
import { FileFormatError } from '../errors.js';
import { ByteReader } from './byte-reader.js';
import { crc32 } from './crc32.js';
import {
  CHECKSUM_BYTES,
  FLAG_BIAS,
  FLAG_SCALE,
  FLAG_SHIFT,
  HEADER_FILE_LENGTH_OFFSET,
  HEADER_FIXED_BYTES,
  HEADER_LAYER_COUNT_OFFSET,
  HEADER_LENGTH_OFFSET,
  HEADER_VERSION_OFFSET,
  INPUT_KIND_BY_CODE,
  KNOWN_FLAGS,
  LAYER_FIXED_BYTES,
  LAYER_KIND_DENSE,
  MAX_ARRAY_ELEMENTS,
  MAX_INPUT_RANK,
  MAX_LAYERS,
  OUTPUT_KIND_SCORES,
  OUTPUT_KIND_SIGNS,
  QNN_FORMAT_VERSION,
  QNN_MAGIC,
  CONV2D_FIXED_BYTES,
  FLATTEN_RECORD_BYTES,
  LAYER_KIND_CONV2D,
  LAYER_KIND_FLATTEN,
  LAYER_KIND_MAX_POOL2D,
  MAX_POOL2D_RECORD_BYTES,
  PADDING_BY_CODE,
  QNN_CONV_VERSION,
  alignTo4,
  conv2dRecordBytes,
  conv2dWeightWords,
  denseRecordBytes,
  findNonzeroPadWord,
} from './qnn-layout.js';
import { LAYER_KIND_DENSE_KBIT, readDenseKbitRecord } from './qnn-kbit-record.js';
import { findNetworkProblem } from './qnn-network-checks.js';
import { LAYER_KIND_CONV2D_KBIT, LAYER_KIND_GLOBAL_AVERAGE_POOL2D, readConvKbitRecord, readGlobalPoolRecord } from './qnn-conv-kbit-record.js';

/**
 * Decodes a `.qnn` file into a packed model. Throws FileFormatError, naming
 * `fileName`, the field and its byte offset, when the file is foreign, truncated,
 * of a newer format version, corrupted (checksum mismatch) or inconsistent.
 */
export function decodeQnn(bytes: Uint8Array, fileName = '<memory>'): PackedModel {
  const { network, recordStarts } = decodeRecords(bytes, fileName);
  if (!isPackedModel(network)) {
    const index = network.layers.findIndex((layer) => layer.kind !== 'dense');
    throw new FileFormatError(
      `layer ${index} is a ${network.layers[index].kind} layer, so the file contains a network, not a dense model; read it with loadQnnNetwork (decodeQnnNetwork for bytes)`,
      fileName,
      recordStarts[index],
    );
  }
  return network;
}

/**
 * Decodes a `.qnn` file of format version 1 or 2 into a packed network of
 * any layer kinds. Throws FileFormatError as decodeQnn does, and for a layer
 * chain that does not fit together (see qnn-network-checks.ts), at the start of
 * the layer record at fault.
 */
export function decodeQnnNetwork(bytes: Uint8Array, fileName = '<memory>'): PackedNetwork {
  return decodeRecords(bytes, fileName).network;
}

/** Decodes the file and returns the network with the byte offset of each layer record. */
function decodeRecords(bytes: Uint8Array, fileName: string): { network: PackedNetwork; recordStarts: number[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const checksumOffset = checkFileFrame(bytes, view, fileName);
  const version = view.getUint32(HEADER_VERSION_OFFSET, true);
  const reader = new ByteReader(bytes, fileName, HEADER_LAYER_COUNT_OFFSET, checksumOffset, 'the checksum');

  // Header fields after the file length.
  const headerLength = view.getUint32(HEADER_LENGTH_OFFSET, true);
  const layerCount = readCount(reader, 'layer count', 1, MAX_LAYERS);
  const rank = readCount(reader, 'input rank', 1, MAX_INPUT_RANK);
  const expectedHeaderLength = HEADER_FIXED_BYTES + 4 * rank;
  if (headerLength !== expectedHeaderLength) {
    reader.fail(
      `invalid header length: expected ${expectedHeaderLength} bytes for input rank ${rank}, found ${headerLength}`,
      HEADER_LENGTH_OFFSET,
    );
  }
  const inputShape: number[] = [];
  for (let d = 0; d < rank; d++) inputShape.push(readCount(reader, `inputShape[${d}]`, 1, MAX_ARRAY_ELEMENTS));

  // Layer records, each checked against the one before it.
  const layers: PackedLayer[] = [];
  const recordStarts: number[] = [];
  for (let index = 0; index < layerCount; index++) {
    const isLast = index === layerCount - 1;
    recordStarts.push(reader.offset);
    layers.push(readRecord(reader, version, index, isLast, inputShape, layers[index - 1]));
  }

  if (reader.offset !== checksumOffset) {
    reader.fail(
      `${checksumOffset - reader.offset} unused bytes after the last layer record: ` +
        `expected the checksum at byte ${reader.offset}, found it at byte ${checksumOffset}`,
    );
  }
  const network = { inputShape, layers };
  if (!isPackedModel(network)) {
    const problem = findNetworkProblem(network);
    if (problem !== null) reader.fail(problem.message, recordStarts[problem.index]);
  }
  return { network, recordStarts };
}

/** Reads one layer record of any kind that `version` allows. */
function readRecord(reader: ByteReader, version: number, index: number, isLast: boolean, inputShape: number[], previous: PackedLayer | undefined): PackedLayer {
  const kindOffset = reader.offset + 4;
  reader.require(8, `layer ${index} record length and kind`);
  const kind = reader.peekU8(kindOffset);

  if (kind === LAYER_KIND_DENSE || version < QNN_CONV_VERSION) {
    // Chain rules for a dense layer after a flatten layer are checked for the whole network afterwards.
    if (previous === undefined || previous.kind === 'dense') return readDenseRecord(reader, index, isLast, inputShape, previous, true);
    return readDenseRecord(reader, index, isLast, inputShape, undefined, false);
  }
  if (kind === LAYER_KIND_CONV2D) return readConvRecord(reader, index);
  if (kind === LAYER_KIND_DENSE_KBIT) return readDenseKbitRecord(reader, index);
  if (kind === LAYER_KIND_CONV2D_KBIT) return readConvKbitRecord(reader, index);
  if (kind === LAYER_KIND_GLOBAL_AVERAGE_POOL2D) return readGlobalPoolRecord(reader, index);
  if (kind === LAYER_KIND_MAX_POOL2D || kind === LAYER_KIND_FLATTEN) return readWindowRecord(reader, index, kind);
  return reader.fail(
    `layer ${index}: unknown layer kind code ${kind}, expected ${LAYER_KIND_DENSE} (dense), ${LAYER_KIND_CONV2D} (conv2d), ` +
      `${LAYER_KIND_MAX_POOL2D} (maxPool2d), ${LAYER_KIND_FLATTEN} (flatten), ${LAYER_KIND_DENSE_KBIT} (dense-kbit), ` +
      `${LAYER_KIND_CONV2D_KBIT} (conv2d-kbit) or ${LAYER_KIND_GLOBAL_AVERAGE_POOL2D} (globalAveragePool2d)`,
    kindOffset,
  );
}

/** Reads the record length, checks it against `expected` and that the record's bytes are present. */
function readRecordLength(reader: ByteReader, name: string, expected: number, start: number): void {
  const recordLength = reader.u32(`${name} record length`);
  if (recordLength !== expected) reader.fail(`${name}: invalid record length: expected ${expected} bytes from its fields, found ${recordLength}`, start);
  reader.require(expected - 4, `${name} record`);
}

function readZeroBytes(reader: ByteReader, name: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const offset = reader.offset;
    const value = reader.u8(`${name} reserved byte`);
    if (value !== 0) reader.fail(`${name}: reserved byte ${i} must be 0, found ${value}`, offset);
  }
}

function readWindowRecord(reader: ByteReader, index: number, kind: number): PackedMaxPool2dLayer | PackedFlattenLayer {
  const start = reader.offset;
  const flatten = kind === LAYER_KIND_FLATTEN;
  const name = `layer ${index} (${flatten ? 'flatten' : 'maxPool2d'})`;
  readRecordLength(reader, name, flatten ? FLATTEN_RECORD_BYTES : MAX_POOL2D_RECORD_BYTES, start);
  reader.u8(`${name} layer kind`);
  readZeroBytes(reader, name, 3);

  const height = readCount(reader, `${name} height`, 1, MAX_ARRAY_ELEMENTS);
  const width = readCount(reader, `${name} width`, 1, MAX_ARRAY_ELEMENTS);
  const channels = readCount(reader, `${name} channels`, 1, MAX_ARRAY_ELEMENTS);
  if (flatten) return { kind: 'flatten', height, width, channels };

  const poolHeight = readCount(reader, `${name} poolHeight`, 1, MAX_ARRAY_ELEMENTS);
  const poolWidth = readCount(reader, `${name} poolWidth`, 1, MAX_ARRAY_ELEMENTS);
  const strideHeight = readCount(reader, `${name} strideHeight`, 1, MAX_ARRAY_ELEMENTS);
  const strideWidth = readCount(reader, `${name} strideWidth`, 1, MAX_ARRAY_ELEMENTS);
  return { kind: 'maxPool2d', height, width, channels, poolHeight, poolWidth, strideHeight, strideWidth };
}

function readConvRecord(reader: ByteReader, index: number): PackedConv2dLayer {
  const name = `layer ${index} (conv2d)`;
  const start = reader.offset;
  reader.require(CONV2D_FIXED_BYTES, `${name} fixed fields`);
  const recordLength = reader.u32(`${name} record length`);
  reader.u8(`${name} layer kind`);

  const inputCode = reader.u8(`${name} input kind`);
  const input = INPUT_KIND_BY_CODE.get(inputCode);
  if (input === undefined) reader.fail(`${name}: unknown input kind code ${inputCode}, expected 1 (uint8) or 2 (signs)`, reader.offset - 1);
  const outputKind = reader.u8(`${name} output kind`);
  if (outputKind !== OUTPUT_KIND_SIGNS) reader.fail(`${name}: invalid output kind code: expected ${OUTPUT_KIND_SIGNS} (signs), found ${outputKind}`, reader.offset - 1);
  const paddingCode = reader.u8(`${name} padding`);
  const padding = PADDING_BY_CODE.get(paddingCode);
  if (padding === undefined) reader.fail(`${name}: unknown padding code ${paddingCode}, expected 1 (same) or 2 (valid)`, reader.offset - 1);
  const padValue = reader.i32(`${name} padValue`);

  const count = (field: string) => readCount(reader, `${name} ${field}`, 1, MAX_ARRAY_ELEMENTS);
  const [height, width, channels, outChannels] = ['height', 'width', 'channels', 'outChannels'].map(count);
  const [kernelHeight, kernelWidth, strideHeight, strideWidth] = ['kernelHeight', 'kernelWidth', 'strideHeight', 'strideWidth'].map(count);

  const poolOffset = reader.offset;
  const poolFields = ['poolHeight', 'poolWidth', 'pool strideHeight', 'pool strideWidth'].map((field) => readCount(reader, `${name} ${field}`, 0, MAX_ARRAY_ELEMENTS));
  const poolAbsent = poolFields.every((value) => value === 0);
  if (!poolAbsent && poolFields.some((value) => value === 0)) {
    reader.fail(`${name}: pool fields must be all 0 (no pool) or all positive, found [${poolFields.join(', ')}]`, poolOffset);
  }
  const pool = poolAbsent ? null : { poolHeight: poolFields[0], poolWidth: poolFields[1], strideHeight: poolFields[2], strideWidth: poolFields[3] };

  const weightWords = conv2dWeightWords(input, outChannels, kernelHeight, kernelWidth, channels);
  if (weightWords > MAX_ARRAY_ELEMENTS) reader.fail(`${name}: weight word count ${weightWords} exceeds the maximum ${MAX_ARRAY_ELEMENTS}`, start + 12);
  const expectedLength = conv2dRecordBytes(weightWords, outChannels);
  if (recordLength !== expectedLength) reader.fail(`${name}: invalid record length: expected ${expectedLength} bytes from its fields, found ${recordLength}`, start);
  reader.require(expectedLength - CONV2D_FIXED_BYTES, `${name} record`);

  const weightsOffset = reader.offset;
  const weights = reader.uint32Array(weightWords, `${name} weights`);
  const [rows, rowBits] = input === 'uint8' ? [outChannels, kernelHeight * kernelWidth * channels] : [outChannels * kernelHeight * kernelWidth, channels];
  const padWord = findNonzeroPadWord(weights, rows, rowBits);
  if (padWord >= 0) {
    reader.fail(`${name} weights word ${padWord} has nonzero pad bits: expected bits ${rowBits % 32}..31 to be 0, found ${hex32(weights[padWord])}`, weightsOffset + 4 * padWord);
  }
  const output = readSignOutput(reader, name, outChannels) as SignOutput;

  return { kind: 'conv2d', input, height, width, channels, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth, padding, padValue, weights, pool, output };
}

/**
 * Checks the magic, the version, the file length and the checksum, which need no
 * parsing of the records. Returns the byte offset of the checksum.
 */
function checkFileFrame(bytes: Uint8Array, view: DataView, fileName: string): number {
  // Compare the magic first, even on a short file, so a foreign file is never reported as truncated.
  const magicBytes = Math.min(bytes.length, QNN_MAGIC.length);
  for (let i = 0; i < magicBytes; i++) {
    if (bytes[i] !== QNN_MAGIC[i]) {
      throw new FileFormatError(
        `not a .qnn model file: expected the magic bytes ${describeBytes(QNN_MAGIC)}, ` +
          `found ${describeBytes(bytes.subarray(0, QNN_MAGIC.length))}`,
        fileName,
        i,
      );
    }
  }
  if (bytes.length < HEADER_FIXED_BYTES) {
    throw new FileFormatError(
      `file is truncated: the header needs at least ${HEADER_FIXED_BYTES} bytes, found ${bytes.length}`,
      fileName,
      bytes.length,
    );
  }

  const version = view.getUint32(HEADER_VERSION_OFFSET, true);
  if (version === 0) {
    throw new FileFormatError('invalid format version 0: versions start at 1', fileName, HEADER_VERSION_OFFSET);
  }
  if (version > QNN_FORMAT_VERSION) {
    throw new FileFormatError(
      `format version ${version} is newer than the newest supported version ${QNN_FORMAT_VERSION}; ` +
        'load the file with a newer release of this SDK',
      fileName,
      HEADER_VERSION_OFFSET,
    );
  }

  const fileLength = view.getUint32(HEADER_FILE_LENGTH_OFFSET, true);
  if (fileLength < HEADER_FIXED_BYTES + CHECKSUM_BYTES || fileLength % 4 !== 0) {
    throw new FileFormatError(
      `invalid file length ${fileLength} in the header: expected a multiple of 4 of at least ` +
        `${HEADER_FIXED_BYTES + CHECKSUM_BYTES} bytes`,
      fileName,
      HEADER_FILE_LENGTH_OFFSET,
    );
  }
  if (bytes.length < fileLength) {
    throw new FileFormatError(
      `file is truncated: the header records ${fileLength} bytes, found ${bytes.length}`,
      fileName,
      bytes.length,
    );
  }
  if (bytes.length > fileLength) {
    throw new FileFormatError(
      `${bytes.length - fileLength} trailing bytes after the checksum: ` +
        `the header records ${fileLength} bytes, found ${bytes.length}`,
      fileName,
      fileLength,
    );
  }

  const checksumOffset = fileLength - CHECKSUM_BYTES;
  const stored = view.getUint32(checksumOffset, true);
  const computed = crc32(bytes.subarray(0, checksumOffset));
  if (stored !== computed) {
    throw new FileFormatError(
      `checksum mismatch, so the file is corrupted: expected CRC-32 ${hex32(computed)} of bytes 0..${checksumOffset - 1}, ` +
        `found ${hex32(stored)}`,
      fileName,
      checksumOffset,
    );
  }
  return checksumOffset;
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

/** Formats bytes as hex, followed by their ASCII text when all are printable. */
function describeBytes(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
  const printable = bytes.every((byte) => byte >= 0x20 && byte < 0x7f);
  return printable && bytes.length > 0 ? `${hex} ("${String.fromCharCode(...bytes)}")` : hex;
}

/** Reads a u32 and checks that it lies in min..max. */
function readCount(reader: ByteReader, field: string, min: number, max: number): number {
  const offset = reader.offset;
  const value = reader.u32(field);
  if (value < min || value > max) reader.fail(`invalid ${field}: expected ${min}..${max}, found ${value}`, offset);
  return value;
}

function readDenseRecord(
  reader: ByteReader,
  index: number,
  isLast: boolean,
  inputShape: number[],
  previous: PackedDenseLayer | undefined,
  checkChain: boolean,
): PackedDenseLayer {
  const name = `layer ${index}`;
  const start = reader.offset;

  // Fixed part: length, kinds, flags, inputs, units.
  const recordLength = reader.u32(`${name} record length`);

  const kind = reader.u8(`${name} layer kind`);
  if (kind !== LAYER_KIND_DENSE) {
    reader.fail(`${name}: unknown layer kind code ${kind}, expected ${LAYER_KIND_DENSE} (dense)`, reader.offset - 1);
  }

  const inputCode = reader.u8(`${name} input kind`);
  const input = INPUT_KIND_BY_CODE.get(inputCode);
  if (input === undefined) {
    reader.fail(`${name}: unknown input kind code ${inputCode}, expected 1 (uint8) or 2 (signs)`, reader.offset - 1);
  }
  if (checkChain && previous !== undefined && input !== 'signs') {
    reader.fail(`${name}: input kind must be signs because layer ${index - 1} outputs signs, found ${input}`, reader.offset - 1);
  }

  const outputKind = reader.u8(`${name} output kind`);
  const expectedOutputKind = isLast ? OUTPUT_KIND_SCORES : OUTPUT_KIND_SIGNS;
  if (outputKind !== expectedOutputKind) {
    const expected = isLast ? `${OUTPUT_KIND_SCORES} (scores) for the last layer` : `${OUTPUT_KIND_SIGNS} (signs) for a hidden layer`;
    reader.fail(`${name}: invalid output kind code: expected ${expected}, found ${outputKind}`, reader.offset - 1);
  }

  const flags = reader.u8(`${name} epilogue flags`);
  const allowedFlags = outputKind === OUTPUT_KIND_SCORES ? KNOWN_FLAGS : 0;
  if ((flags & ~allowedFlags) !== 0) {
    reader.fail(
      `${name}: invalid epilogue flags 0x${flags.toString(16)}: only bits in 0x${allowedFlags.toString(16)} may be set for this output kind`,
      reader.offset - 1,
    );
  }

  const inputsOffset = reader.offset;
  const inputs = readCount(reader, `${name} inputs`, 1, MAX_ARRAY_ELEMENTS);
  const expectedInputs = previous ? previous.units : inputShape.reduce((product, size) => product * size, 1);
  if (checkChain && inputs !== expectedInputs) {
    const source = previous ? `the units of layer ${index - 1}` : `the elements of inputShape [${inputShape.join(', ')}]`;
    reader.fail(`${name}: inputs must equal ${source}: expected ${expectedInputs}, found ${inputs}`, inputsOffset);
  }

  const unitsOffset = reader.offset;
  const units = readCount(reader, `${name} units`, 1, MAX_ARRAY_ELEMENTS);
  const words = wordsPerRow(inputs);
  if (units * words > MAX_ARRAY_ELEMENTS) {
    reader.fail(
      `${name}: weight word count ${units} units * ${words} words per row exceeds the maximum ${MAX_ARRAY_ELEMENTS}`,
      unitsOffset,
    );
  }

  const expectedLength = denseRecordBytes(inputs, units, outputKind, flags);
  if (recordLength !== expectedLength) {
    reader.fail(`${name}: invalid record length: expected ${expectedLength} bytes from its fields, found ${recordLength}`, start);
  }
  reader.require(expectedLength - LAYER_FIXED_BYTES, `${name} record`);

  // Arrays.
  const weightsOffset = reader.offset;
  const weights = reader.uint32Array(units * words, `${name} weights`);
  const padWord = findNonzeroPadWord(weights, units, inputs);
  if (padWord >= 0) {
    reader.fail(
      `${name} weights word ${padWord} has nonzero pad bits: expected bits ${inputs % 32}..31 to be 0, found ${hex32(weights[padWord])}`,
      weightsOffset + 4 * padWord,
    );
  }

  const output =
    outputKind === OUTPUT_KIND_SIGNS ? readSignOutput(reader, name, units) : readScoreOutput(reader, name, units, flags);
  return { kind: 'dense', input, inputs, units, weights, output };
}

function readSignOutput(reader: ByteReader, name: string, units: number): PackedDenseLayer['output'] {
  const thresholds = reader.int32Array(units, `${name} thresholds`);

  const directionsOffset = reader.offset;
  const directions = reader.int8Array(units, `${name} directions`);
  const badDirection = directions.findIndex((direction) => direction !== 1 && direction !== -1);
  if (badDirection >= 0) {
    reader.fail(`${name} directions[${badDirection}]: expected 1 or -1, found ${directions[badDirection]}`, directionsOffset + badDirection);
  }

  const padStart = reader.offset;
  const padBytes = alignTo4(units) - units;
  const pad = reader.int8Array(padBytes, `${name} directions padding`);
  const badPad = pad.findIndex((byte) => byte !== 0);
  if (badPad >= 0) {
    reader.fail(`${name} directions padding: expected 0, found ${pad[badPad]}`, padStart + badPad);
  }

  return { kind: 'signs', thresholds, directions };
}

function readScoreOutput(reader: ByteReader, name: string, units: number, flags: number): PackedDenseLayer['output'] {
  const scaleOffset = reader.offset;
  const inputScale = reader.f64(`${name} epilogue inputScale`);
  if (!Number.isFinite(inputScale)) {
    reader.fail(`${name} epilogue inputScale: expected a finite number, found ${inputScale}`, scaleOffset);
  }

  // The arrays that are present follow in this order: bias, scale, shift.
  const readOptional = (flag: number, field: string) =>
    flags & flag ? reader.float32Array(units, `${name} epilogue ${field}`) : null;
  const bias = readOptional(FLAG_BIAS, 'bias');
  const scale = readOptional(FLAG_SCALE, 'scale');
  const shift = readOptional(FLAG_SHIFT, 'shift');

  const epilogue: DenseEpilogue = { inputScale, bias, scale, shift };
  return { kind: 'scores', epilogue };
}

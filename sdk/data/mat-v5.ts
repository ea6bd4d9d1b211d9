/**
 * Minimal reader for MATLAB level-5 MAT-files (the format MATLAB writes with `save -v6`
 * and `-v7`), limited to real numeric arrays of class uint8 and double:
 *   bytes 0-115    descriptive text, "MATLAB 5.0 MAT-file ..."
 *   bytes 116-123  subsystem data offset (ignored)
 *   bytes 124-125  version 0x0100
 *   bytes 126-127  endian indicator: "IM" for a little-endian file, "MI" for big-endian
 *   rest           data elements, each an 8-byte tag (u32 data type, u32 byte count), the
 *                  data, and padding to a multiple of 8 bytes. A "small" element with at most
 *                  4 bytes of data packs the byte count into the upper 16 bits of the first
 *                  tag word and the data into the second word.
 * A top-level element is either miMATRIX (one variable) or miCOMPRESSED (a zlib stream that
 * inflates to one miMATRIX element, and is not padded). An miMATRIX element holds, in order,
 * the array flags, the dimensions, the name and the real part. The real part may be stored in
 * a smaller type than the class, for instance a double array as miUINT8.
 * Source: MathWorks, "MAT-File Format", version 7 (matfile_format.pdf), chapter 1.
 */
import { constants } from 'node:buffer';
import { inflateSync } from 'node:zlib';

import { FileFormatError, QnnError } from '../errors.js';

/** One variable of a MAT-file. `data` is in column-major order, as MATLAB stores it. */
export type MatArray = {
  name: string;
  /** Dimensions in MATLAB order, at least 2 of them. */
  dims: number[];
  /** Byte offset in the file of the top-level element that contains the variable. */
  offset: number;
} & ({ class: 'uint8'; data: Uint8Array } | { class: 'double'; data: Float64Array });

const HEADER_BYTES = 128;
const TAG_BYTES = 8;
const VERSION = 0x0100;

// Data types (the first word of a tag).
const MI_INT8 = 1;
const MI_UINT8 = 2;
const MI_INT16 = 3;
const MI_UINT16 = 4;
const MI_INT32 = 5;
const MI_UINT32 = 6;
const MI_SINGLE = 7;
const MI_DOUBLE = 9;
const MI_MATRIX = 14;
const MI_COMPRESSED = 15;

/** Byte size of each numeric data type that a real part may be stored in. */
const NUMERIC_TYPE_BYTES = new Map<number, number>([
  [MI_INT8, 1],
  [MI_UINT8, 1],
  [MI_INT16, 2],
  [MI_UINT16, 2],
  [MI_INT32, 4],
  [MI_UINT32, 4],
  [MI_SINGLE, 4],
  [MI_DOUBLE, 8],
]);

const DATA_TYPE_NAMES = new Map<number, string>([
  [MI_INT8, 'miINT8'],
  [MI_UINT8, 'miUINT8'],
  [MI_INT16, 'miINT16'],
  [MI_UINT16, 'miUINT16'],
  [MI_INT32, 'miINT32'],
  [MI_UINT32, 'miUINT32'],
  [MI_SINGLE, 'miSINGLE'],
  [MI_DOUBLE, 'miDOUBLE'],
  [12, 'miINT64'],
  [13, 'miUINT64'],
  [MI_MATRIX, 'miMATRIX'],
  [MI_COMPRESSED, 'miCOMPRESSED'],
  [16, 'miUTF8'],
  [17, 'miUTF16'],
  [18, 'miUTF32'],
]);

// Array classes (the low byte of the array flags).
const MX_DOUBLE_CLASS = 6;
const MX_UINT8_CLASS = 9;

const CLASS_NAMES = [
  'unknown',
  'cell (mxCELL_CLASS)',
  'struct (mxSTRUCT_CLASS)',
  'object (mxOBJECT_CLASS)',
  'char (mxCHAR_CLASS)',
  'sparse (mxSPARSE_CLASS)',
  'double (mxDOUBLE_CLASS)',
  'single (mxSINGLE_CLASS)',
  'int8 (mxINT8_CLASS)',
  'uint8 (mxUINT8_CLASS)',
  'int16 (mxINT16_CLASS)',
  'uint16 (mxUINT16_CLASS)',
  'int32 (mxINT32_CLASS)',
  'uint32 (mxUINT32_CLASS)',
  'int64 (mxINT64_CLASS)',
  'uint64 (mxUINT64_CLASS)',
];

const FLAG_COMPLEX = 0x0800;
const FLAG_LOGICAL = 0x0200;

function dataTypeName(type: number): string {
  return DATA_TYPE_NAMES.get(type) ?? `unknown data type ${type}`;
}

function className(code: number): string {
  return CLASS_NAMES[code] ?? `unknown class ${code}`;
}

/** Options of parseMatV5. */
export interface ParseMatOptions {
  /** Maximum number of bytes that all miCOMPRESSED elements of the file together may inflate to. Default 2^30 (1 GiB). */
  maxInflatedBytes?: number;
}

const DEFAULT_MAX_INFLATED_BYTES = 2 ** 30;

/** A data element: its type, and where its data lies in the buffer being read. */
interface Element {
  type: number;
  dataStart: number;
  dataBytes: number;
  /** Offset of the next element, after any padding. */
  next: number;
}

/**
 * Bounds-checked view of the file or of one inflated miCOMPRESSED element. Errors inside an
 * inflated element report the offset of the miCOMPRESSED tag in the file and the offset
 * within the inflated data in the message.
 */
class MatBuffer {
  readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly fileName: string,
    readonly littleEndian: boolean,
    /** File offset of the miCOMPRESSED element this buffer was inflated from, if any. */
    readonly compressedAt?: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string, offset: number): never {
    if (this.compressedAt === undefined) throw new FileFormatError(message, this.fileName, offset);
    throw new FileFormatError(
      `${message} (byte ${offset} of the data inflated from the miCOMPRESSED element)`,
      this.fileName,
      this.compressedAt,
    );
  }

  u32(offset: number): number {
    return this.view.getUint32(offset, this.littleEndian);
  }

  /** Reads the tag at `offset` and checks that the element's data fits before `end`. */
  readElement(offset: number, end: number, description: string): Element {
    if (end - offset < TAG_BYTES) {
      this.fail(`${description} is truncated: expected an 8-byte tag, found ${end - offset} bytes`, offset);
    }
    const first = this.u32(offset);
    const smallBytes = first >>> 16;
    if (smallBytes !== 0) {
      if (smallBytes > 4) {
        this.fail(`${description} has a small-element tag with ${smallBytes} data bytes: expected at most 4`, offset);
      }
      return { type: first & 0xffff, dataStart: offset + 4, dataBytes: smallBytes, next: offset + TAG_BYTES };
    }

    const type = first;
    const dataBytes = this.u32(offset + 4);
    const dataStart = offset + TAG_BYTES;
    if (dataBytes > end - dataStart) {
      this.fail(
        `${description} (${dataTypeName(type)}) is truncated: its tag declares ${dataBytes} data bytes, ` +
          `but only ${end - dataStart} remain`,
        offset,
      );
    }
    // Compressed elements are not padded. A missing pad after the last element is tolerated.
    const dataEnd = dataStart + dataBytes;
    const padded = type === MI_COMPRESSED ? dataEnd : dataStart + Math.ceil(dataBytes / 8) * 8;
    return { type, dataStart, dataBytes, next: Math.min(padded, end) };
  }
}

/**
 * Parses a MAT-file held in memory and returns its variables in file order. The data of
 * each variable is a copy and never shares memory with `bytes`.
 * Throws FileFormatError, naming `fileName` and the byte offset, for a wrong header,
 * a truncated or inconsistent element or a failed inflate. It also throws for any variable
 * that is not a real uint8 or double array: cell, struct, char, sparse, complex, logical
 * and the other numeric classes.
 */
export function parseMatV5(bytes: Uint8Array, fileName: string, options: ParseMatOptions = {}): MatArray[] {
  const maxInflatedBytes = options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES;
  if (!Number.isInteger(maxInflatedBytes) || maxInflatedBytes < 0) {
    throw new QnnError(`invalid MAT-file option maxInflatedBytes: expected a non-negative integer, found ${maxInflatedBytes}`);
  }
  const littleEndian = readHeader(bytes, fileName);
  const file = new MatBuffer(bytes, fileName, littleEndian);

  const variables: MatArray[] = [];
  const inflateBudget = { remaining: maxInflatedBytes, limit: maxInflatedBytes };
  let offset = HEADER_BYTES;
  while (offset < bytes.length) {
    const element = file.readElement(offset, bytes.length, 'data element');
    if (element.type === MI_MATRIX) {
      variables.push(readMatrix(file, element, offset));
    } else if (element.type === MI_COMPRESSED) {
      variables.push(readCompressed(file, element, offset, inflateBudget));
    } else {
      file.fail(`unexpected top-level ${dataTypeName(element.type)} element: expected miMATRIX or miCOMPRESSED`, offset);
    }
    offset = element.next;
  }
  return variables;
}

/** Checks the 128-byte header and returns whether the file is little-endian. */
function readHeader(bytes: Uint8Array, fileName: string): boolean {
  if (bytes.length < HEADER_BYTES) {
    throw new FileFormatError(
      `MAT-file header is truncated: expected ${HEADER_BYTES} bytes, found ${bytes.length}`,
      fileName,
      bytes.length,
    );
  }
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, 10));
  if (text !== 'MATLAB 5.0') {
    throw new FileFormatError(
      `not a MATLAB level-5 MAT-file: expected the header text to start with "MATLAB 5.0", found ${JSON.stringify(text)}` +
        ' (MAT-files saved with -v7.3 are HDF5 files and are not supported)',
      fileName,
      0,
    );
  }

  const indicator = String.fromCharCode(bytes[126], bytes[127]);
  if (indicator !== 'IM' && indicator !== 'MI') {
    throw new FileFormatError(
      `invalid MAT-file endian indicator: expected "IM" or "MI", found ${JSON.stringify(indicator)}`,
      fileName,
      126,
    );
  }
  const littleEndian = indicator === 'IM';

  const version = new DataView(bytes.buffer, bytes.byteOffset + 124, 2).getUint16(0, littleEndian);
  if (version !== VERSION) {
    throw new FileFormatError(
      `unsupported MAT-file version 0x${version.toString(16).padStart(4, '0')}: expected 0x0100`,
      fileName,
      124,
    );
  }
  return littleEndian;
}

/** Bytes that the miCOMPRESSED elements still to come may inflate to, out of `limit` for the file. */
interface InflateBudget {
  remaining: number;
  limit: number;
}

function readCompressed(file: MatBuffer, element: Element, offset: number, budget: InflateBudget): MatArray {
  // The inflated size is unknown until inflation ends, and deflate reaches ratios near
  // 1000:1, so the output is capped rather than trusted. The real SVHN train_32x32.mat X
  // inflates to about 225 MB, under the default cap.
  const overBudget = `the compressed elements inflate to more than maxInflatedBytes = ${budget.limit} bytes in all; pass a larger maxInflatedBytes to parseMatV5 if the file is trusted`;
  if (budget.remaining < 1) file.fail(`zlib inflate of miCOMPRESSED element failed: ${overBudget}`, offset);
  let inflated: Uint8Array;
  try {
    const compressed = file.bytes.subarray(element.dataStart, element.dataStart + element.dataBytes);
    inflated = inflateSync(compressed, { maxOutputLength: Math.min(budget.remaining, constants.MAX_LENGTH) });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === 'ERR_BUFFER_TOO_LARGE' ? overBudget : error instanceof Error ? error.message : String(error);
    file.fail(`zlib inflate of miCOMPRESSED element failed: ${reason}`, offset);
  }
  budget.remaining -= inflated.length;

  const inner = new MatBuffer(inflated, file.fileName, file.littleEndian, offset);
  const matrix = inner.readElement(0, inflated.length, 'compressed data element');
  if (matrix.type !== MI_MATRIX) {
    inner.fail(`miCOMPRESSED element holds ${dataTypeName(matrix.type)}: expected miMATRIX`, 0);
  }
  return readMatrix(inner, matrix, offset);
}

/**
 * Reads the subelements of one miMATRIX element: array flags, dimensions, name, real part.
 * `fileOffset` is the file offset of the top-level element, stored in the result.
 */
function readMatrix(buffer: MatBuffer, matrix: Element, fileOffset: number): MatArray {
  const end = matrix.dataStart + matrix.dataBytes;

  // Array flags: class in the low byte of the first word, flag bits above it.
  const flags = buffer.readElement(matrix.dataStart, end, 'array flags');
  if (flags.type !== MI_UINT32 || flags.dataBytes !== 8) {
    buffer.fail(
      `array flags must be miUINT32 with 8 bytes, found ${dataTypeName(flags.type)} with ${flags.dataBytes} bytes`,
      matrix.dataStart,
    );
  }
  const flagWord = buffer.u32(flags.dataStart);
  const classCode = flagWord & 0xff;

  // Dimensions.
  const dimsElement = buffer.readElement(flags.next, end, 'dimensions');
  if (dimsElement.type !== MI_INT32 || dimsElement.dataBytes % 4 !== 0 || dimsElement.dataBytes < 8) {
    buffer.fail(
      `dimensions must be miINT32 with at least 2 entries, found ${dataTypeName(dimsElement.type)} ` +
        `with ${dimsElement.dataBytes} bytes`,
      flags.next,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < dimsElement.dataBytes / 4; i++) {
    const size = buffer.view.getInt32(dimsElement.dataStart + 4 * i, buffer.littleEndian);
    if (size < 0) buffer.fail(`dimension ${i} is negative: ${size}`, dimsElement.dataStart + 4 * i);
    dims.push(size);
  }

  // Name, as miINT8 characters (ASCII in practice).
  const nameElement = buffer.readElement(dimsElement.next, end, 'array name');
  if (nameElement.type !== MI_INT8) {
    buffer.fail(`array name must be miINT8, found ${dataTypeName(nameElement.type)}`, dimsElement.next);
  }
  const name = new TextDecoder('latin1').decode(
    buffer.bytes.subarray(nameElement.dataStart, nameElement.dataStart + nameElement.dataBytes),
  );

  if (classCode !== MX_UINT8_CLASS && classCode !== MX_DOUBLE_CLASS) {
    buffer.fail(
      `variable "${name}" has class ${className(classCode)}: only real uint8 and double arrays are supported`,
      matrix.dataStart,
    );
  }
  if ((flagWord & FLAG_COMPLEX) !== 0 || (flagWord & FLAG_LOGICAL) !== 0) {
    const kind = (flagWord & FLAG_COMPLEX) !== 0 ? 'complex' : 'logical';
    buffer.fail(
      `variable "${name}" is a ${kind} ${className(classCode)} array: only real uint8 and double arrays are supported`,
      matrix.dataStart,
    );
  }

  // Real part. The element count may exceed 2^53 only for dimensions whose byte size also
  // exceeds the remaining bytes, so the size check below still rejects it.
  const realOffset = nameElement.next;
  const real = buffer.readElement(realOffset, end, `real part of "${name}"`);
  // A zero dimension is taken first, because 0 * Infinity (from many large dimensions) is NaN.
  const elementCount = dims.includes(0) ? 0 : dims.reduce((product, size) => product * size, 1);
  const storageBytes = NUMERIC_TYPE_BYTES.get(real.type);
  if (storageBytes === undefined || (classCode === MX_UINT8_CLASS && real.type !== MI_UINT8)) {
    buffer.fail(
      `real part of "${name}" (${className(classCode)}) is stored as ${dataTypeName(real.type)}, which this reader does not support`,
      realOffset,
    );
  }
  if (real.dataBytes !== elementCount * storageBytes) {
    buffer.fail(
      `real part of "${name}" has ${real.dataBytes} bytes: expected ${elementCount * storageBytes} ` +
        `for dimensions [${dims.join(', ')}] of ${dataTypeName(real.type)}`,
      realOffset,
    );
  }

  if (classCode === MX_UINT8_CLASS) {
    // Data inflated from an miCOMPRESSED element is private to this parse, so it is not copied again.
    const realBytes = buffer.bytes.subarray(real.dataStart, real.dataStart + real.dataBytes);
    const data = buffer.compressedAt === undefined ? realBytes.slice() : realBytes;
    return { name, dims, offset: fileOffset, class: 'uint8', data };
  }
  const data = readAsFloat64(buffer, real.type, real.dataStart, elementCount);
  return { name, dims, offset: fileOffset, class: 'double', data };
}

/** Converts `count` elements of numeric data type `type` at `start` to float64. */
function readAsFloat64(buffer: MatBuffer, type: number, start: number, count: number): Float64Array {
  const { view, littleEndian } = buffer;
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    switch (type) {
      case MI_INT8:
        data[i] = view.getInt8(start + i);
        break;
      case MI_UINT8:
        data[i] = view.getUint8(start + i);
        break;
      case MI_INT16:
        data[i] = view.getInt16(start + 2 * i, littleEndian);
        break;
      case MI_UINT16:
        data[i] = view.getUint16(start + 2 * i, littleEndian);
        break;
      case MI_INT32:
        data[i] = view.getInt32(start + 4 * i, littleEndian);
        break;
      case MI_UINT32:
        data[i] = view.getUint32(start + 4 * i, littleEndian);
        break;
      case MI_SINGLE:
        data[i] = view.getFloat32(start + 4 * i, littleEndian);
        break;
      default:
        data[i] = view.getFloat64(start + 8 * i, littleEndian);
    }
  }
  return data;
}

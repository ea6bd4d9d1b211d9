/**
 * Reader for IDX, the file format of the MNIST data set:
 *   bytes 0-1  zero
 *   byte  2    element type (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)
 *   byte  3    number of dimensions D
 *   4 * D      dimension sizes, big-endian u32
 *   rest       elements in row-major order, big-endian
 */
import { constants } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

import { FileFormatError, QnnError } from '../errors.js';

/** Name of an IDX element type, after the typed array that stores it. */
export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

interface IdxDataByType {
  uint8: Uint8Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  float32: Float32Array;
  float64: Float64Array;
}

/** A parsed IDX file: element type, shape and the elements in row-major order. */
export type IdxTensor = {
  [T in IdxType]: { type: T; shape: number[]; data: IdxDataByType[T] };
}[IdxType];

interface IdxTypeInfo {
  type: IdxType;
  bytesPerElement: number;
}

const TYPE_BY_CODE = new Map<number, IdxTypeInfo>([
  [0x08, { type: 'uint8', bytesPerElement: 1 }],
  [0x09, { type: 'int8', bytesPerElement: 1 }],
  [0x0b, { type: 'int16', bytesPerElement: 2 }],
  [0x0c, { type: 'int32', bytesPerElement: 4 }],
  [0x0d, { type: 'float32', bytesPerElement: 4 }],
  [0x0e, { type: 'float64', bytesPerElement: 8 }],
]);

/** Size of the fixed part of the header: two zero bytes, the type code and the dimension count. */
const FIXED_HEADER_BYTES = 4;

function hexByte(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}

/**
 * Parses an IDX file held in memory. The returned data is a copy and never shares
 * memory with `bytes`. Throws FileFormatError, naming `fileName` and the byte offset,
 * for a wrong magic, an unknown type code, zero dimensions, a truncated header,
 * too little data for the shape, or bytes after the data.
 */
export function parseIdx(bytes: Uint8Array, fileName: string): IdxTensor {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  // Magic and fixed header.
  for (let i = 0; i < 2 && i < bytes.length; i++) {
    if (bytes[i] !== 0) {
      const found = Array.from(bytes.subarray(0, 2), hexByte).join(' ');
      throw new FileFormatError(
        `not an IDX file: expected the magic bytes 0x00 0x00, found ${found}`,
        fileName,
        i,
      );
    }
  }
  if (bytes.length < FIXED_HEADER_BYTES) {
    throw new FileFormatError(
      `IDX header is truncated: expected at least ${FIXED_HEADER_BYTES} bytes, found ${bytes.length}`,
      fileName,
      bytes.length,
    );
  }

  const typeCode = bytes[2];
  const typeInfo = TYPE_BY_CODE.get(typeCode);
  if (typeInfo === undefined) {
    const known = Array.from(TYPE_BY_CODE, ([code, info]) => `${hexByte(code)} ${info.type}`).join(', ');
    throw new FileFormatError(
      `unknown IDX type code: expected one of ${known}, found ${hexByte(typeCode)}`,
      fileName,
      2,
    );
  }

  const rank = bytes[3];
  if (rank === 0) {
    throw new FileFormatError('IDX dimension count is 0: expected at least 1 dimension', fileName, 3);
  }

  // Dimension sizes.
  const headerBytes = FIXED_HEADER_BYTES + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new FileFormatError(
      `IDX header is truncated: expected ${headerBytes} bytes for ${rank} dimensions, found ${bytes.length}`,
      fileName,
      bytes.length,
    );
  }
  const shape: number[] = [];
  for (let d = 0; d < rank; d++) shape.push(view.getUint32(FIXED_HEADER_BYTES + 4 * d, false));

  // Data size, checked before allocating. The product of up to 255 u32 sizes may exceed
  // 2^53 and lose precision, or overflow to Infinity, but it then also exceeds any real
  // file length, so the comparisons below still reject it. A zero size is taken first,
  // because 0 * Infinity is NaN, which every comparison would let through.
  const elementCount = shape.includes(0) ? 0 : shape.reduce((product, size) => product * size, 1);
  const expectedDataBytes = elementCount * typeInfo.bytesPerElement;
  const foundDataBytes = bytes.length - headerBytes;
  if (foundDataBytes < expectedDataBytes) {
    throw new FileFormatError(
      `IDX data is truncated: shape [${shape.join(', ')}] of ${typeInfo.type} needs ${expectedDataBytes} bytes, ` +
        `found ${foundDataBytes}`,
      fileName,
      bytes.length,
    );
  }
  if (foundDataBytes > expectedDataBytes) {
    throw new FileFormatError(
      `IDX file has ${foundDataBytes - expectedDataBytes} trailing bytes after the data: ` +
        `expected ${headerBytes + expectedDataBytes} bytes in all for shape [${shape.join(', ')}] of ${typeInfo.type}, ` +
        `found ${bytes.length}`,
      fileName,
      headerBytes + expectedDataBytes,
    );
  }

  return readElements(view, headerBytes, elementCount, typeInfo.type, shape);
}

/** Copies `count` big-endian elements starting at `offset` into a new typed array. */
function readElements(view: DataView, offset: number, count: number, type: IdxType, shape: number[]): IdxTensor {
  switch (type) {
    case 'uint8':
      return { type, shape, data: new Uint8Array(view.buffer, view.byteOffset + offset, count).slice() };
    case 'int8':
      return { type, shape, data: new Int8Array(view.buffer, view.byteOffset + offset, count).slice() };
    case 'int16': {
      const data = new Int16Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(offset + 2 * i, false);
      return { type, shape, data };
    }
    case 'int32': {
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(offset + 4 * i, false);
      return { type, shape, data };
    }
    case 'float32': {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, false);
      return { type, shape, data };
    }
    case 'float64': {
      const data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(offset + 8 * i, false);
      return { type, shape, data };
    }
  }
}

/** Options of readIdxFile. */
export interface ReadIdxOptions {
  /** Maximum number of bytes a `.gz` file may decompress to. Default 2^30 (1 GiB), about 20 times the MNIST training images file. */
  maxInflatedBytes?: number;
}

const DEFAULT_MAX_INFLATED_BYTES = 2 ** 30;

/**
 * Reads and parses an IDX file. A path ending in `.gz` is gunzipped first, and byte
 * offsets in errors then count in the decompressed data. A file that cannot be read
 * raises a QnnError with the system's reason.
 */
export async function readIdxFile(path: string, options: ReadIdxOptions = {}): Promise<IdxTensor> {
  const maxInflatedBytes = options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES;
  if (!Number.isInteger(maxInflatedBytes) || maxInflatedBytes < 1) {
    throw new QnnError(`invalid IDX option maxInflatedBytes: expected a positive integer, found ${maxInflatedBytes}`);
  }

  let raw: Uint8Array;
  try {
    raw = await readFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new QnnError(`cannot read IDX file ${path}: ${reason}`);
  }
  if (!path.endsWith('.gz')) return parseIdx(raw, path);

  // A gzip stream can expand about 1000-fold, so the output is capped rather than trusted.
  let bytes: Uint8Array;
  try {
    bytes = gunzipSync(raw, { maxOutputLength: Math.min(maxInflatedBytes, constants.MAX_LENGTH) });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason =
      code === 'ERR_BUFFER_TOO_LARGE'
        ? `the data decompresses to more than maxInflatedBytes = ${maxInflatedBytes} bytes; pass a larger maxInflatedBytes if the file is trusted`
        : error instanceof Error
          ? error.message
          : String(error);
    throw new FileFormatError(`gzip decompression failed: ${reason}`, path);
  }
  return parseIdx(bytes, path);
}

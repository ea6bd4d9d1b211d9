/**
 * The byte layout of a training checkpoint (docs/checkpoint-format.md):
 *   magic "QNNCKPT\0" | u32 version | u32 header length H | H bytes of UTF-8 JSON |
 *   zero padding to a multiple of 4 | array payload | u32 CRC-32 of all bytes before it
 * All integers and array elements are little-endian. The JSON header lists
 * every array's dtype, byte offset inside the payload and element count; the
 * decoder checks each against the payload size before it copies anything, so
 * a corrupt or hostile file fails with a FileFormatError naming the field.
 */
import { FileFormatError } from '../errors.js';
import { crc32 } from '../format/crc32.js';

export const CHECKPOINT_MAGIC = 'QNNCKPT\0';
export const CHECKPOINT_VERSION = 1;

/** A JSON header is metadata (names, shapes, counters); anything larger is not a checkpoint this code wrote. */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

export type ArrayDtype = 'float32' | 'int32';

export interface ArrayEntry {
  dtype: ArrayDtype;
  /** Byte offset from the start of the payload, a multiple of 4. */
  offset: number;
  /** Element count. */
  length: number;
}

/** Collects typed arrays into one payload while the caller builds the JSON header that refers to them by index. */
export class ArrayWriter {
  readonly entries: ArrayEntry[] = [];
  private readonly arrays: (Float32Array | Int32Array)[] = [];
  private bytes = 0;

  add(values: Float32Array | Int32Array): number {
    const dtype: ArrayDtype = values instanceof Float32Array ? 'float32' : 'int32';
    this.entries.push({ dtype, offset: this.bytes, length: values.length });
    this.arrays.push(values);
    this.bytes += 4 * values.length;
    return this.entries.length - 1;
  }

  /** Lays out magic, version, header, payload and CRC. */
  encode(header: Record<string, unknown>): Uint8Array {
    const json = new TextEncoder().encode(JSON.stringify({ ...header, arrays: this.entries }));
    const payloadStart = align4(16 + json.length);
    const total = payloadStart + this.bytes + 4;
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);

    for (let i = 0; i < 8; i++) out[i] = CHECKPOINT_MAGIC.charCodeAt(i);
    view.setUint32(8, CHECKPOINT_VERSION, true);
    view.setUint32(12, json.length, true);
    out.set(json, 16);

    this.arrays.forEach((values, i) => writeArray(view, payloadStart + this.entries[i].offset, values));
    view.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
    return out;
  }
}

/** The parsed header and a reader that copies arrays out of the payload by index, after bounds checks. */
export interface DecodedContainer {
  header: Record<string, unknown>;
  array(index: unknown, field: string, dtype: ArrayDtype, expectedLength?: number): Float32Array | Int32Array;
}

/** Checks magic, version, sizes and CRC, and parses the JSON header. */
export function decodeContainer(bytes: Uint8Array, source: string): DecodedContainer {
  if (bytes.length < 20) throw new FileFormatError(`is ${bytes.length} bytes long, too short for a checkpoint (at least 20)`, source);
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== CHECKPOINT_MAGIC.charCodeAt(i)) throw new FileFormatError('does not start with the checkpoint magic "QNNCKPT\\0"; it is not a QNN checkpoint', source, 0);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) throw new FileFormatError(`checkpoint version is ${version}; this SDK reads version ${CHECKPOINT_VERSION}`, source, 8);
  const headerLength = view.getUint32(12, true);
  if (headerLength > MAX_HEADER_BYTES || 16 + headerLength + 4 > bytes.length) {
    throw new FileFormatError(`header length ${headerLength} does not fit in a file of ${bytes.length} bytes`, source, 12);
  }

  const storedCrc = view.getUint32(bytes.length - 4, true);
  const actualCrc = crc32(bytes.subarray(0, bytes.length - 4));
  if (storedCrc !== actualCrc) {
    throw new FileFormatError(`CRC-32 mismatch (stored ${hex(storedCrc)}, computed ${hex(actualCrc)}); the file is truncated or corrupt, so resume from an older checkpoint`, source, bytes.length - 4);
  }

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + headerLength)));
  } catch (error) {
    throw new FileFormatError(`header is not valid UTF-8 JSON: ${error instanceof Error ? error.message : String(error)}`, source, 16);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new FileFormatError('header is not a JSON object', source, 16);

  const payloadStart = align4(16 + headerLength);
  const payloadLength = bytes.length - 4 - payloadStart;
  if (payloadLength < 0) throw new FileFormatError('the file ends inside the header padding', source, 16 + headerLength);
  const entries = (header as Record<string, unknown>).arrays;
  if (!Array.isArray(entries)) throw new FileFormatError('header field "arrays" is missing or not a list', source, 16);

  // Each array is copied out once, so a header that names one array from many fields could make a small file decode
  // to an unbounded size; every array may therefore be named once, which bounds the decoded bytes by the file size.
  const claimedBy = new Map<number, string>();

  return {
    header: header as Record<string, unknown>,
    array(index, field, dtype, expectedLength) {
      if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= entries.length) {
        throw new FileFormatError(`${field} refers to array ${String(index)}, but the file lists ${entries.length} arrays`, source);
      }
      const earlierField = claimedBy.get(index as number);
      if (earlierField !== undefined) {
        throw new FileFormatError(`${field} refers to array ${String(index)}, which ${earlierField} already uses; each array may be named once`, source);
      }
      claimedBy.set(index as number, field);
      const entry = entries[index as number] as Partial<ArrayEntry> | null;
      const where = `${field} (array ${String(index)})`;
      if (entry === null || typeof entry !== 'object') throw new FileFormatError(`${where} has no dtype, offset and length`, source);
      if (entry.dtype !== dtype) throw new FileFormatError(`${where} has dtype ${String(entry.dtype)}, expected ${dtype}`, source);
      const { offset, length } = entry;
      if (!isCount(offset) || offset % 4 !== 0) throw new FileFormatError(`${where} has offset ${String(offset)}; expected a non-negative multiple of 4`, source);
      if (!isCount(length)) throw new FileFormatError(`${where} has length ${String(length)}; expected a non-negative integer`, source);
      if (offset + 4 * length > payloadLength) {
        throw new FileFormatError(`${where} needs bytes ${offset} to ${offset + 4 * length} of a payload of ${payloadLength} bytes`, source, payloadStart + offset);
      }
      if (expectedLength !== undefined && length !== expectedLength) {
        throw new FileFormatError(`${where} has ${length} elements, expected ${expectedLength}`, source, payloadStart + offset);
      }
      return readArray(view, payloadStart + offset, length, dtype);
    },
  };
}

/** Little-endian hosts (all mainstream ones) copy arrays as bytes; others go element by element through a DataView. */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeArray(view: DataView, at: number, values: Float32Array | Int32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(view.buffer, view.byteOffset + at, values.byteLength).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return;
  }
  if (values instanceof Float32Array) for (let i = 0; i < values.length; i++) view.setFloat32(at + 4 * i, values[i], true);
  else for (let i = 0; i < values.length; i++) view.setInt32(at + 4 * i, values[i], true);
}

function readArray(view: DataView, at: number, length: number, dtype: ArrayDtype): Float32Array | Int32Array {
  if (LITTLE_ENDIAN_HOST) {
    // A copy of the bytes, so the array owns aligned memory and does not keep the whole file alive.
    const copy = new Uint8Array(view.buffer, view.byteOffset + at, 4 * length).slice();
    return dtype === 'float32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
  }
  if (dtype === 'float32') {
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = view.getFloat32(at + 4 * i, true);
    return out;
  }
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) out[i] = view.getInt32(at + 4 * i, true);
  return out;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

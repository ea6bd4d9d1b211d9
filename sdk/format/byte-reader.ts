import { FileFormatError } from '../errors.js';

/**
 * Little-endian reader over an untrusted byte range [start, end). Every read checks
 * the bytes that remain before it allocates or reads, and every failure is a
 * FileFormatError naming the file, the field and the byte offset.
 */
export class ByteReader {
  private readonly view: DataView;
  offset: number;

  constructor(
    bytes: Uint8Array,
    readonly fileName: string,
    start: number,
    /** First byte after the readable range. */
    readonly end: number,
    /** Description of the bytes at `end` for truncation messages, e.g. 'the checksum'. */
    private readonly endName: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = start;
  }

  /** Throws a FileFormatError at `offset`, by default the current read position. */
  fail(message: string, offset = this.offset): never {
    throw new FileFormatError(message, this.fileName, offset);
  }

  /** Throws unless `byteCount` bytes remain before the end of the range. */
  require(byteCount: number, field: string): void {
    const remaining = this.end - this.offset;
    if (byteCount > remaining) {
      this.fail(`${field} is truncated: expected ${byteCount} bytes, found ${remaining} before ${this.endName} at byte ${this.end}`);
    }
  }

  u8(field: string): number {
    this.require(1, field);
    const value = this.view.getUint8(this.offset);
    this.offset += 1;
    return value;
  }

  u32(field: string): number {
    this.require(4, field);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  i32(field: string): number {
    this.require(4, field);
    const value = this.view.getInt32(this.offset, true);
    this.offset += 4;
    return value;
  }

  /** Returns the byte at `offset` without moving the read position; the caller checks that it is in range. */
  peekU8(offset: number): number {
    return this.view.getUint8(offset);
  }

  f64(field: string): number {
    this.require(8, field);
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }

  uint32Array(count: number, field: string): Uint32Array {
    this.require(4 * count, field);
    const values = new Uint32Array(count);
    for (let i = 0; i < count; i++) values[i] = this.view.getUint32(this.offset + 4 * i, true);
    this.offset += 4 * count;
    return values;
  }

  int32Array(count: number, field: string): Int32Array {
    this.require(4 * count, field);
    const values = new Int32Array(count);
    for (let i = 0; i < count; i++) values[i] = this.view.getInt32(this.offset + 4 * i, true);
    this.offset += 4 * count;
    return values;
  }

  int8Array(count: number, field: string): Int8Array {
    this.require(count, field);
    const values = new Int8Array(count);
    for (let i = 0; i < count; i++) values[i] = this.view.getInt8(this.offset + i);
    this.offset += count;
    return values;
  }

  float32Array(count: number, field: string): Float32Array {
    this.require(4 * count, field);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = this.view.getFloat32(this.offset + 4 * i, true);
    this.offset += 4 * count;
    return values;
  }
}

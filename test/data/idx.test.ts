import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { parseIdx, readIdxFile } from '../../sdk/data/idx.js';
import { FileFormatError } from '../../sdk/errors.js';

/** Builds an IDX file: zero magic, type code, dimension count, big-endian sizes, then `data` as given. */
function buildIdx(typeCode: number, shape: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  const view = new DataView(header.buffer);
  header[2] = typeCode;
  header[3] = shape.length;
  shape.forEach((size, d) => view.setUint32(4 + 4 * d, size, false));

  const bytes = new Uint8Array(header.length + data.length);
  bytes.set(header, 0);
  bytes.set(data, header.length);
  return bytes;
}

type ElementWriter = (view: DataView, offset: number, value: number) => void;

const writeInt16: ElementWriter = (view, offset, value) => view.setInt16(offset, value, false);
const writeInt32: ElementWriter = (view, offset, value) => view.setInt32(offset, value, false);
const writeFloat32: ElementWriter = (view, offset, value) => view.setFloat32(offset, value, false);
const writeFloat64: ElementWriter = (view, offset, value) => view.setFloat64(offset, value, false);

/** Encodes `values` big-endian at `size` bytes per element with `write`. */
function encodeBigEndian(values: number[], size: number, write: ElementWriter): Uint8Array {
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => write(view, i * size, value));
  return bytes;
}

/** Asserts that `run` throws a FileFormatError for `file` at `offset` whose message matches `pattern`. */
function assertFormatError(run: () => unknown, file: string, offset: number | undefined, pattern: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.equal(error.offset, offset);
    assert.match(error.message, pattern);
    assert.ok(error.message.includes(file), `message does not name the file: ${error.message}`);
    return true;
  });
}

const tempDir = mkdtempSync(join(tmpdir(), 'qnn-idx-test-'));
after(() => rmSync(tempDir, { recursive: true, force: true }));

describe('parseIdx', () => {
  test('uint8 three dimensions', () => {
    const pixels = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 10);
    const parsed = parseIdx(buildIdx(0x08, [2, 3, 4], pixels), 'images.idx');

    assert.equal(parsed.type, 'uint8');
    assert.deepEqual(parsed.shape, [2, 3, 4]);
    assert.ok(parsed.data instanceof Uint8Array);
    assert.deepEqual(Array.from(parsed.data), Array.from(pixels));
  });

  test('data is a copy of the input', () => {
    const bytes = buildIdx(0x08, [2], Uint8Array.of(7, 9));
    const parsed = parseIdx(bytes, 'copy.idx');
    bytes[8] = 1;

    assert.equal(parsed.data[0], 7);
  });

  test('input at nonzero byte offset', () => {
    const file = buildIdx(0x0b, [2], encodeBigEndian([-2, 300], 2, writeInt16));
    const padded = new Uint8Array(file.length + 3);
    padded.set(file, 3);
    const parsed = parseIdx(padded.subarray(3), 'shifted.idx');

    assert.equal(parsed.type, 'int16');
    assert.deepEqual(Array.from(parsed.data), [-2, 300]);
  });

  test('int8 big-endian values', () => {
    const parsed = parseIdx(buildIdx(0x09, [3], Uint8Array.of(0x80, 0xff, 0x7f)), 'i8.idx');

    assert.equal(parsed.type, 'int8');
    assert.ok(parsed.data instanceof Int8Array);
    assert.deepEqual(Array.from(parsed.data), [-128, -1, 127]);
  });

  test('int16 big-endian values', () => {
    const values = [-32768, -1, 0, 258, 32767];
    const data = encodeBigEndian(values, 2, writeInt16);
    const parsed = parseIdx(buildIdx(0x0b, [5], data), 'i16.idx');

    assert.equal(parsed.type, 'int16');
    assert.ok(parsed.data instanceof Int16Array);
    assert.deepEqual(Array.from(parsed.data), values);
    // 258 = 0x0102 is stored most significant byte first.
    assert.equal(data[6], 0x01);
    assert.equal(data[7], 0x02);
  });

  test('int32 big-endian values', () => {
    const values = [-2147483648, -5, 0, 16909060, 2147483647, 7];
    const data = encodeBigEndian(values, 4, writeInt32);
    const parsed = parseIdx(buildIdx(0x0c, [2, 3], data), 'i32.idx');

    assert.equal(parsed.type, 'int32');
    assert.deepEqual(parsed.shape, [2, 3]);
    assert.ok(parsed.data instanceof Int32Array);
    assert.deepEqual(Array.from(parsed.data), values);
  });

  test('float32 big-endian values', () => {
    const values = [0.5, -1.25, 3e-7, -0];
    const data = encodeBigEndian(values, 4, writeFloat32);
    const parsed = parseIdx(buildIdx(0x0d, [4], data), 'f32.idx');

    assert.equal(parsed.type, 'float32');
    assert.ok(parsed.data instanceof Float32Array);
    assert.deepEqual(Array.from(parsed.data), values.map(Math.fround));
    assert.ok(Object.is(parsed.data[3], -0));
  });

  test('float64 big-endian values', () => {
    const values = [Math.PI, -1e300, 0.1];
    const data = encodeBigEndian(values, 8, writeFloat64);
    const parsed = parseIdx(buildIdx(0x0e, [3, 1], data), 'f64.idx');

    assert.equal(parsed.type, 'float64');
    assert.ok(parsed.data instanceof Float64Array);
    assert.deepEqual(Array.from(parsed.data), values);
  });

  test('dimension of size zero', () => {
    const parsed = parseIdx(buildIdx(0x08, [0, 28, 28], new Uint8Array(0)), 'empty.idx');

    assert.deepEqual(parsed.shape, [0, 28, 28]);
    assert.equal(parsed.data.length, 0);
  });

  test('wrong magic', () => {
    const bytes = buildIdx(0x08, [1], Uint8Array.of(1));
    bytes[0] = 0x50;
    bytes[1] = 0x4b;

    assertFormatError(() => parseIdx(bytes, 'archive.zip'), 'archive.zip', 0, /not an IDX file.*0x00 0x00.*found 0x50 0x4b/);
  });

  test('wrong second magic byte', () => {
    const bytes = buildIdx(0x08, [1], Uint8Array.of(1));
    bytes[1] = 0x01;

    assertFormatError(() => parseIdx(bytes, 'odd.idx'), 'odd.idx', 1, /not an IDX file.*found 0x00 0x01/);
  });

  test('unknown type code', () => {
    const bytes = buildIdx(0x0a, [1], Uint8Array.of(1));

    assertFormatError(() => parseIdx(bytes, 'type.idx'), 'type.idx', 2, /unknown IDX type code.*0x08 uint8.*found 0x0a/);
  });

  test('zero dimensions', () => {
    const bytes = Uint8Array.of(0, 0, 0x08, 0, 5);

    assertFormatError(() => parseIdx(bytes, 'rank0.idx'), 'rank0.idx', 3, /dimension count is 0/);
  });

  test('fixed header truncated', () => {
    assertFormatError(() => parseIdx(Uint8Array.of(0, 0, 0x08), 'short.idx'), 'short.idx', 3, /header is truncated.*at least 4 bytes, found 3/);
    assertFormatError(() => parseIdx(new Uint8Array(0), 'empty.idx'), 'empty.idx', 0, /header is truncated.*found 0/);
  });

  test('dimension sizes truncated', () => {
    const bytes = buildIdx(0x08, [2, 2, 2], new Uint8Array(8)).subarray(0, 10);

    assertFormatError(() => parseIdx(bytes, 'dims.idx'), 'dims.idx', 10, /header is truncated: expected 16 bytes for 3 dimensions, found 10/);
  });

  test('data shorter than shape', () => {
    const bytes = buildIdx(0x0c, [2, 3], new Uint8Array(20));

    assertFormatError(() => parseIdx(bytes, 'short-data.idx'), 'short-data.idx', 32, /data is truncated.*\[2, 3\] of int32 needs 24 bytes, found 20/);
  });

  test('huge shape rejected before allocating', () => {
    const bytes = buildIdx(0x0e, [0xffffffff, 0xffffffff, 0xffffffff], new Uint8Array(16));

    assertFormatError(() => parseIdx(bytes, 'huge.idx'), 'huge.idx', bytes.length, /data is truncated.*found 16/);
  });

  test('trailing bytes', () => {
    const bytes = buildIdx(0x08, [2, 2], new Uint8Array(7));

    assertFormatError(() => parseIdx(bytes, 'long.idx'), 'long.idx', 16, /3 trailing bytes.*expected 16 bytes in all.*found 19/);
  });
});

describe('readIdxFile', () => {
  test('plain file', async () => {
    const path = join(tempDir, 'labels-idx1-ubyte');
    writeFileSync(path, buildIdx(0x08, [4], Uint8Array.of(3, 1, 4, 1)));
    const parsed = await readIdxFile(path);

    assert.equal(parsed.type, 'uint8');
    assert.deepEqual(parsed.shape, [4]);
    assert.deepEqual(Array.from(parsed.data), [3, 1, 4, 1]);
  });

  test('gzip file', async () => {
    const path = join(tempDir, 'values-idx1-i16.gz');
    const data = encodeBigEndian([-7, 1000], 2, writeInt16);
    writeFileSync(path, gzipSync(buildIdx(0x0b, [2], data)));
    const parsed = await readIdxFile(path);

    assert.equal(parsed.type, 'int16');
    assert.deepEqual(Array.from(parsed.data), [-7, 1000]);
  });

  test('error names the path', async () => {
    const path = join(tempDir, 'bad-magic-idx1-ubyte');
    writeFileSync(path, Uint8Array.of(1, 2, 3, 4));

    await assert.rejects(readIdxFile(path), (error: unknown) => {
      assert.ok(error instanceof FileFormatError);
      assert.equal(error.file, path);
      assert.match(error.message, /not an IDX file/);
      return true;
    });
  });

  test('invalid gzip data', async () => {
    const path = join(tempDir, 'broken.gz');
    writeFileSync(path, Uint8Array.of(0x1f, 0x8b, 1, 2, 3));

    await assert.rejects(readIdxFile(path), (error: unknown) => {
      assert.ok(error instanceof FileFormatError);
      assert.equal(error.file, path);
      assert.match(error.message, /gzip decompression failed/);
      return true;
    });
  });
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';

import { parseMatV5 } from '../../sdk/data/mat-v5.js';
import { loadSvhn } from '../../sdk/data/svhn.js';
import { FileFormatError, QnnError } from '../../sdk/errors.js';

const IMAGE = 3072;

// MAT-file data types and array classes used by the generators.
const MI_INT8 = 1;
const MI_UINT8 = 2;
const MI_INT16 = 3;
const MI_INT32 = 5;
const MI_UINT32 = 6;
const MI_DOUBLE = 9;
const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
const MX_CHAR = 4;
const MX_DOUBLE = 6;
const MX_UINT8 = 9;
const MX_INT16 = 10;

function concat(parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/** Builds the 128-byte MAT-file header. */
function buildHeader(littleEndian = true, text = 'MATLAB 5.0 MAT-file, written by the qnn tests', version = 0x0100): Uint8Array {
  const header = new Uint8Array(128).fill(0x20);
  header.set(new TextEncoder().encode(text), 0);
  new DataView(header.buffer).setUint16(124, version, littleEndian);
  header.set(new TextEncoder().encode(littleEndian ? 'IM' : 'MI'), 126);
  return header;
}

/** Builds a data element: the small 4-byte form when `data` fits in 4 bytes and `small` is set, else an 8-byte tag and padding. */
function buildElement(type: number, data: Uint8Array, littleEndian = true, small = true): Uint8Array {
  if (small && data.length <= 4) {
    const element = new Uint8Array(8);
    new DataView(element.buffer).setUint32(0, (data.length << 16) | type, littleEndian);
    element.set(data, 4);
    return element;
  }
  const element = new Uint8Array(8 + Math.ceil(data.length / 8) * 8);
  const view = new DataView(element.buffer);
  view.setUint32(0, type, littleEndian);
  view.setUint32(4, data.length, littleEndian);
  element.set(data, 8);
  return element;
}

function encodeWords(values: number[], write: (view: DataView, offset: number, value: number) => void, size: number): Uint8Array {
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => write(view, i * size, value));
  return bytes;
}

interface MatrixSpec {
  name: string;
  classCode: number;
  dims: number[];
  realType: number;
  real: Uint8Array;
  flagBits?: number;
}

/** Builds an miMATRIX element: array flags, dimensions, name and real part. */
function buildMatrix(spec: MatrixSpec, littleEndian = true): Uint8Array {
  const flags = encodeWords([spec.classCode | (spec.flagBits ?? 0), 0], (v, o, x) => v.setUint32(o, x, littleEndian), 4);
  const dims = encodeWords(spec.dims, (v, o, x) => v.setInt32(o, x, littleEndian), 4);
  const body = concat([
    buildElement(MI_UINT32, flags, littleEndian),
    buildElement(MI_INT32, dims, littleEndian),
    buildElement(MI_INT8, new TextEncoder().encode(spec.name), littleEndian),
    buildElement(spec.realType, spec.real, littleEndian, false),
  ]);
  return buildElement(MI_MATRIX, body, littleEndian, false);
}

/** Wraps an element in an miCOMPRESSED element, which is not padded. */
function compress(element: Uint8Array): Uint8Array {
  const deflated = deflateSync(element);
  const compressed = new Uint8Array(8 + deflated.length);
  const view = new DataView(compressed.buffer);
  view.setUint32(0, MI_COMPRESSED, true);
  view.setUint32(4, deflated.length, true);
  compressed.set(deflated, 8);
  return compressed;
}

/**
 * Pixel value of channel c at row y, column x of the image with id `image`. The weights
 * differ for y and x and per channel, so a transposed or planar read gives other values.
 */
function pixel(image: number, y: number, x: number, c: number): number {
  return (image * 37 + c * 101 + y * 7 + x * 3) % 256;
}

/** X as MATLAB stores it: uint8 [32, 32, 3, n], column-major, image ids 0..n-1. */
function buildImages(count: number): MatrixSpec {
  const real = new Uint8Array(count * IMAGE);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 3; c++) {
      for (let x = 0; x < 32; x++) {
        for (let y = 0; y < 32; y++) real[y + 32 * x + 1024 * c + IMAGE * i] = pixel(i, y, x, c);
      }
    }
  }
  return { name: 'X', classCode: MX_UINT8, dims: [32, 32, 3, count], realType: MI_UINT8, real };
}

/** y as a double [n, 1] array, stored as miDOUBLE or, as MATLAB does for small integers, as miUINT8. */
function buildLabels(labels: number[], storage: 'double' | 'uint8' = 'double'): MatrixSpec {
  const real =
    storage === 'double'
      ? encodeWords(labels, (v, o, x) => v.setFloat64(o, x, true), 8)
      : Uint8Array.from(labels);
  return { name: 'y', classCode: MX_DOUBLE, dims: [labels.length, 1], realType: storage === 'double' ? MI_DOUBLE : MI_UINT8, real };
}

/** Builds a little-endian MAT-file from matrices, each compressed when `compressed` is set. */
function buildMat(specs: MatrixSpec[], compressed: boolean): Uint8Array {
  const elements = specs.map((spec) => (compressed ? compress(buildMatrix(spec)) : buildMatrix(spec)));
  return concat([buildHeader(), ...elements]);
}

const tempRoot = mkdtempSync(join(tmpdir(), 'qnn-svhn-test-'));
after(() => rmSync(tempRoot, { recursive: true, force: true }));

let dirCount = 0;

function writeSvhnDir(train: Uint8Array, testFile: Uint8Array): string {
  const dir = join(tempRoot, `set-${dirCount++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'train_32x32.mat'), train);
  writeFileSync(join(dir, 'test_32x32.mat'), testFile);
  return dir;
}

/** Builds a valid test file with two images and the labels 10 and 1. */
function smallTestFile(): Uint8Array {
  return buildMat([buildImages(2), buildLabels([10, 1])], true);
}

/** Asserts that image `i` of `images` (NHWC) matches `pixel(i, ...)` everywhere. */
function assertImage(images: Uint8Array, i: number) {
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      for (let c = 0; c < 3; c++) {
        const found = images[i * IMAGE + (y * 32 + x) * 3 + c];
        assert.equal(found, pixel(i, y, x, c), `image ${i}, y ${y}, x ${x}, channel ${c}`);
      }
    }
  }
}

function assertFormatError(run: () => unknown, file: string, offset: number | undefined, pattern: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.equal(error.offset, offset);
    assert.match(error.message, pattern);
    return true;
  });
}

async function assertRejectsFormat(promise: Promise<unknown>, file: string, offset: number | undefined, pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.equal(error.offset, offset);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('parseMatV5', () => {
  test('uncompressed variables', () => {
    const bytes = buildMat([buildImages(1), buildLabels([3])], false);
    const variables = parseMatV5(bytes, 'a.mat');

    assert.deepEqual(variables.map((v) => v.name), ['X', 'y']);
    assert.equal(variables[0].class, 'uint8');
    assert.deepEqual(variables[0].dims, [32, 32, 3, 1]);
    assert.equal(variables[0].offset, 128);
    assert.equal(variables[1].class, 'double');
    assert.ok(variables[1].data instanceof Float64Array);
    assert.deepEqual(Array.from(variables[1].data), [3]);
  });

  test('double stored as smaller types', () => {
    const int16 = encodeWords([-2, 300], (v, o, x) => v.setInt16(o, x, true), 2);
    const spec: MatrixSpec = { name: 'v', classCode: MX_DOUBLE, dims: [1, 2], realType: MI_INT16, real: int16 };
    const [variable] = parseMatV5(buildMat([spec], false), 'b.mat');

    assert.equal(variable.class, 'double');
    assert.deepEqual(Array.from(variable.data), [-2, 300]);
  });

  test('big-endian file', () => {
    const labels = encodeWords([2, 7.5], (v, o, x) => v.setFloat64(o, x, false), 8);
    const spec: MatrixSpec = { name: 'y', classCode: MX_DOUBLE, dims: [2, 1], realType: MI_DOUBLE, real: labels };
    const bytes = concat([buildHeader(false), buildMatrix(spec, false)]);
    const [variable] = parseMatV5(bytes, 'be.mat');

    assert.deepEqual(variable.dims, [2, 1]);
    assert.deepEqual(Array.from(variable.data), [2, 7.5]);
  });

  test('header only has no variables', () => {
    assert.deepEqual(parseMatV5(buildHeader(), 'empty.mat'), []);
  });

  test('truncated header', () => {
    assertFormatError(() => parseMatV5(buildHeader().subarray(0, 100), 'h.mat'), 'h.mat', 100, /header is truncated: expected 128 bytes, found 100/);
  });

  test('wrong header text', () => {
    const bytes = buildHeader(true, 'MATLAB 7.3 MAT-file');
    assertFormatError(() => parseMatV5(bytes, 'h.mat'), 'h.mat', 0, /not a MATLAB level-5 MAT-file.*"MATLAB 7.3".*-v7.3 are HDF5/);
  });

  test('wrong endian indicator', () => {
    const bytes = buildHeader();
    bytes[126] = 0x58;
    assertFormatError(() => parseMatV5(bytes, 'h.mat'), 'h.mat', 126, /invalid MAT-file endian indicator: expected "IM" or "MI", found "XM"/);
  });

  test('wrong version', () => {
    const bytes = buildHeader(true, 'MATLAB 5.0 MAT-file', 0x0200);
    assertFormatError(() => parseMatV5(bytes, 'h.mat'), 'h.mat', 124, /unsupported MAT-file version 0x0200: expected 0x0100/);
  });

  test('truncated element', () => {
    const bytes = buildMat([buildLabels([1, 2, 3])], false);
    const cut = bytes.subarray(0, bytes.length - 8);
    assertFormatError(() => parseMatV5(cut, 't.mat'), 't.mat', 128, /data element \(miMATRIX\) is truncated: its tag declares \d+ data bytes, but only \d+ remain/);
  });

  test('truncated tag', () => {
    const bytes = concat([buildHeader(), new Uint8Array(5)]);
    assertFormatError(() => parseMatV5(bytes, 't.mat'), 't.mat', 128, /data element is truncated: expected an 8-byte tag, found 5 bytes/);
  });

  test('real part size mismatch', () => {
    const spec = buildLabels([1, 2]);
    spec.dims = [3, 1];
    assertFormatError(() => parseMatV5(buildMat([spec], false), 's.mat'), 's.mat', 128 + 8 + 16 + 16 + 8, /real part of "y" has 16 bytes: expected 24 for dimensions \[3, 1\] of miDOUBLE/);
  });

  test('unsupported class', () => {
    const spec: MatrixSpec = { name: 'title', classCode: MX_CHAR, dims: [1, 2], realType: MI_UINT8, real: Uint8Array.of(104, 105) };
    assertFormatError(() => parseMatV5(buildMat([spec], false), 'c.mat'), 'c.mat', 136, /variable "title" has class char \(mxCHAR_CLASS\): only real uint8 and double/);
  });

  test('unsupported numeric class compressed', () => {
    const spec: MatrixSpec = { name: 'X', classCode: MX_INT16, dims: [1, 1], realType: MI_INT16, real: new Uint8Array(2) };
    assertFormatError(
      () => parseMatV5(buildMat([spec], true), 'c.mat'),
      'c.mat',
      128,
      /variable "X" has class int16 \(mxINT16_CLASS\).*byte 8 of the data inflated from the miCOMPRESSED element/,
    );
  });

  test('complex array', () => {
    const spec = { ...buildLabels([1]), flagBits: 0x0800 };
    assertFormatError(() => parseMatV5(buildMat([spec], false), 'c.mat'), 'c.mat', 136, /variable "y" is a complex double/);
  });

  test('uint8 class stored as other type', () => {
    const spec: MatrixSpec = { name: 'X', classCode: MX_UINT8, dims: [1, 1], realType: MI_INT16, real: new Uint8Array(2) };
    assertFormatError(() => parseMatV5(buildMat([spec], false), 'c.mat'), 'c.mat', 128 + 8 + 16 + 16 + 8, /real part of "X" \(uint8 \(mxUINT8_CLASS\)\) is stored as miINT16/);
  });

  test('corrupt compressed data', () => {
    const element = compress(buildMatrix(buildLabels([1])));
    element.fill(0xff, 8, 12);
    assertFormatError(() => parseMatV5(concat([buildHeader(), element]), 'z.mat'), 'z.mat', 128, /zlib inflate of miCOMPRESSED element failed/);
  });

  test('unexpected top-level element', () => {
    const bytes = concat([buildHeader(), buildElement(MI_DOUBLE, new Uint8Array(8))]);
    assertFormatError(() => parseMatV5(bytes, 'u.mat'), 'u.mat', 128, /unexpected top-level miDOUBLE element: expected miMATRIX or miCOMPRESSED/);
  });

  test('negative dimension', () => {
    const spec = buildLabels([1]);
    spec.dims = [-1, 1];
    assertFormatError(() => parseMatV5(buildMat([spec], false), 'n.mat'), 'n.mat', 128 + 8 + 16 + 8, /dimension 0 is negative: -1/);
  });
});

describe('loadSvhn', () => {
  for (const compressed of [false, true]) {
    test(`images in NHWC order, ${compressed ? 'compressed' : 'uncompressed'}`, async () => {
      const dir = writeSvhnDir(buildMat([buildImages(3), buildLabels([1, 10, 5])], compressed), smallTestFile());
      const svhn = await loadSvhn({ dir });

      assert.equal(svhn.train.count, 3);
      assert.deepEqual(svhn.train.shape, [3, 32, 32, 3]);
      assert.equal(svhn.train.images.length, 3 * IMAGE);
      assert.deepEqual(Array.from(svhn.train.labels), [1, 0, 5]);
      for (let i = 0; i < 3; i++) assertImage(svhn.train.images, i);

      assert.equal(svhn.test.count, 2);
      assert.deepEqual(Array.from(svhn.test.labels), [0, 1]);
      assertImage(svhn.test.images, 1);
    });
  }

  test('first pixels by hand', async () => {
    const dir = writeSvhnDir(buildMat([buildImages(1), buildLabels([4])], true), smallTestFile());
    const svhn = await loadSvhn({ dir });

    // Image 0: red (y, x) = 7y + 3x, green adds 101, blue adds 202.
    assert.deepEqual(Array.from(svhn.train.images.subarray(0, 6)), [0, 101, 202, 3, 104, 205]);
    const row1 = 32 * 3;
    assert.deepEqual(Array.from(svhn.train.images.subarray(row1, row1 + 3)), [7, 108, 209]);
  });

  test('labels stored as uint8 and as uint8 class', async () => {
    const uint8Class: MatrixSpec = { name: 'y', classCode: MX_UINT8, dims: [2, 1], realType: MI_UINT8, real: Uint8Array.of(10, 9) };
    const dir = writeSvhnDir(buildMat([buildImages(2), buildLabels([2, 10], 'uint8')], false), buildMat([buildImages(2), uint8Class], true));
    const svhn = await loadSvhn({ dir });

    assert.deepEqual(Array.from(svhn.train.labels), [2, 0]);
    assert.deepEqual(Array.from(svhn.test.labels), [0, 9]);
  });

  test('single image without trailing dimension', async () => {
    const images = buildImages(1);
    images.dims = [32, 32, 3];
    const dir = writeSvhnDir(buildMat([images, buildLabels([7])], false), smallTestFile());
    const svhn = await loadSvhn({ dir });

    assert.equal(svhn.train.count, 1);
    assertImage(svhn.train.images, 0);
  });

  test('limits', async () => {
    const dir = writeSvhnDir(buildMat([buildImages(3), buildLabels([1, 2, 3])], true), smallTestFile());
    const svhn = await loadSvhn({ dir, trainLimit: 2, testLimit: 0 });

    assert.equal(svhn.train.count, 2);
    assert.deepEqual(svhn.train.shape, [2, 32, 32, 3]);
    assert.equal(svhn.train.images.length, 2 * IMAGE);
    assert.deepEqual(Array.from(svhn.train.labels), [1, 2]);
    assertImage(svhn.train.images, 1);
    assert.equal(svhn.test.count, 0);
    assert.equal(svhn.test.images.length, 0);
    assert.equal(svhn.test.labels.length, 0);
  });

  test('invalid limit', async () => {
    await assert.rejects(loadSvhn({ dir: tempRoot, trainLimit: -2 }), /invalid SVHN option trainLimit.*found -2/);
    await assert.rejects(loadSvhn({ dir: tempRoot, testLimit: Number.NaN }), /invalid SVHN option testLimit.*found NaN/);
  });

  test('missing file', async () => {
    const dir = writeSvhnDir(smallTestFile(), smallTestFile());
    rmSync(join(dir, 'test_32x32.mat'));

    await assert.rejects(loadSvhn({ dir }), (error: unknown) => {
      assert.ok(error instanceof QnnError);
      assert.ok(!(error instanceof FileFormatError));
      assert.match(error.message, /SVHN file not found/);
      assert.ok(error.message.includes(join(dir, 'test_32x32.mat')), error.message);
      return true;
    });
  });

  test('truncated file', async () => {
    const bytes = buildMat([buildImages(2), buildLabels([1, 2])], true);
    const dir = writeSvhnDir(bytes.subarray(0, bytes.length - 10), smallTestFile());
    const file = join(dir, 'train_32x32.mat');
    const labelsOffset = 128 + compress(buildMatrix(buildImages(2))).length;

    await assertRejectsFormat(loadSvhn({ dir }), file, labelsOffset, /miCOMPRESSED\) is truncated/);
  });

  test('wrong header', async () => {
    const bytes = smallTestFile();
    bytes.set(new TextEncoder().encode('MATLAB 4.0'), 0);
    const dir = writeSvhnDir(bytes, smallTestFile());

    await assertRejectsFormat(loadSvhn({ dir }), join(dir, 'train_32x32.mat'), 0, /not a MATLAB level-5 MAT-file/);
  });

  for (const bad of [0, 11, 2.5]) {
    test(`label ${bad} out of range`, async () => {
      const dir = writeSvhnDir(smallTestFile(), buildMat([buildImages(2), buildLabels([3, bad])], false));
      const file = join(dir, 'test_32x32.mat');
      const labelsOffset = 128 + buildMatrix(buildImages(2)).length;

      await assertRejectsFormat(
        loadSvhn({ dir }),
        file,
        labelsOffset,
        new RegExp(`SVHN label 1 is out of range: expected an integer 1..10 \\(10 for the digit 0\\), found ${bad}`),
      );
    });
  }

  test('missing variable', async () => {
    const dir = writeSvhnDir(buildMat([buildImages(1)], true), smallTestFile());

    await assertRejectsFormat(loadSvhn({ dir }), join(dir, 'train_32x32.mat'), undefined, /SVHN variable "y" not found: expected the variables "X" and "y", found "X"/);
  });

  test('unsupported class', async () => {
    const images: MatrixSpec = { name: 'X', classCode: MX_INT16, dims: [32, 32, 3, 1], realType: MI_INT16, real: new Uint8Array(2 * IMAGE) };
    const dir = writeSvhnDir(buildMat([images, buildLabels([1])], true), smallTestFile());

    await assertRejectsFormat(loadSvhn({ dir }), join(dir, 'train_32x32.mat'), 128, /variable "X" has class int16/);
  });

  test('images of double class', async () => {
    const images: MatrixSpec = { name: 'X', classCode: MX_DOUBLE, dims: [32, 32, 3, 1], realType: MI_UINT8, real: new Uint8Array(IMAGE) };
    const dir = writeSvhnDir(buildMat([images, buildLabels([1])], false), smallTestFile());

    await assertRejectsFormat(loadSvhn({ dir }), join(dir, 'train_32x32.mat'), 128, /SVHN variable "X" must be uint8, found double/);
  });

  test('images of wrong size', async () => {
    const images = buildImages(1);
    images.dims = [28, 28, 3, 1];
    images.real = new Uint8Array(28 * 28 * 3);
    const dir = writeSvhnDir(buildMat([images, buildLabels([1])], false), smallTestFile());

    await assertRejectsFormat(loadSvhn({ dir }), join(dir, 'train_32x32.mat'), 128, /"X" must have dimensions \[32, 32, 3, n\], found \[28, 28, 3, 1\]/);
  });

  test('label count differs from image count', async () => {
    const dir = writeSvhnDir(buildMat([buildImages(2), buildLabels([1, 2, 3])], false), smallTestFile());
    const labelsOffset = 128 + buildMatrix(buildImages(2)).length;

    await assertRejectsFormat(loadSvhn({ dir }), join(dir, 'train_32x32.mat'), labelsOffset, /"y" must have dimensions \[2, 1\] to match the 2 images in "X", found \[3, 1\]/);
  });
});

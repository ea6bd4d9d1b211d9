import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { decodeCifar10Batch } from '../../sdk/data/cifar10.js';
import { parseIdx, readIdxFile } from '../../sdk/data/idx.js';
import { parseMatV5 } from '../../sdk/data/mat-v5.js';
import { decodeSvhnFile } from '../../sdk/data/svhn.js';
import { FileFormatError, QnnError } from '../../sdk/errors.js';
import { buildMatFile, cifar10Batch, svhnFile } from '../fuzz/seed-files.js';

const tempDir = mkdtempSync(join(tmpdir(), 'qnn-loader-bounds-'));
after(() => rmSync(tempDir, { recursive: true, force: true }));

const MI_UINT8 = 2;
const MX_UINT8 = 9;

function assertFormatError(run: () => unknown, pattern: RegExp, offset: number | undefined): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.equal(error.offset, offset);
    return true;
  });
}

/** A uint8 IDX header whose shape is 33 sizes of 2^32 - 1 and a 0, whose float product is 0 * Infinity = NaN. */
function idxWithHugeAndZeroSizes(trailingBytes: number): Uint8Array {
  const rank = 34;
  const bytes = new Uint8Array(4 + 4 * rank + trailingBytes);
  const view = new DataView(bytes.buffer);
  bytes[2] = 0x08;
  bytes[3] = rank;
  for (let d = 0; d < rank - 1; d++) view.setUint32(4 + 4 * d, 0xffffffff, false);
  return bytes;
}

describe('loader bounds on hostile sizes', () => {
  test('IDX zero size beside overflow', () => {
    const tensor = parseIdx(idxWithHugeAndZeroSizes(0), 'empty.idx');
    assert.equal(tensor.data.length, 0);
    assert.equal(tensor.shape.length, 34);
    assert.equal(tensor.shape[33], 0);
  });

  test('IDX zero size with trailing bytes', () => {
    // Before the fix the element count was NaN, every size comparison was false, and the 100 bytes were silently dropped.
    assertFormatError(() => parseIdx(idxWithHugeAndZeroSizes(100), 'junk.idx'), /100 trailing bytes after the data/, 140);
  });

  test('IDX gzip over maxInflatedBytes', async () => {
    const idx = new Uint8Array(8 + 2_000_000);
    idx.set([0, 0, 0x08, 1]);
    new DataView(idx.buffer).setUint32(4, 2_000_000, false);
    const path = join(tempDir, 'zeros-idx1-ubyte.gz');
    writeFileSync(path, gzipSync(idx));

    await assert.rejects(readIdxFile(path, { maxInflatedBytes: 1_000_000 }), (error: unknown) => {
      assert.ok(error instanceof FileFormatError);
      assert.equal(error.file, path);
      assert.match(error.message, /gzip decompression failed: the data decompresses to more than maxInflatedBytes = 1000000 bytes/);
      return true;
    });
    assert.equal((await readIdxFile(path, { maxInflatedBytes: 2_000_008 })).data.length, 2_000_000);
  });

  test('IDX missing file', async () => {
    const path = join(tempDir, 'missing-idx1-ubyte');
    await assert.rejects(readIdxFile(path), (error: unknown) => error instanceof QnnError && error.message.startsWith(`cannot read IDX file ${path}: `));
  });

  test('MAT-file compressed element over maxInflatedBytes', () => {
    const zeros = new Uint8Array(4_000_000);
    const bytes = buildMatFile([{ name: 'X', classCode: MX_UINT8, dims: [4_000_000, 1], realType: MI_UINT8, real: zeros, compress: true }]);
    assert.ok(bytes.length < 10_000, `the deflated file is small: ${bytes.length} bytes`);

    assertFormatError(() => parseMatV5(bytes, 'bomb.mat', { maxInflatedBytes: 1_000_000 }), /inflate to more than maxInflatedBytes = 1000000 bytes in all/, 128);
    const [variable] = parseMatV5(bytes, 'bomb.mat');
    assert.equal(variable.data.length, 4_000_000);
  });

  test('MAT-file inflate budget across elements', () => {
    const real = new Uint8Array(600_000);
    const element = { classCode: MX_UINT8, dims: [600_000, 1], realType: MI_UINT8, real, compress: true };
    const bytes = buildMatFile([{ name: 'a', ...element }, { name: 'b', ...element }]);
    const secondOffset = 128 + new DataView(bytes.buffer).getUint32(128 + 4, true) + 8;

    assert.equal(parseMatV5(bytes, 'two.mat', { maxInflatedBytes: 1_300_000 }).length, 2);
    assertFormatError(() => parseMatV5(bytes, 'two.mat', { maxInflatedBytes: 1_000_000 }), /maxInflatedBytes = 1000000/, secondOffset);
    assert.throws(() => parseMatV5(bytes, 'two.mat', { maxInflatedBytes: -1 }), (error: unknown) => error instanceof QnnError && /maxInflatedBytes/.test(error.message));
  });

  test('MAT-file zero dimension beside overflow', () => {
    const dims = [0, ...Array.from({ length: 40 }, () => 0x7fffffff)];
    const [variable] = parseMatV5(buildMatFile([{ name: 'e', classCode: MX_UINT8, dims, realType: MI_UINT8, real: new Uint8Array(0), compress: false }]), 'empty.mat');
    assert.equal(variable.data.length, 0);
    assert.equal(variable.dims.length, 41);
  });
});

describe('in-memory decoders of CIFAR-10 and SVHN', () => {
  test('decodeCifar10Batch limit and layout', () => {
    const batch = cifar10Batch(3);
    const { images, labels } = decodeCifar10Batch(batch, 'batch.bin', 2);
    assert.deepEqual(Array.from(labels), [0, 1]);
    assert.equal(images.length, 2 * 3072);
    // Record 1, channel 2 (blue), pixel 5 sits at byte 1 + 2 * 1024 + 5 of the record.
    assert.equal(images[3072 + 5 * 3 + 2], batch[3073 + 1 + 2048 + 5]);
  });

  test('in-memory decoders reject a negative limit', () => {
    const isLimitError = (error: unknown) => error instanceof QnnError && /option limit: expected a non-negative integer, found -1/.test(error.message);
    assert.throws(() => decodeCifar10Batch(cifar10Batch(1), 'batch.bin', -1), isLimitError);
    assert.throws(() => decodeSvhnFile(svhnFile(1, { littleEndian: true, labelStorage: 'uint8', compress: false }), 'svhn.mat', -1), isLimitError);
  });

  test('decodeCifar10Batch bad label offset', () => {
    const batch = cifar10Batch(2);
    batch[3073] = 10;
    assertFormatError(() => decodeCifar10Batch(batch, 'batch.bin'), /label of record 1 is out of range: expected 0\.\.9, found 10/, 3073);
  });

  test('decodeSvhnFile both byte orders', () => {
    for (const littleEndian of [true, false]) {
      const split = decodeSvhnFile(svhnFile(2, { littleEndian, labelStorage: 'double', compress: false }), 'svhn.mat');
      assert.equal(split.count, 2);
      // Labels 1 and 2 are the digits 1 and 2; pixel (y 0, x 1, c 0) of image 0 is stored at column-major index 32.
      assert.deepEqual(Array.from(split.labels), [1, 2]);
      assert.equal(split.images[1 * 3], (32 * 11) & 0xff);
    }
  });
});

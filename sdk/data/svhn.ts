/**
 * SVHN loader for the cropped digits (format 2): 32x32 RGB images of house-number digits,
 * 73257 training samples in train_32x32.mat and 26032 test samples in test_32x32.mat.
 * Each file is a MATLAB level-5 MAT-file with two variables:
 *   X  uint8 [32, 32, 3, n], column-major, so pixel (y, x, c) of image i is at
 *      y + 32 * x + 1024 * c + 3072 * i
 *   y  double or uint8 [n, 1], labels 1..10, where 10 is the digit 0
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { FileFormatError, QnnError } from '../errors.js';
import { type MatArray, parseMatV5 } from './mat-v5.js';

export const SVHN_HEIGHT = 32;
export const SVHN_WIDTH = 32;
export const SVHN_CHANNELS = 3;
export const SVHN_CLASSES = 10;

const PIXELS_PER_PLANE = SVHN_HEIGHT * SVHN_WIDTH;
const BYTES_PER_IMAGE = PIXELS_PER_PLANE * SVHN_CHANNELS;

/** One split of SVHN. */
export interface SvhnSplit {
  /**
   * Pixels 0..255 in NHWC order, shape [count, 32, 32, 3]. Channel c (0 red, 1 green, 2 blue)
   * at row y and column x of image i is at ((i * 32 + y) * 32 + x) * 3 + c.
   * The files store the images column-major as [32, 32, 3, n], so the loader reorders them.
   */
  images: Uint8Array;
  /** Digits 0..9, one per image. The files store the digit 0 as label 10, which the loader maps to 0. */
  labels: Uint8Array;
  count: number;
  /** Shape of `images`: [count, height, width, channels]. */
  shape: [number, typeof SVHN_HEIGHT, typeof SVHN_WIDTH, typeof SVHN_CHANNELS];
}

export interface SvhnDataset {
  train: SvhnSplit;
  test: SvhnSplit;
}

export interface LoadSvhnOptions {
  /** Folder with train_32x32.mat and test_32x32.mat. */
  dir: string;
  /** Number of training samples to keep, counted from the start (all of them when larger than the split). */
  trainLimit?: number;
  /** Number of test samples to keep, counted from the start (all of them when larger than the split). */
  testLimit?: number;
}

/**
 * Loads the SVHN cropped digits and converts the images to NHWC. Each file is read and
 * parsed whole, limits only shorten the result, and labels past a limit are still checked.
 * Throws QnnError for an invalid option or a missing file, and FileFormatError, naming the
 * file and byte offset, for a malformed MAT-file, a missing or mis-shaped X or y, or a
 * label outside 1..10.
 */
export async function loadSvhn(options: LoadSvhnOptions): Promise<SvhnDataset> {
  const trainLimit = checkLimit(options.trainLimit, 'trainLimit');
  const testLimit = checkLimit(options.testLimit, 'testLimit');
  const trainPath = findSvhnFile(options.dir, 'train_32x32.mat');
  const testPath = findSvhnFile(options.dir, 'test_32x32.mat');

  const train = await loadSplit(trainPath, trainLimit);
  const test = await loadSplit(testPath, testLimit);
  return { train, test };
}

function checkLimit(limit: number | undefined, name: string): number {
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new QnnError(`invalid SVHN option ${name}: expected a non-negative integer, found ${limit}`);
  }
  return limit;
}

function findSvhnFile(dir: string, name: string): string {
  const path = join(dir, name);
  if (existsSync(path)) return path;

  throw new QnnError(
    `SVHN file not found: ${path}. Download train_32x32.mat and test_32x32.mat ` +
      '(the "cropped digits", format 2, of the Street View House Numbers data set) into that folder.',
  );
}

async function loadSplit(path: string, limit: number): Promise<SvhnSplit> {
  return decodeSvhnFile(await readFile(path), path, limit);
}

/**
 * Decodes one SVHN MAT-file held in memory (train_32x32.mat or test_32x32.mat) into a split
 * of at most `limit` images, with the checks and errors of loadSvhn. `path` names the file in errors.
 */
export function decodeSvhnFile(bytes: Uint8Array, path: string, limit = Infinity): SvhnSplit {
  if (limit !== Infinity) checkLimit(limit, 'limit');
  const variables = parseMatV5(bytes, path);
  const images = findVariable(variables, 'X', path);
  const labels = findVariable(variables, 'y', path);

  const total = checkImages(images, path);
  const labelData = checkLabels(labels, total, path);

  const count = Math.min(limit, total);
  return {
    images: columnMajorToNhwc(images.data as Uint8Array, count),
    labels: labelData.slice(0, count),
    count,
    shape: [count, SVHN_HEIGHT, SVHN_WIDTH, SVHN_CHANNELS],
  };
}

function findVariable(variables: MatArray[], name: string, path: string): MatArray {
  const found = variables.find((variable) => variable.name === name);
  if (found !== undefined) return found;

  const names = variables.map((variable) => `"${variable.name}"`).join(', ') || 'none';
  throw new FileFormatError(
    `SVHN variable "${name}" not found: expected the variables "X" and "y", found ${names}`,
    path,
  );
}

/** Checks that X is uint8 [32, 32, 3, n] and returns n. */
function checkImages(images: MatArray, path: string): number {
  if (images.class !== 'uint8') {
    throw new FileFormatError(`SVHN variable "X" must be uint8, found ${images.class}`, path, images.offset);
  }
  const dims = images.dims;
  const isImageStack =
    (dims.length === 4 || dims.length === 3) &&
    dims[0] === SVHN_HEIGHT &&
    dims[1] === SVHN_WIDTH &&
    dims[2] === SVHN_CHANNELS;
  if (!isImageStack) {
    throw new FileFormatError(
      `SVHN variable "X" must have dimensions [${SVHN_HEIGHT}, ${SVHN_WIDTH}, ${SVHN_CHANNELS}, n], found [${dims.join(', ')}]`,
      path,
      images.offset,
    );
  }
  // MATLAB drops trailing singleton dimensions, so a file with one image stores [32, 32, 3].
  return dims.length === 4 ? dims[3] : 1;
}

/** Checks that y contains `count` labels 1..10 in an [n, 1] or [1, n] array and returns them as digits 0..9. */
function checkLabels(labels: MatArray, count: number, path: string): Uint8Array {
  const dims = labels.dims;
  const isVector = dims.length === 2 && (dims[1] === 1 || dims[0] === 1) && labels.data.length === count;
  if (!isVector) {
    throw new FileFormatError(
      `SVHN variable "y" must have dimensions [${count}, 1] to match the ${count} images in "X", found [${dims.join(', ')}]`,
      path,
      labels.offset,
    );
  }

  const digits = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = labels.data[i];
    if (!Number.isInteger(label) || label < 1 || label > SVHN_CLASSES) {
      throw new FileFormatError(
        `SVHN label ${i} is out of range: expected an integer 1..${SVHN_CLASSES} (10 for the digit 0), found ${label}`,
        path,
        labels.offset,
      );
    }
    digits[i] = label % SVHN_CLASSES;
  }
  return digits;
}

/** Reorders the first `count` images of a column-major [32, 32, 3, n] array to NHWC. */
function columnMajorToNhwc(source: Uint8Array, count: number): Uint8Array {
  const images = new Uint8Array(count * BYTES_PER_IMAGE);
  for (let i = 0; i < count; i++) {
    const imageStart = i * BYTES_PER_IMAGE;
    for (let c = 0; c < SVHN_CHANNELS; c++) {
      for (let x = 0; x < SVHN_WIDTH; x++) {
        // Column x of channel c is contiguous in the source: rows 0..31.
        const columnStart = imageStart + c * PIXELS_PER_PLANE + x * SVHN_HEIGHT;
        for (let y = 0; y < SVHN_HEIGHT; y++) {
          images[imageStart + (y * SVHN_WIDTH + x) * SVHN_CHANNELS + c] = source[columnStart + y];
        }
      }
    }
  }
  return images;
}

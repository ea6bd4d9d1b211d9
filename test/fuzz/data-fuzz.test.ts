import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodeCifar10Batch } from '../../sdk/data/cifar10.js';
import { type IdxTensor, parseIdx } from '../../sdk/data/idx.js';
import { type MatArray, parseMatV5 } from '../../sdk/data/mat-v5.js';
import { type SvhnSplit, decodeSvhnFile } from '../../sdk/data/svhn.js';
import { runFuzzTarget } from './harness.js';
import { fuzzCaseCount } from './mutator.js';
import { cifar10Batch, idxSeeds, svhnSeeds } from './seed-files.js';

// Allocation bounds, as multiples of the input's length:
// - IDX: the data is a copy of the data bytes, element for element: 1.
// - CIFAR-10: images and labels together are the 3073 bytes of each record: 1.
// - SVHN (uncompressed files): 3072 image bytes per 3072 stored bytes plus one label byte per stored label: 1.
// - MAT-file: a double variable stored as miUINT8 grows 8-fold, and compressed elements
//   inflate up to maxInflatedBytes, here 16 bytes per input byte: 8 * (1 + 16) = 136.
const DATA_ALLOCATION_FACTOR = 1;
const MAT_INFLATE_FACTOR = 16;
const MAT_ALLOCATION_FACTOR = 8 * (1 + MAT_INFLATE_FACTOR);

const CASES = fuzzCaseCount(3000);

function checkIdx(tensor: IdxTensor): void {
  const elements = tensor.shape.includes(0) ? 0 : tensor.shape.reduce((product, size) => product * size, 1);
  assert.equal(tensor.data.length, elements, `data length for shape [${tensor.shape.join(', ')}]`);
}

function checkCifar10({ images, labels }: { images: Uint8Array; labels: Uint8Array }): void {
  assert.equal(images.length, 3072 * labels.length);
  assert.ok(labels.every((label) => label < 10), 'labels 0..9');
}

function checkSvhn(split: SvhnSplit): void {
  assert.equal(split.images.length, 3072 * split.count);
  assert.equal(split.labels.length, split.count);
  assert.equal(split.shape[0], split.count);
  assert.ok(split.labels.every((label) => label < 10), 'digits 0..9');
}

function checkMat(variables: MatArray[]): void {
  for (const variable of variables) {
    const elements = variable.dims.includes(0) ? 0 : variable.dims.reduce((product, size) => product * size, 1);
    assert.equal(variable.data.length, elements, `data length of "${variable.name}" for dimensions [${variable.dims.join(', ')}]`);
  }
}

describe(`data readers on ${CASES} mutated files per format: load or QnnError`, () => {
  test('IDX parseIdx', () => {
    const summary = runFuzzTarget({
      name: 'IDX',
      seeds: idxSeeds(),
      decode: (bytes) => parseIdx(bytes, 'fuzz.idx'),
      allocationFactor: DATA_ALLOCATION_FACTOR,
      check: checkIdx,
      mutator: { littleEndian: false },
      cases: CASES,
    });
    assert.ok(summary.loaded > 0, `no mutated case loaded: ${JSON.stringify(summary)}`);
    assert.ok(summary.rejected > 0, `no mutated case was rejected: ${JSON.stringify(summary)}`);
  });

  test('CIFAR-10 decodeCifar10Batch', () => {
    const summary = runFuzzTarget({
      name: 'CIFAR-10',
      seeds: [cifar10Batch(2), cifar10Batch(1)],
      decode: (bytes) => decodeCifar10Batch(bytes, 'fuzz.bin'),
      allocationFactor: DATA_ALLOCATION_FACTOR,
      check: checkCifar10,
      // Record-sized steps shift whole records, so some size changes still leave a valid batch.
      mutator: { alignment: 3073 },
      cases: CASES,
    });
    assert.ok(summary.loaded > 0, `no mutated case loaded: ${JSON.stringify(summary)}`);
    assert.ok(summary.rejected > 0, `no mutated case was rejected: ${JSON.stringify(summary)}`);
  });

  test('SVHN decodeSvhnFile', () => {
    const summary = runFuzzTarget({
      name: 'SVHN',
      seeds: svhnSeeds().slice(0, 2),
      decode: (bytes) => decodeSvhnFile(bytes, 'fuzz.mat'),
      allocationFactor: DATA_ALLOCATION_FACTOR,
      check: checkSvhn,
      mutator: { alignment: 8 },
      cases: CASES,
    });
    assert.ok(summary.loaded > 0, `no mutated case loaded: ${JSON.stringify(summary)}`);
    assert.ok(summary.rejected > 0, `no mutated case was rejected: ${JSON.stringify(summary)}`);
  });

  test('MAT-file parseMatV5', () => {
    const summary = runFuzzTarget({
      name: 'MAT-file',
      seeds: svhnSeeds(),
      decode: (bytes) => parseMatV5(bytes, 'fuzz.mat', { maxInflatedBytes: MAT_INFLATE_FACTOR * bytes.length }),
      allocationFactor: MAT_ALLOCATION_FACTOR,
      check: checkMat,
      mutator: { alignment: 8 },
      cases: CASES,
    });
    assert.ok(summary.loaded > 0, `no mutated case loaded: ${JSON.stringify(summary)}`);
    assert.ok(summary.rejected > 0, `no mutated case was rejected: ${JSON.stringify(summary)}`);
  });
});

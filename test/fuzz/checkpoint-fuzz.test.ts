import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { QnnError } from '../../sdk/errors.js';
import { crc32 } from '../../sdk/format/crc32.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense, QuantDense } from '../../sdk/layers/dense.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { decodeCheckpoint } from '../../sdk/training/checkpoint.js';
import { fit } from '../../sdk/training/fit.js';
import type { SeededRandom } from '../helpers/random.js';
import { runFuzzTarget } from './harness.js';
import { type FuzzCase, fuzzCaseCount, typedArrayBytes } from './mutator.js';

// Every array of a decoded checkpoint is copied from its own payload bytes, 4 bytes per
// element. Only a header that names the same payload array twice could make the result
// larger than the file, and the bound of 1 makes the test report such a file.
const CHECKPOINT_ALLOCATION_FACTOR = 1;

const CASES = fuzzCaseCount(2000);

/** Builds a checkpoint that `fit` writes mid-epoch, so it has parameters, batch-norm state, Adam slots and a position. */
function checkpointSeed(): Uint8Array {
  const model = new Sequential([new QuantDense(6, { inputQuantizer: null }), new BatchNorm(), new Dense(2)]).build([4], 5);
  const inputs = Float32Array.from({ length: 40 }, (_, i) => ((i * 37) % 11) / 11);
  const labels = Int32Array.from({ length: 10 }, (_, i) => i % 2);
  let bytes: Uint8Array | null = null;
  fit(model, inputs, labels, { epochs: 1, batchSize: 4, optimizer: new Adam(), loss: 'softmax_cross_entropy', seed: 1, checkpoint: { write: (written) => (bytes = written), everyBatches: 2 } });
  assert.ok(bytes !== null, 'fit wrote a checkpoint');
  return bytes;
}

/** Recomputes the trailing CRC-32, so a byte-level mutation reaches the JSON header and the arrays. */
function resealCheckpoint(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 4) new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

const INTERESTING_NUMBERS = [0, 1, -1, 3, 0.5, 2 ** 31, 2 ** 32 - 1, 2 ** 53, 1e300, -0];

/**
 * Returns a copy of `seed` whose JSON header has one number, string or list changed and
 * whose header length and CRC-32 are correct, as a hostile writer could produce. Byte
 * mutations of JSON text mostly fail to parse, so these cases reach the field checks.
 */
function mutateHeader(seed: Uint8Array, random: SeededRandom): FuzzCase {
  const view = new DataView(seed.buffer, seed.byteOffset, seed.byteLength);
  const headerLength = view.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(seed.subarray(16, 16 + headerLength))) as unknown;
  const payload = seed.subarray((16 + headerLength + 3) & ~3, seed.length - 4);

  // Collect every slot (parent object or list and key) and change one of them.
  const slots: [Record<string | number, unknown>, string | number][] = [];
  const walk = (value: unknown): void => {
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      slots.push([value as Record<string | number, unknown>, Array.isArray(value) ? Number(key) : key]);
      walk(child);
    }
  };
  walk(header);
  const slotIndex = random.int(0, slots.length - 1);
  const [parent, key] = slots[slotIndex];
  const roll = random.next();
  let value: unknown;
  if (roll < 0.6) value = INTERESTING_NUMBERS[random.int(0, INTERESTING_NUMBERS.length - 1)];
  else if (roll < 0.7) value = null;
  else if (roll < 0.8) value = 'x';
  else if (roll < 0.9) value = [];
  else value = { length: 2 ** 28 };
  parent[key] = value;

  const text = new TextEncoder().encode(JSON.stringify(header));
  const payloadStart = (16 + text.length + 3) & ~3;
  const bytes = new Uint8Array(payloadStart + payload.length + 4);
  bytes.set(seed.subarray(0, 12));
  new DataView(bytes.buffer).setUint32(12, text.length, true);
  bytes.set(text, 16);
  bytes.set(payload, payloadStart);
  return { bytes: resealCheckpoint(bytes), description: `header slot ${slotIndex} (key ${JSON.stringify(key)}) set to ${JSON.stringify(value)}` };
}

/** Builds a checkpoint whose one payload array of `floats` elements is named by `references` state entries. */
function checkpointNamingOneArray(floats: number, references: number): Uint8Array {
  const header = {
    format: 'qnn-checkpoint',
    version: 1,
    arrays: [{ dtype: 'float32', offset: 0, length: floats }],
    layers: [{ name: 'dense', type: 'Dense', parameters: [], state: Array.from({ length: references }, () => ({ array: 0 })) }],
    optimizer: null,
    position: null,
  };
  const text = new TextEncoder().encode(JSON.stringify(header));
  const payloadStart = (16 + text.length + 3) & ~3;
  const bytes = new Uint8Array(payloadStart + 4 * floats + 4);
  bytes.set(new TextEncoder().encode('QNNCKPT\0'));
  new DataView(bytes.buffer).setUint32(8, 1, true);
  new DataView(bytes.buffer).setUint32(12, text.length, true);
  bytes.set(text, 16);
  return resealCheckpoint(bytes);
}

describe(`checkpoint decoder on ${CASES} mutated files: load or QnnError`, () => {
  // A 200 kB file whose header names one array from many fields must not decode to many copies of it.
  test('one array named by many entries', () => {
    const bytes = checkpointNamingOneArray(50_000, 100);
    let decoded: ReturnType<typeof decodeCheckpoint> | null = null;
    try {
      decoded = decodeCheckpoint(bytes, 'shared.ckpt');
    } catch (error) {
      assert.ok(error instanceof QnnError, `expected a QnnError, got ${String(error)}`);
    }
    if (decoded !== null) assert.ok(typedArrayBytes(decoded) <= CHECKPOINT_ALLOCATION_FACTOR * bytes.length, `${typedArrayBytes(decoded)} decoded bytes from ${bytes.length}`);
  });

  const seed = checkpointSeed();

  test('byte mutations', () => {
    const summary = runFuzzTarget({
      name: 'checkpoint bytes',
      seeds: [seed],
      decode: (bytes) => decodeCheckpoint(bytes, 'fuzz.ckpt'),
      allocationFactor: CHECKPOINT_ALLOCATION_FACTOR,
      mutator: { littleEndian: true, reseal: resealCheckpoint, alignment: 4 },
      cases: CASES,
    });
    assert.ok(summary.loaded > 0, `no mutated case loaded: ${JSON.stringify(summary)}`);
    assert.ok(summary.rejected > 0, `no mutated case was rejected: ${JSON.stringify(summary)}`);
  });

  test('header field mutations', () => {
    const summary = runFuzzTarget({
      name: 'checkpoint header',
      seeds: [seed],
      decode: (bytes) => decodeCheckpoint(bytes, 'fuzz.ckpt'),
      mutate: mutateHeader,
      allocationFactor: CHECKPOINT_ALLOCATION_FACTOR,
      cases: CASES,
    });
    assert.ok(summary.rejected > 0, JSON.stringify(summary));
  });
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import type { PackedDenseLayer, PackedModel } from '../../sdk/compile/graph.js';
import { FileFormatError, QnnError, ShapeError } from '../../sdk/errors.js';
import { crc32 } from '../../sdk/format/crc32.js';
import { QNN_FORMAT_VERSION, decodeQnn, encodeQnn, loadQnn, saveQnn } from '../../sdk/format/qnn-file.js';

/** Deterministic 32-bit generator (mulberry32), so failures reproduce. */
function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Random packed weights [units, ceil(inputs / 32)] with every pad bit 0. */
function randomWeights(random: () => number, units: number, inputs: number): Uint32Array {
  const words = Math.ceil(inputs / 32);
  const weights = new Uint32Array(units * words);
  const usedBits = inputs % 32;
  for (let unit = 0; unit < units; unit++) {
    for (let word = 0; word < words; word++) weights[unit * words + word] = random();
    if (usedBits !== 0) weights[unit * words + words - 1] &= (1 << usedBits) - 1;
  }
  return weights;
}

interface ModelOptions {
  inputShape?: number[];
  epilogueArrays: boolean;
}

/** Two layers: 37 (or the inputShape's) uint8 inputs -> 5 signs -> 3 scores. */
function makeModel({ inputShape = [37], epilogueArrays }: ModelOptions): PackedModel {
  const random = makeRandom(12345);
  const inputs = inputShape.reduce((product, size) => product * size, 1);
  const hidden: PackedDenseLayer = {
    kind: 'dense',
    input: 'uint8',
    inputs,
    units: 5,
    weights: randomWeights(random, 5, inputs),
    output: {
      kind: 'signs',
      thresholds: Int32Array.of(-2147483648, -3, 0, 17, 2147483647),
      directions: Int8Array.of(1, -1, -1, 1, 1),
    },
  };
  const last: PackedDenseLayer = {
    kind: 'dense',
    input: 'signs',
    inputs: 5,
    units: 3,
    weights: randomWeights(random, 3, 5),
    output: {
      kind: 'scores',
      epilogue: {
        inputScale: 1 / 255,
        bias: epilogueArrays ? Float32Array.of(0.5, -0, -1.25) : null,
        scale: epilogueArrays ? Float32Array.of(1.5, 2, 1e-20) : null,
        shift: epilogueArrays ? Float32Array.of(-3, 0.25, 7) : null,
      },
    },
  };
  return { inputShape, layers: [hidden, last] };
}

/** Asserts that `run` throws a FileFormatError whose message matches `pattern`, at `offset` when given. */
function assertFormatError(run: () => unknown, pattern: RegExp, offset?: number) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    assert.match(error.message, pattern);
    if (offset !== undefined) assert.equal(error.offset, offset);
    return true;
  });
}

/** Returns a copy of `bytes` changed by `edit`, with the trailing CRC-32 recomputed. */
function patchAndReseal(bytes: Uint8Array, edit: (view: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  edit(view);
  view.setUint32(copy.length - 4, crc32(copy.subarray(0, copy.length - 4)), true);
  return copy;
}

/** Byte offset of the first layer record in an encoded file. */
function firstRecordOffset(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
}

/** Byte offset of the second layer record in an encoded file. */
function secondRecordOffset(bytes: Uint8Array): number {
  const first = firstRecordOffset(bytes);
  return first + new DataView(bytes.buffer, bytes.byteOffset).getUint32(first, true);
}

describe('crc32', () => {
  test('standard check value', () => {
    const ascii = Uint8Array.from('123456789', (char) => char.charCodeAt(0));

    assert.equal(crc32(ascii), 0xcbf43926);
  });

  test('empty input', () => {
    assert.equal(crc32(new Uint8Array(0)), 0);
  });
});

describe('encodeQnn and decodeQnn', () => {
  for (const epilogueArrays of [true, false]) {
    test(`round trip, epilogue arrays ${epilogueArrays ? 'present' : 'absent'}`, () => {
      const model = makeModel({ epilogueArrays });
      const decoded = decodeQnn(encodeQnn(model));

      assert.deepEqual(decoded.inputShape, model.inputShape);
      assert.equal(decoded.layers.length, 2);
      for (let i = 0; i < 2; i++) {
        const expected = model.layers[i];
        const actual = decoded.layers[i];
        assert.equal(actual.kind, expected.kind);
        assert.equal(actual.input, expected.input);
        assert.equal(actual.inputs, expected.inputs);
        assert.equal(actual.units, expected.units);
        assert.ok(actual.weights instanceof Uint32Array);
        assert.deepEqual(actual.weights, expected.weights);
        assert.deepEqual(actual.output, expected.output);
      }
    });
  }

  test('round trip keeps types and negative zero', () => {
    const model = makeModel({ epilogueArrays: true });
    const decoded = decodeQnn(encodeQnn(model));
    const hidden = decoded.layers[0].output;
    const last = decoded.layers[1].output;

    assert.equal(hidden.kind, 'signs');
    assert.equal(last.kind, 'scores');
    if (hidden.kind !== 'signs' || last.kind !== 'scores') return;
    assert.ok(hidden.thresholds instanceof Int32Array);
    assert.ok(hidden.directions instanceof Int8Array);
    assert.ok(last.epilogue.bias instanceof Float32Array);
    assert.ok(last.epilogue.scale instanceof Float32Array);
    assert.ok(last.epilogue.shift instanceof Float32Array);
    assert.equal(last.epilogue.inputScale, 1 / 255);
    assert.ok(Object.is(last.epilogue.bias[1], -0));
  });

  test('round trip, only bias present', () => {
    const model = makeModel({ epilogueArrays: true });
    const output = model.layers[1].output;
    assert.equal(output.kind, 'scores');
    if (output.kind !== 'scores') return;
    output.epilogue.scale = null;
    output.epilogue.shift = null;
    const decoded = decodeQnn(encodeQnn(model));

    assert.deepEqual(decoded.layers[1].output, output);
  });

  test('round trip, multi-dimensional input', () => {
    const model = makeModel({ inputShape: [2, 4, 8], epilogueArrays: false });
    const decoded = decodeQnn(encodeQnn(model));

    assert.deepEqual(decoded.inputShape, [2, 4, 8]);
    assert.equal(decoded.layers[0].inputs, 64);
    assert.deepEqual(decoded.layers[0].weights, model.layers[0].weights);
  });

  test('encoding is deterministic', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: true }));

    assert.deepEqual(encodeQnn(decodeQnn(bytes)), bytes);
  });

  test('layout is 4-byte aligned', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    const view = new DataView(bytes.buffer);

    assert.equal(bytes.length % 4, 0);
    assert.equal(view.getUint32(8, true), QNN_FORMAT_VERSION);
    assert.equal(view.getUint32(16, true), bytes.length);
    assert.equal(firstRecordOffset(bytes) % 4, 0);
    assert.equal(secondRecordOffset(bytes) % 4, 0);
  });

  test('decodes at nonzero byte offset', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: true }));
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);

    assert.deepEqual(decodeQnn(shifted.subarray(3)), decodeQnn(bytes));
  });

  test('truncation at every byte offset', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: true }));

    for (let length = 0; length < bytes.length; length++) {
      assertFormatError(() => decodeQnn(bytes.subarray(0, length), 'cut.qnn'), /cut\.qnn: file is truncated/);
    }
  });

  test('trailing bytes', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);

    assertFormatError(() => decodeQnn(longer), /4 trailing bytes after the checksum/, bytes.length);
  });

  test('flipped payload byte fails checksum', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: true }));
    const weightOffset = firstRecordOffset(bytes) + 16 + 5;
    const corrupted = bytes.slice();
    corrupted[weightOffset] ^= 0x10;

    assertFormatError(() => decodeQnn(corrupted, 'flip.qnn'), /flip\.qnn: checksum mismatch/, bytes.length - 4);
  });

  test('flipped byte anywhere is rejected', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: true }));

    for (let offset = 0; offset < bytes.length; offset++) {
      const corrupted = bytes.slice();
      corrupted[offset] ^= 0x01;
      assertFormatError(() => decodeQnn(corrupted), /./);
    }
  });

  test('wrong magic', () => {
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0);

    assertFormatError(
      () => decodeQnn(png, 'image.png'),
      /image\.png: not a \.qnn model file: expected the magic bytes 51 4e 4e 4d 4f 44 45 4c \("QNNMODEL"\), found 89 50/,
      0,
    );
  });

  test('wrong magic in short file', () => {
    assertFormatError(() => decodeQnn(Uint8Array.of(0x51, 0x4e, 0x58)), /not a \.qnn model file/, 2);
  });

  test('newer version', () => {
    const bytes = patchAndReseal(encodeQnn(makeModel({ epilogueArrays: false })), (view) => view.setUint32(8, 99, true));

    assertFormatError(() => decodeQnn(bytes), /format version 99 is newer than the newest supported version 2/, 8);
  });

  test('version zero', () => {
    const bytes = patchAndReseal(encodeQnn(makeModel({ epilogueArrays: false })), (view) => view.setUint32(8, 0, true));

    assertFormatError(() => decodeQnn(bytes), /invalid format version 0/, 8);
  });

  test('nonzero pad bits', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    // Layer 0 has 37 inputs, so bits 5..31 of word 1 of each row are pad bits.
    const secondWordOffset = firstRecordOffset(bytes) + 16 + 4;
    const patched = patchAndReseal(bytes, (view) => view.setUint32(secondWordOffset, view.getUint32(secondWordOffset, true) | (1 << 31), true));

    assertFormatError(() => decodeQnn(patched), /layer 0 weights word 1 has nonzero pad bits: expected bits 5\.\.31 to be 0/, secondWordOffset);
  });

  test('encode rejects nonzero pad bits', () => {
    const model = makeModel({ epilogueArrays: false });
    model.layers[1].weights[0] |= 1 << 5;

    assert.throws(() => encodeQnn(model), (error: unknown) => {
      assert.ok(error instanceof QnnError);
      assert.ok(!(error instanceof FileFormatError));
      assert.match(error.message, /layer 1 weights word 0 has nonzero pad bits/);
      return true;
    });
  });

  test('direction other than 1 or -1', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    // Layer 0: 16 fixed bytes, 5 rows of 2 weight words, 5 thresholds, then directions.
    const directionOffset = firstRecordOffset(bytes) + 16 + 40 + 20 + 2;
    const patched = patchAndReseal(bytes, (view) => view.setInt8(directionOffset, 0));

    assertFormatError(() => decodeQnn(patched), /layer 0 directions\[2\]: expected 1 or -1, found 0/, directionOffset);
  });

  test('nonzero directions padding', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    const padOffset = firstRecordOffset(bytes) + 16 + 40 + 20 + 5;
    const patched = patchAndReseal(bytes, (view) => view.setUint8(padOffset, 7));

    assertFormatError(() => decodeQnn(patched), /layer 0 directions padding: expected 0, found 7/, padOffset);
  });

  test('inputs differ from previous units', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    const inputsOffset = secondRecordOffset(bytes) + 8;
    const patched = patchAndReseal(bytes, (view) => view.setUint32(inputsOffset, 6, true));

    assertFormatError(() => decodeQnn(patched), /layer 1: inputs must equal the units of layer 0: expected 5, found 6/, inputsOffset);
  });

  test('inputs differ from input shape', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    const patched = patchAndReseal(bytes, (view) => view.setUint32(28, 36, true));

    assertFormatError(() => decodeQnn(patched), /layer 0: inputs must equal the elements of inputShape \[36\]: expected 36, found 37/);
  });

  test('last layer outputs signs', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    const outputKindOffset = secondRecordOffset(bytes) + 6;
    const patched = patchAndReseal(bytes, (view) => view.setUint8(outputKindOffset, 1));

    assertFormatError(() => decodeQnn(patched), /layer 1: invalid output kind code: expected 2 \(scores\) for the last layer, found 1/, outputKindOffset);
  });

  test('hidden layer outputs scores', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    const outputKindOffset = firstRecordOffset(bytes) + 6;
    const patched = patchAndReseal(bytes, (view) => view.setUint8(outputKindOffset, 2));

    assertFormatError(() => decodeQnn(patched), /layer 0: invalid output kind code: expected 1 \(signs\) for a hidden layer, found 2/, outputKindOffset);
  });

  test('unknown layer kind', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    const kindOffset = firstRecordOffset(bytes) + 4;
    const patched = patchAndReseal(bytes, (view) => view.setUint8(kindOffset, 9));

    assertFormatError(() => decodeQnn(patched), /layer 0: unknown layer kind code 9/, kindOffset);
  });

  test('huge units rejected before allocating', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    const unitsOffset = firstRecordOffset(bytes) + 12;
    const tooMany = patchAndReseal(bytes, (view) => view.setUint32(unitsOffset, 0xffffffff, true));
    const tooLong = patchAndReseal(bytes, (view) => view.setUint32(unitsOffset, 2 ** 20, true));

    assertFormatError(() => decodeQnn(tooMany), /invalid layer 0 units: expected 1\.\.268435456, found 4294967295/, unitsOffset);
    assertFormatError(() => decodeQnn(tooLong), /layer 0: invalid record length: expected \d+ bytes from its fields, found 84/);
  });

  test('record longer than the file', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    const first = firstRecordOffset(bytes);
    // Layer 0 claims 2^20 units and a record length to match, which the file cannot hold.
    const units = 2 ** 20;
    const recordLength = 16 + 4 * units * 2 + 4 * units + units;
    const patched = patchAndReseal(bytes, (view) => {
      view.setUint32(first, recordLength, true);
      view.setUint32(first + 12, units, true);
    });

    assertFormatError(() => decodeQnn(patched), /layer 0 record is truncated: expected \d+ bytes, found \d+ before the checksum/, first + 16);
  });

  test('huge layer count rejected', () => {
    const bytes = encodeQnn(makeModel({ epilogueArrays: false }));
    const patched = patchAndReseal(bytes, (view) => view.setUint32(20, 1e9, true));

    assertFormatError(() => decodeQnn(patched), /invalid layer count: expected 1\.\.4096, found 1000000000/, 20);
  });

  test('encode rejects last layer with signs', () => {
    const model = makeModel({ epilogueArrays: false });
    model.layers.pop();

    assert.throws(() => encodeQnn(model), /layer 0 output kind must be 'scores' for the last layer, found 'signs'/);
  });

  test('encode rejects wrong weight length', () => {
    const model = makeModel({ epilogueArrays: false });
    model.layers[0].weights = new Uint32Array(9);

    assert.throws(() => encodeQnn(model), (error: unknown) => {
      assert.ok(error instanceof ShapeError);
      assert.match(error.message, /layer 0 weights: expected 10 elements \(5 units \* 2 words per row\), found 9/);
      return true;
    });
  });

  test('encode rejects mismatched inputs', () => {
    const model = makeModel({ epilogueArrays: false });
    model.layers[1].inputs = 6;

    assert.throws(() => encodeQnn(model), /layer 1 has 6 inputs, but layer 0 has 5 units/);
  });
});

describe('saveQnn and loadQnn', () => {
  const tempRoot = mkdtempSync(join(tmpdir(), 'qnn-file-test-'));
  after(() => rmSync(tempRoot, { recursive: true, force: true }));

  test('save then load', async () => {
    const dir = join(tempRoot, 'save');
    mkdirSync(dir);
    const path = join(dir, 'model.qnn');
    const model = makeModel({ epilogueArrays: true });
    await saveQnn(path, model);

    assert.deepEqual(readdirSync(dir), ['model.qnn']);
    assert.deepEqual(await loadQnn(path), model);
  });

  test('save replaces existing file', async () => {
    const dir = join(tempRoot, 'replace');
    mkdirSync(dir);
    const path = join(dir, 'model.qnn');
    writeFileSync(path, 'old contents');
    const model = makeModel({ epilogueArrays: false });
    await saveQnn(path, model);

    assert.deepEqual(readdirSync(dir), ['model.qnn']);
    assert.deepEqual(await loadQnn(path), model);
  });

  test('existing file survives encoding error', async () => {
    const dir = join(tempRoot, 'survive');
    mkdirSync(dir);
    const path = join(dir, 'model.qnn');
    await saveQnn(path, makeModel({ epilogueArrays: true }));
    const before = readFileSync(path);
    const invalid = makeModel({ epilogueArrays: true });
    invalid.layers[0].units = 4;

    await assert.rejects(saveQnn(path, invalid), QnnError);
    assert.deepEqual(readFileSync(path), before);
    assert.deepEqual(readdirSync(dir), ['model.qnn']);
  });

  test('rename error removes temporary file', async () => {
    const dir = join(tempRoot, 'rename');
    mkdirSync(dir);
    // A non-empty folder at the target path makes the rename fail after the write.
    const path = join(dir, 'model.qnn');
    mkdirSync(path);
    writeFileSync(join(path, 'keep'), 'x');

    await assert.rejects(saveQnn(path, makeModel({ epilogueArrays: false })));
    assert.deepEqual(readdirSync(dir), ['model.qnn']);
  });

  test('load names the file', async () => {
    const path = join(tempRoot, 'foreign.qnn');
    writeFileSync(path, 'not a model at all, just some text');

    await assert.rejects(loadQnn(path), (error: unknown) => {
      assert.ok(error instanceof FileFormatError);
      assert.equal(error.file, path);
      assert.match(error.message, /not a \.qnn model file/);
      return true;
    });
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { FileFormatError } from '../../sdk/errors.js';
import { crc32 } from '../../sdk/format/crc32.js';
import { decodeQnn, decodeQnnNetwork, encodeQnn } from '../../sdk/format/qnn-file.js';

/** Little-endian byte writer for building a file field by field, as docs/qnn-format.md lists them. */
class FieldWriter {
  private readonly parts: number[] = [];

  ascii(text: string): this {
    for (const char of text) this.parts.push(char.charCodeAt(0));
    return this;
  }

  u8(...values: number[]): this {
    for (const value of values) this.parts.push(value & 0xff);
    return this;
  }

  u32(...values: number[]): this {
    for (const value of values) this.push(4, (view) => view.setUint32(0, value, true));
    return this;
  }

  i32(...values: number[]): this {
    for (const value of values) this.push(4, (view) => view.setInt32(0, value, true));
    return this;
  }

  f32(...values: number[]): this {
    for (const value of values) this.push(4, (view) => view.setFloat32(0, value, true));
    return this;
  }

  f64(value: number): this {
    return this.push(8, (view) => view.setFloat64(0, value, true));
  }

  get length(): number {
    return this.parts.length;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }

  private push(size: number, write: (view: DataView) => void): this {
    const scratch = new DataView(new ArrayBuffer(size));
    write(scratch);
    for (let i = 0; i < size; i++) this.parts.push(scratch.getUint8(i));
    return this;
  }
}

/**
 * A version-1 file written field by field, without the encoder: input [3], a hidden dense
 * layer of 2 units on uint8 input with thresholds, and a dense score layer of 2 units with
 * bias, scale and shift.
 */
function handBuiltVersion1File(): Uint8Array {
  const file = new FieldWriter();
  // Header: magic, version 1, header length 28 + 4 * rank, file length, layer count, rank, shape.
  file.ascii('QNNMODEL').u32(1, 32, 128, 2, 1, 3);

  // Layer 0: 16 fixed + 2 units * 1 word * 4 + 2 thresholds * 4 + 2 directions + 2 zero bytes = 36.
  file.u32(36).u8(1, 1, 1, 0).u32(3, 2);
  // Unit 0 weights +1 -1 +1 (bit 1 means -1), unit 1 weights +1 +1 -1.
  file.u32(0b010, 0b100);
  file.i32(10, 0).u8(1, -1, 0, 0);

  // Layer 1: 16 fixed + 2 * 1 * 4 weights + 8 inputScale + 3 arrays * 2 * 4 = 56; flags 7 = bias, scale, shift.
  file.u32(56).u8(1, 2, 2, 7).u32(2, 2);
  // Unit 0 weights +1 +1, unit 1 weights +1 -1.
  file.u32(0b00, 0b10);
  file.f64(1).f32(0.5, -1).f32(2, 3).f32(0.25, 0);

  assert.equal(file.length, 124, 'bytes before the checksum');
  const body = file.bytes();
  return new FieldWriter().u8(...body).u32(crc32(body)).bytes();
}

describe('.qnn version 1 compatibility', () => {
  test('hand-built file loads every field', () => {
    const model = decodeQnn(handBuiltVersion1File(), 'v1.qnn');

    assert.deepEqual(model.inputShape, [3]);
    const [hidden, last] = model.layers;
    assert.equal(hidden.input, 'uint8');
    assert.deepEqual([hidden.inputs, hidden.units], [3, 2]);
    assert.deepEqual(hidden.weights, Uint32Array.of(0b010, 0b100));
    assert.deepEqual(hidden.output, { kind: 'signs', thresholds: Int32Array.of(10, 0), directions: Int8Array.of(1, -1) });
    assert.equal(last.input, 'signs');
    assert.deepEqual(last.output, {
      kind: 'scores',
      epilogue: { inputScale: 1, bias: Float32Array.of(0.5, -1), scale: Float32Array.of(2, 3), shift: Float32Array.of(0.25, 0) },
    });
    assert.deepEqual(decodeQnnNetwork(handBuiltVersion1File()), model);
  });

  test('hand-built file predicts scores', () => {
    const model = decodeQnn(handBuiltVersion1File());
    const samples = Uint8Array.of(100, 50, 30, 0, 255, 0);
    const scores = runPacked(model, new ReferenceBackend(), samples);

    // Sample 0: acc = 100 - 50 + 30 = 80 >= 10 gives +1; acc = 100 + 50 - 30 = 120, not <= 0, gives -1.
    // Score layer on [+1, -1]: dots 0 and 2, so (0 + 0.5) * 2 + 0.25 = 1.25 and (2 - 1) * 3 + 0 = 3.
    // Sample 1: acc = -255 gives -1, acc = 255 gives -1; dots -2 and 0, so -2.75 and -3.
    assert.deepEqual(Array.from(scores), [1.25, 3, -2.75, -3]);
  });

  test('re-encoding changes only version', () => {
    const version1 = handBuiltVersion1File();
    const version2 = encodeQnn(decodeQnn(version1));

    assert.equal(new DataView(version2.buffer).getUint32(8, true), 2);
    const differing = Array.from(version1).flatMap((byte, i) => (byte !== version2[i] ? [i] : []));
    // Only the version field's low byte and the checksum change.
    assert.deepEqual(differing.filter((i) => i < version1.length - 4), [8]);
    assert.equal(version2.length, version1.length);
  });

  test('conv2d kind rejected in version 1', () => {
    const file = handBuiltVersion1File();
    file[32 + 4] = 2;
    new DataView(file.buffer).setUint32(124, crc32(file.subarray(0, 124)), true);
    assert.throws(() => decodeQnnNetwork(file, 'v1.qnn'), (error: unknown) => {
      assert.ok(error instanceof FileFormatError);
      assert.match(error.message, /^v1\.qnn: layer 0: unknown layer kind code 2, expected 1 \(dense\)/);
      assert.equal(error.offset, 36);
      return true;
    });
  });
});

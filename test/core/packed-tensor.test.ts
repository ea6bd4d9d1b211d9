import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { ShapeError } from '../../sdk/errors.js';
import { PackedTensor } from '../../sdk/tensor/packed-tensor.js';
import { Tensor } from '../../sdk/tensor/tensor.js';

const backend = new ReferenceBackend();

describe('PackedTensor', () => {
  test('round trip through signs', () => {
    // 2 rows of 37 values: a tail word with 5 used bits in each row.
    // Repeating -0.5, 0, 2: negative, zero and positive values in every word.
    const pattern = [-0.5, 0, 2];
    const values = Float32Array.from({ length: 74 }, (_, i) => pattern[i % 3]);
    const packed = PackedTensor.fromTensor(new Tensor(values, [2, 37]), backend);

    assert.equal(packed.wordsPerRow, 2);
    assert.equal(packed.byteLength, 16);
    assert.deepEqual(packed.toTensor().toArray(), Array.from(values, (v) => (v < 0 ? -1 : 1)));
  });

  test('sign of negative zero', () => {
    const packed = PackedTensor.fromTensor(new Tensor(Float32Array.from([-0.0, -1]), [1, 2]), backend);

    assert.deepEqual(Array.from(packed.words), [0b10]);
  });

  test('rejects set pad bits', () => {
    assert.throws(() => new PackedTensor(Uint32Array.from([1 << 5]), 1, 5), (error: unknown) => {
      assert.ok(error instanceof ShapeError);
      assert.match(error.message, /row 0 has pad bits set beyond k = 5/);
      return true;
    });
  });

  test('rejects wrong word count', () => {
    assert.throws(() => new PackedTensor(new Uint32Array(3), 2, 40), /needs 4 words, got 3/);
  });
});

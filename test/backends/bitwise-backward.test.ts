// The bit-wise kernel gradient dW = xᵀ · c (x = ±1, c = k-bit integer codes) against the float product.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import type { Backend } from '../../sdk/backends/backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { QnnError } from '../../sdk/errors.js';
import { bitwiseWeightGradient } from '../../sdk/training/bitwise-weight-gradient.js';
import { SeededRandom } from '../helpers/random.js';

interface Case {
  batch: number;
  inputs: number;
  units: number;
  bits: number;
}

/** Batch sizes and input counts off the 32-bit word boundary, every gradient width from 2 to 8. */
const CASES: Case[] = [
  { batch: 1, inputs: 1, units: 1, bits: 2 },
  { batch: 5, inputs: 33, units: 3, bits: 3 },
  { batch: 31, inputs: 70, units: 9, bits: 4 },
  { batch: 33, inputs: 65, units: 17, bits: 5 },
  { batch: 100, inputs: 97, units: 10, bits: 6 },
  { batch: 64, inputs: 129, units: 4, bits: 7 },
  { batch: 45, inputs: 40, units: 6, bits: 8 },
];

/** Returns random ±1 signs [batch, inputs] and codes [batch, units] in [-maxCode, maxCode], the extremes included. */
function randomOperands(random: SeededRandom, shape: Case): { signs: Float32Array; codes: Int8Array; maxCode: number } {
  const maxCode = 2 ** (shape.bits - 1) - 1;
  const signs = Float32Array.from({ length: shape.batch * shape.inputs }, () => (random.int(0, 1) === 0 ? -1 : 1));
  const codes = Int8Array.from({ length: shape.batch * shape.units }, () => random.int(-maxCode, maxCode));
  codes[0] = -maxCode;
  if (codes.length > 1) codes[codes.length - 1] = maxCode;
  return { signs, codes, maxCode };
}

/** Computes xᵀ · c in float64, which is exact for these integer values. */
function floatWeightGradient(signs: Float32Array, codes: Int8Array, shape: Case): number[] {
  const out: number[] = [];
  for (let k = 0; k < shape.inputs; k++) {
    for (let n = 0; n < shape.units; n++) {
      let sum = 0;
      for (let m = 0; m < shape.batch; m++) sum += signs[m * shape.inputs + k] * codes[m * shape.units + n];
      out.push(sum);
    }
  }
  return out;
}

function checkBackend(name: string, getBackend: () => Backend): void {
  describe(`bitwiseWeightGradient on ${name}`, () => {
    for (const shape of CASES) {
      test(`batch ${shape.batch}, ${shape.inputs} inputs, ${shape.units} units, ${shape.bits} bits`, () => {
        const random = new SeededRandom(shape.batch * 1000 + shape.inputs);
        const { signs, codes, maxCode } = randomOperands(random, shape);

        const actual = bitwiseWeightGradient(getBackend(), signs, codes, maxCode, shape.bits, shape.batch, shape.inputs, shape.units);

        assert.deepEqual(Array.from(actual), floatWeightGradient(signs, codes, shape));
      });
    }

    test('all codes at the extremes', () => {
      // Every x = -1 and every c = -maxCode: each element is batch * maxCode = 33 * 127.
      const shape = { batch: 33, inputs: 35, units: 2, bits: 8 };
      const signs = new Float32Array(33 * 35).fill(-1);
      const codes = new Int8Array(33 * 2).fill(-127);
      const actual = bitwiseWeightGradient(getBackend(), signs, codes, 127, 8, shape.batch, shape.inputs, shape.units);
      assert.ok(actual.every((value) => value === 33 * 127), `first element ${actual[0]}`);
    });
  });
}

const reference = new ReferenceBackend();
let wasm: Backend;
before(async () => {
  wasm = await createWasmBackend();
});

checkBackend('reference', () => reference);
checkBackend('wasm', () => wasm);

describe('bitwiseWeightGradient input checks', () => {
  test('non-binary input', () => {
    assert.throws(
      () => bitwiseWeightGradient(reference, Float32Array.of(1, 0.5), Int8Array.of(1, -1), 1, 2, 2, 1, 1),
      (error: Error) => error instanceof QnnError && /input \[1, 0\] is 0.5, but the bit-wise backward needs a ±1 input/.test(error.message),
    );
  });

  test('codes of the wrong length', () => {
    assert.throws(() => bitwiseWeightGradient(reference, Float32Array.of(1, -1), Int8Array.of(1), 1, 2, 2, 1, 1), /codes has 1 elements, expected batch \* units = 2 \* 1/);
  });
});

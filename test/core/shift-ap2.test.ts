import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ap2 } from '../../sdk/quantizers/ap2.js';
import { SeededRandom } from '../helpers/random.js';

describe('ap2', () => {
  test('powers of two are unchanged', () => {
    for (const x of [1, 2, 0.5, 2 ** -20, 2 ** 40, -4, -0.125]) assert.equal(ap2(x), x);
  });

  test('rounds the exponent to nearest', () => {
    assert.equal(ap2(3), 4);
    assert.equal(ap2(0.75), 1);
    assert.equal(ap2(0.3), 0.25);
    assert.equal(ap2(5), 4);
    assert.equal(ap2(6), 8);
  });

  test('boundary is the geometric mean', () => {
    // Between 2 and 4 the boundary is 2^1.5 = 2.8284..., not the midpoint 3.
    assert.equal(ap2(2.82), 2);
    assert.equal(ap2(2.83), 4);
    assert.equal(ap2(2.9), 4);
  });

  test('boundary at sqrt(2) is exact', () => {
    // Math.SQRT2 is the smallest float64 above sqrt(2), and the float64 before it is below sqrt(2).
    assert.equal(ap2(Math.SQRT2), 2);
    assert.equal(ap2(Math.SQRT2 - 2 ** -52), 1);
    assert.equal(ap2(-Math.SQRT2 * 2 ** -30), -(2 ** -29));
    assert.equal(ap2(-(Math.SQRT2 - 2 ** -52) * 2 ** -30), -(2 ** -30));
  });

  test('matches the log2 definition', () => {
    // Away from the sqrt(2) boundary Math.log2 is accurate enough to serve as the oracle.
    const random = new SeededRandom(7);
    for (let i = 0; i < 10000; i++) {
      const x = (random.next() - 0.5) * 2 ** (random.int(-300, 300));
      const exponent = Math.log2(Math.abs(x));
      if (Math.abs(exponent - Math.floor(exponent) - 0.5) < 1e-9) continue;
      assert.equal(ap2(x), Math.sign(x) * 2 ** Math.round(exponent), `ap2(${x})`);
    }
  });

  test('subnormal input', () => {
    // 3 * 2^-1074 has log2 = -1074 + 1.585, which rounds to -1072.
    assert.equal(ap2(3 * 2 ** -1074), 2 ** -1072);
    assert.equal(ap2(-(2 ** -1074)), -(2 ** -1074));
  });

  test('overflow gives infinity', () => {
    assert.equal(ap2(1.9 * 2 ** 1023), Infinity);
    assert.equal(ap2(-Number.MAX_VALUE), -Infinity);
    assert.equal(ap2(1.4 * 2 ** 1023), 2 ** 1023);
  });

  test('keeps the sign', () => {
    assert.equal(ap2(-3), -4);
    assert.equal(ap2(-0.3), -0.25);
  });

  test('zero, infinity and NaN', () => {
    assert.ok(Object.is(ap2(0), 0));
    assert.ok(Object.is(ap2(-0), -0));
    assert.equal(ap2(Infinity), Infinity);
    assert.equal(ap2(-Infinity), -Infinity);
    assert.ok(Number.isNaN(ap2(NaN)));
  });
});

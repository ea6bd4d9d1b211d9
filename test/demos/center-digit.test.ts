import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { QnnError, ShapeError } from '../../sdk/errors.js';
import { centerDigit } from '../../sdk/finetune/center-digit.js';

function blank(width: number, height: number): Uint8Array {
  return new Uint8Array(width * height);
}

function fillRect(ink: Uint8Array, width: number, left: number, top: number, w: number, h: number): void {
  for (let y = top; y < top + h; y++) for (let x = left; x < left + w; x++) ink[y * width + x] = 255;
}

function centerOfMass(digit: Uint8Array): { x: number; y: number } {
  let mass = 0;
  let x = 0;
  let y = 0;
  for (let i = 0; i < digit.length; i++) {
    mass += digit[i];
    x += digit[i] * (i % 28);
    y += digit[i] * Math.floor(i / 28);
  }
  return { x: x / mass, y: y / mass };
}

describe('centerDigit', () => {
  test('square scales to 20x20 in the middle', () => {
    const ink = blank(100, 100);
    fillRect(ink, 100, 60, 10, 40, 40);
    const digit = centerDigit(ink, 100, 100);

    // The 20 x 20 box has its center of mass at 9.5, so it lands at rows and columns 4..23.
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const inside = x >= 4 && x <= 23 && y >= 4 && y <= 23;
        assert.equal(digit[y * 28 + x], inside ? 255 : 0, `pixel (${x}, ${y})`);
      }
    }
  });

  test('tall stroke keeps its aspect ratio', () => {
    const ink = blank(50, 80);
    fillRect(ink, 50, 20, 0, 10, 80);
    const digit = centerDigit(ink, 50, 80);
    const inked = Array.from(digit).filter((v) => v > 0).length;

    // 10 x 80 becomes 3 x 20 (10 * 20 / 80 = 2.5 rounds to 3 columns).
    assert.equal(inked, 60);
  });

  test('lopsided shape centers its mass', () => {
    const ink = blank(60, 60);
    fillRect(ink, 60, 0, 0, 60, 6);
    fillRect(ink, 60, 0, 0, 6, 60);
    const { x, y } = centerOfMass(centerDigit(ink, 60, 60));

    assert.ok(Math.abs(x - 13.5) <= 0.5, `center of mass x = ${x}`);
    assert.ok(Math.abs(y - 13.5) <= 0.5, `center of mass y = ${y}`);
  });

  test('empty drawing throws', () => {
    assert.throws(() => centerDigit(blank(10, 10), 10, 10), QnnError);
  });

  test('wrong ink length throws', () => {
    assert.throws(() => centerDigit(blank(10, 10), 10, 11), ShapeError);
  });
});

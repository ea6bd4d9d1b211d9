import { roundHalfToEven } from './rounding.js';

// A float64 and its two 32-bit words, to read the exponent and significand bits.
const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer);
// The word with the sign and exponent is the second one on little-endian hosts.
const HIGH = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;
const LOW = 1 - HIGH;
// Significand bits of Math.SQRT2 (0x3FF6A09E667F3BCD), the smallest float64 above sqrt(2).
const SQRT2_SIGNIFICAND_HIGH = 0x6a09e;
const SQRT2_SIGNIFICAND_LOW = 0x667f3bcd;

/**
 * AP2, the power-of-two approximation of Hubara et al. ("Quantized Neural
 * Networks", arXiv 1609.07061): AP2(x) = sign(x) * 2^round(log2|x|), with
 * AP2(0) = 0. Multiplying by AP2(x) is a shift of the exponent, which is what
 * shift-based batch norm and shift-based AdaMax replace multiplications with.
 * With |x| = m * 2^e and m in [1, 2), round(log2|x|) is e + 1 when m > sqrt(2)
 * and e otherwise, so the boundary between 2^e and 2^(e+1) is their geometric
 * mean. No float64 equals sqrt(2), so there are no ties, and comparing the bits
 * of m gives the exact result without Math.log2's rounding error.
 * Unlike `logQuant`, AP2 has no bit width: every exponent is kept, and a
 * result beyond the float64 range is Infinity. Infinity and NaN are returned
 * unchanged.
 */
export function ap2(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;

  scratch[0] = x;
  const high = words[HIGH];
  const biasedExponent = (high >>> 20) & 0x7ff;
  // Subnormals have no implicit leading 1, so the bit test does not apply; they are rare enough for Math.log2.
  if (biasedExponent === 0) return Math.sign(x) * 2 ** roundHalfToEven(Math.log2(Math.abs(x)));

  const significandHigh = high & 0xfffff;
  const roundsUp = significandHigh > SQRT2_SIGNIFICAND_HIGH || (significandHigh === SQRT2_SIGNIFICAND_HIGH && words[LOW] >= SQRT2_SIGNIFICAND_LOW);
  const resultExponent = biasedExponent + (roundsUp ? 1 : 0);
  if (resultExponent === 0x7ff) return x > 0 ? Infinity : -Infinity;

  words[HIGH] = (high & 0x80000000) | (resultExponent << 20);
  words[LOW] = 0;
  return scratch[0];
}

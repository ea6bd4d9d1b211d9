/**
 * Rounds to the nearest integer with ties to even, the IEEE 754 default and
 * the rule every k-bit quantizer here uses. Math.round rounds ties up
 * (2.5 -> 3, -2.5 -> -2), which biases quantized values upward.
 */
export function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Computes the logistic sigmoid of one value, split by sign so that exp never
 * overflows. The packed recurrent cell calls the same function, so its gates
 * equal the training graph's (test/recurrent/packed-recurrent.test.ts checks the scores).
 */
export function sigmoidValue(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/** Computes tanh of one value; the packed recurrent cell shares it for the same reason. */
export function tanhValue(v: number): number {
  return Math.tanh(v);
}

import { QnnError, ShapeError } from '../errors.js';
import { wordsPerRow } from './backend.js';

// Argument checks shared by the WASM and WebGPU backends, so both reject the
// same bad input with the same message before any memory is touched.

/** Largest dimension the kernels accept, because they take dimensions as i32. */
export const MAX_DIM = 0x7fffffff;

export function checkDims(kernel: string, dims: Record<string, number>): void {
  for (const [name, value] of Object.entries(dims)) {
    if (!Number.isInteger(value) || value < 0 || value > MAX_DIM) {
      throw new ShapeError(`${kernel}: ${name} = ${value} is invalid, expected an integer from 0 to ${MAX_DIM}`);
    }
  }
}

/** Throws a ShapeError unless `array` has `expected` elements. `layout` states the expected shape, e.g. "m * k = 3 * 4". */
export function checkLength(kernel: string, name: string, array: ArrayLike<number>, expected: number, layout: string): void {
  if (array.length !== expected) {
    throw new ShapeError(`${kernel}: ${name} has ${array.length} elements, expected ${layout} = ${expected}`);
  }
}

/** Throws a QnnError unless `bits` is an integer bit width from 1 to 8. */
export function checkPlaneBits(name: string, bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) {
    throw new QnnError(`bitplaneGemmBits: ${name} = ${bits} is invalid, expected an integer from 1 to 8`);
  }
}

/** Throws a QnnError naming the first element of x that does not fit in `activationBits` bits. */
export function checkActivationRange(x: Uint8Array, activationBits: number): void {
  const limit = 2 ** activationBits;
  if (limit > 255) return;
  const index = x.findIndex((value) => value >= limit);
  if (index >= 0) {
    throw new QnnError(
      `bitplaneGemmBits: x[${index}] = ${x[index]} does not fit in activationBits = ${activationBits} ` +
        `(expected 0 to ${limit - 1}). Raise activationBits or requantize x`,
    );
  }
}

/**
 * The argument checks of bitplaneGemmBits, shared by every backend that runs it: dimensions, bit widths,
 * operand lengths, the range of x, and that the largest possible |out| fits the int32 accumulators.
 */
export function checkBitplaneGemmBits(
  x: Uint8Array,
  activationBits: number,
  w: Uint32Array,
  weightBits: number,
  m: number,
  n: number,
  k: number,
): void {
  checkDims('bitplaneGemmBits', { m, n, k });
  checkPlaneBits('activationBits', activationBits);
  checkPlaneBits('weightBits', weightBits);
  const words = wordsPerRow(k);
  checkLength('bitplaneGemmBits', 'x', x, m * k, `m * k = ${m} * ${k}`);
  checkLength('bitplaneGemmBits', 'w', w, n * weightBits * words, `n * weightBits * ceil(k / 32) = ${n} * ${weightBits} * ${words}`);
  checkActivationRange(x, activationBits);
  // The kernels' i32 arithmetic wraps, so it is exact only while the largest possible |out| fits in i32.
  const maxMagnitude = (2 ** activationBits - 1) * (2 ** weightBits - 1) * k;
  if (maxMagnitude > MAX_DIM) {
    throw new QnnError(
      `bitplaneGemmBits: k = ${k} with activationBits = ${activationBits} and weightBits = ${weightBits} can reach ` +
        `|out| = ${maxMagnitude}, past the int32 maximum ${MAX_DIM}. Split k into shorter partial sums`,
    );
  }
}

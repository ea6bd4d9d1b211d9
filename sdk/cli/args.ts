import { QnnError } from '../errors.js';

// Decimal digits only, so '1e3' or '0x2' are not taken for integers.
const DECIMAL_INTEGER = /^\d+$/;

/** Parses a positive integer option value, naming the option when it is not one. */
export function positiveInteger(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!DECIMAL_INTEGER.test(value) || !Number.isSafeInteger(parsed) || parsed <= 0) {
    throw new QnnError(`--${option} must be a positive integer, got '${value}'`);
  }
  return parsed;
}

/** Parses an integer option value from `min` to `max`, naming the option and the range when it is not one. */
export function integerInRange(value: string, option: string, min: number, max: number): number {
  const parsed = Number(value);
  if (!DECIMAL_INTEGER.test(value) || parsed < min || parsed > max) {
    throw new QnnError(`--${option} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return parsed;
}

export function positiveNumber(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new QnnError(`--${option} must be a positive number, got '${value}'`);
  return parsed;
}

export function fraction(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!(parsed >= 0 && parsed < 1)) throw new QnnError(`--${option} must be in [0, 1), got '${value}'`);
  return parsed;
}

/** Parses a comma-separated list of layer widths such as "1024,1024". */
export function widths(value: string | undefined, option: string, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const parts = value.split(',').map((part) => part.trim());
  const parsed = parts.map(Number);
  if (parts.length === 0 || parsed.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new QnnError(`--${option} must be a comma-separated list of positive integers, got '${value}'`);
  }
  return parsed;
}

/** Parses a thread count: a positive integer or 'auto' (one per core, capped by the backend). */
export function threadCount(value: string | undefined, option: string): number | 'auto' {
  if (value === undefined) return 1;
  if (value === 'auto') return 'auto';
  return positiveInteger(value, option, 1);
}

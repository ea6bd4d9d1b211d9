// The shape of a WebGPU conformance case and its assertions, free of any runtime's test API, so
// that the same cases run under node:test, Deno and a Chromium page driven by Playwright.
import type { WebGpuBackend } from '../../../gpu/webgpu-backend.js';

/** One named check of the WebGPU backend; `run` rejects with an Error that says what differed. */
export interface ConformanceCase {
  name: string;
  run(backend: WebGpuBackend): Promise<void>;
}

/**
 * Throws unless `actual` and `expected` have the same length and equal elements (NaN equals NaN,
 * 0 equals -0). The message names `context`, the first differing index and how many differ.
 */
export function expectEqual(actual: ArrayLike<number>, expected: ArrayLike<number>, context: string): void {
  if (actual.length !== expected.length) {
    throw new Error(`${context}: got ${actual.length} elements, expected ${expected.length}`);
  }
  let first = -1;
  let differing = 0;
  for (let i = 0; i < expected.length; i++) {
    const same = actual[i] === expected[i] || (Number.isNaN(actual[i]) && Number.isNaN(expected[i]));
    if (same) continue;
    if (first < 0) first = i;
    differing++;
  }
  if (first >= 0) {
    throw new Error(
      `${context}: first difference at index ${first}: got ${actual[first]}, expected ${expected[first]} ` +
        `(${differing} of ${expected.length} elements differ)`,
    );
  }
}

/** Resolves when `promise` rejects with an instance of `errorClass` whose message matches `pattern`; throws otherwise. */
export async function expectRejects(
  promise: Promise<unknown>,
  errorClass: abstract new (...args: never[]) => Error,
  pattern: RegExp,
): Promise<void> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    if (!(error instanceof errorClass)) {
      throw new Error(`expected a ${errorClass.name} matching ${pattern}, got ${describeError(error)}`, { cause: error });
    }
    if (!pattern.test(error.message)) {
      throw new Error(`expected a ${errorClass.name} matching ${pattern}, got the message: ${error.message}`, { cause: error });
    }
    return;
  }
  throw new Error(`expected a ${errorClass.name} matching ${pattern}, but the call resolved to ${String(outcome)}`);
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : `the non-Error value ${String(error)}`;
}

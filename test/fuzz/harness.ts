/**
 * Runs a decoder on mutated copies of valid seed files and checks the contract every
 * SDK reader keeps for untrusted input: it returns a result or throws a QnnError
 * (FileFormatError and ShapeError included), never another exception. A result
 * contains at most `allocationFactor` bytes of typed arrays per input byte.
 */
import assert from 'node:assert/strict';

import { QnnError } from '../../sdk/errors.js';
import { SeededRandom } from '../helpers/random.js';
import { type FuzzCase, type MutatorOptions, Mutator, typedArrayBytes } from './mutator.js';

export interface FuzzTarget<T> {
  name: string;
  seeds: Uint8Array[];
  decode: (bytes: Uint8Array) => T;
  /** Bound on the typed-array bytes of a result, as a multiple of the input's length. */
  allocationFactor: number;
  /** Further checks of a successful result, e.g. that the data length matches the shape; throws on a violation. */
  check?: (result: T, bytes: Uint8Array) => void;
  mutator?: MutatorOptions;
  /** Format-aware generator of cases, used in place of the byte mutator when given. */
  mutate?: (seed: Uint8Array, random: SeededRandom) => FuzzCase;
  cases: number;
}

export interface FuzzSummary {
  cases: number;
  loaded: number;
  rejected: number;
}

/** Base of the mutators' random seeds; QNN_FUZZ_SEED picks another stream of cases. */
export function fuzzBaseSeed(): number {
  const text = process.env.QNN_FUZZ_SEED;
  if (text === undefined || text === '') return 20261205;
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new Error(`QNN_FUZZ_SEED must be an integer, found "${text}"`);
  return seed;
}

/**
 * Decodes every seed unchanged (each must load), then `target.cases` mutated cases spread
 * over the seeds. Fails with the random seed, the case index and the mutation of the
 * first case that breaks the contract.
 */
export function runFuzzTarget<T>(target: FuzzTarget<T>, baseSeed = fuzzBaseSeed()): FuzzSummary {
  target.seeds.forEach((seed, index) => {
    const result = target.decode(seed);
    checkResult(target, result, seed, `${target.name}: unmutated seed ${index}`);
  });

  const mutators = target.seeds.map((seed, index) => {
    const randomSeed = baseSeed + 7919 * index;
    const mutate = target.mutate;
    if (mutate === undefined) return new Mutator(seed, randomSeed, target.mutator);
    const random = new SeededRandom(randomSeed);
    return { next: () => mutate(seed, random) };
  });
  const summary: FuzzSummary = { cases: 0, loaded: 0, rejected: 0 };
  for (let caseIndex = 0; caseIndex < target.cases; caseIndex++) {
    const seedIndex = caseIndex % mutators.length;
    const fuzzCase = mutators[seedIndex].next();
    const where = `${target.name}: random seed ${baseSeed + 7919 * seedIndex} (QNN_FUZZ_SEED=${baseSeed}), seed file ${seedIndex}, case ${caseIndex}, mutation: ${fuzzCase.description}`;

    let result: T;
    try {
      result = target.decode(fuzzCase.bytes);
    } catch (error) {
      if (error instanceof QnnError) {
        summary.rejected++;
        summary.cases++;
        continue;
      }
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      assert.fail(`${where}: threw a non-QnnError: ${detail}`);
    }
    checkResult(target, result, fuzzCase.bytes, where);
    summary.loaded++;
    summary.cases++;
  }
  return summary;
}

function checkResult<T>(target: FuzzTarget<T>, result: T, bytes: Uint8Array, where: string): void {
  const allocated = typedArrayBytes(result);
  const bound = target.allocationFactor * bytes.length;
  if (allocated > bound) {
    assert.fail(`${where}: the result holds ${allocated} bytes of typed arrays, more than ${target.allocationFactor} x ${bytes.length} input bytes`);
  }
  try {
    target.check?.(result, bytes);
  } catch (error) {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    assert.fail(`${where}: the loaded result fails its check: ${detail}`);
  }
}

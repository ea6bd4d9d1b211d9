/**
 * Seeded mutator for fuzzing the SDK's file readers. It imports nothing from the
 * SDK, so it can drive any decoder. Each case copies the seed file and applies up to
 * three of the operators below, and it is reproducible from the random seed and the
 * case index alone.
 */
import { SeededRandom } from '../helpers/random.js';

/** Byte values that sit on the edges of signed and unsigned ranges. */
const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80];

/** u32 values that test count bounds, sign confusion and wraparound. */
const INTERESTING_U32 = [0, 1, 2 ** 31, 2 ** 32 - 1];

export type MutationKind =
  | 'bit-flip'
  | 'interesting-byte'
  | 'interesting-u32'
  | 'truncate'
  | 'extend'
  | 'duplicate-chunk'
  | 'delete-chunk';

export const MUTATION_KINDS: readonly MutationKind[] = [
  'bit-flip',
  'interesting-byte',
  'interesting-u32',
  'truncate',
  'extend',
  'duplicate-chunk',
  'delete-chunk',
];

export interface MutatorOptions {
  /** Byte order of the u32 fields the format uses; both orders are tried when absent. */
  littleEndian?: boolean;
  /**
   * Recomputes the file's own integrity fields (a checksum, a length in the header)
   * after a mutation, so the case reaches the parser behind them. Applied to about
   * half of the cases when given.
   */
  reseal?: (bytes: Uint8Array) => Uint8Array;
  /**
   * Granularity of the format's records, e.g. 4 for a format whose records start 4-byte
   * aligned. Half of the size-changing mutations then move whole units, so they shift
   * records instead of breaking the alignment check first.
   */
  alignment?: number;
}

export interface FuzzCase {
  bytes: Uint8Array;
  /** What was done, e.g. "interesting-u32 0x80000000 at 20 (resealed)", for failure messages. */
  description: string;
}

/** Produces mutated copies of `seed`, one per call, from a reproducible stream of random numbers. */
export class Mutator {
  private readonly random: SeededRandom;

  constructor(
    private readonly seed: Uint8Array,
    randomSeed: number,
    private readonly options: MutatorOptions = {},
  ) {
    this.random = new SeededRandom(randomSeed);
  }

  next(): FuzzCase {
    // Stacking 1 to 3 operators reaches states one operator cannot, such as a count
    // raised together with the bytes that the count asks for.
    const steps = 1 + (this.random.next() < 0.3 ? this.random.int(1, 2) : 0);
    let bytes: Uint8Array = this.seed.slice();
    const parts: string[] = [];
    for (let step = 0; step < steps; step++) {
      const kind = MUTATION_KINDS[this.random.int(0, MUTATION_KINDS.length - 1)];
      const result = this.apply(kind, bytes);
      bytes = result.bytes;
      parts.push(result.description);
    }

    if (this.options.reseal !== undefined && this.random.next() < 0.5) {
      bytes = this.options.reseal(bytes);
      parts.push('(resealed)');
    }
    return { bytes, description: parts.join(', ') };
  }

  /** Rounds a size or offset down to the format's alignment on about half of the calls. */
  private align(value: number): number {
    const alignment = this.options.alignment ?? 1;
    if (alignment === 1 || this.random.next() < 0.5) return value;
    return value - (value % alignment);
  }

  private apply(kind: MutationKind, bytes: Uint8Array): FuzzCase {
    const random = this.random;
    const length = bytes.length;
    switch (kind) {
      case 'bit-flip': {
        if (length === 0) return this.apply('extend', bytes);
        const offset = random.int(0, length - 1);
        const bit = random.int(0, 7);
        bytes[offset] ^= 1 << bit;
        return { bytes, description: `bit-flip bit ${bit} at ${offset}` };
      }
      case 'interesting-byte': {
        if (length === 0) return this.apply('extend', bytes);
        const offset = random.int(0, length - 1);
        const value = INTERESTING_BYTES[random.int(0, INTERESTING_BYTES.length - 1)];
        bytes[offset] = value;
        return { bytes, description: `interesting-byte 0x${value.toString(16)} at ${offset}` };
      }
      case 'interesting-u32': {
        if (length < 4) return this.apply('bit-flip', bytes);
        // Aligned offsets hit the fields of aligned formats; any offset hits the others.
        const aligned = random.next() < 0.75;
        const offset = aligned ? 4 * random.int(0, Math.floor(length / 4) - 1) : random.int(0, length - 4);
        const value = INTERESTING_U32[random.int(0, INTERESTING_U32.length - 1)];
        const littleEndian = this.options.littleEndian ?? random.next() < 0.5;
        new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(offset, value, littleEndian);
        return { bytes, description: `interesting-u32 0x${value.toString(16)} at ${offset}${littleEndian ? '' : ' big-endian'}` };
      }
      case 'truncate': {
        const keep = this.align(random.next() < 0.3 ? random.int(0, Math.min(length, 64)) : random.int(0, length));
        return { bytes: bytes.slice(0, keep), description: `truncate to ${keep} bytes` };
      }
      case 'extend': {
        const extra = Math.max(1, this.align(random.int(1, 64)));
        const grown = new Uint8Array(length + extra);
        grown.set(bytes);
        const fill = random.next() < 0.5 ? 0 : random.int(0, 255);
        grown.fill(fill, length);
        return { bytes: grown, description: `extend by ${extra} bytes of 0x${fill.toString(16)}` };
      }
      case 'duplicate-chunk': {
        if (length === 0) return this.apply('extend', bytes);
        const start = this.align(random.int(0, length - 1));
        const size = Math.max(1, this.align(random.int(1, Math.min(64, length - start))));
        const at = this.align(random.int(0, length));
        const grown = new Uint8Array(length + size);
        grown.set(bytes.subarray(0, at), 0);
        grown.set(bytes.subarray(start, start + size), at);
        grown.set(bytes.subarray(at), at + size);
        return { bytes: grown, description: `duplicate-chunk ${size} bytes from ${start} inserted at ${at}` };
      }
      case 'delete-chunk': {
        if (length === 0) return this.apply('extend', bytes);
        const start = this.align(random.int(0, length - 1));
        const size = Math.max(1, this.align(random.int(1, Math.min(64, length - start))));
        const shrunk = new Uint8Array(length - size);
        shrunk.set(bytes.subarray(0, start), 0);
        shrunk.set(bytes.subarray(start + size), start);
        return { bytes: shrunk, description: `delete-chunk ${size} bytes at ${start}` };
      }
    }
  }
}

/** Sums the byte lengths of every typed array reachable from `value` (each object visited once). */
export function typedArrayBytes(value: unknown, seen = new Set<object>()): number {
  if (value === null || typeof value !== 'object' || seen.has(value)) return 0;
  seen.add(value);
  if (ArrayBuffer.isView(value)) return value.byteLength;

  let total = 0;
  for (const child of Object.values(value)) total += typedArrayBytes(child, seen);
  return total;
}

/** Number of cases per format: QNN_FUZZ_CASES from the environment when set, else `fallback`. */
export function fuzzCaseCount(fallback: number): number {
  const text = process.env.QNN_FUZZ_CASES;
  if (text === undefined || text === '') return fallback;
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1) throw new Error(`QNN_FUZZ_CASES must be a positive integer, found "${text}"`);
  return count;
}

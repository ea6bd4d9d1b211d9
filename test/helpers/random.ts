/**
 * Seeded pseudo-random numbers for reproducible tests. The generator is
 * mulberry32, which advances a 32-bit state by a constant (a Weyl sequence)
 * and mixes it with two multiply-xorshift steps.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Returns the next unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Returns a float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Returns an integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Returns `length` floats uniform in [-1, 1), with exact zeros of both signs mixed in. */
  floats(length: number): Float32Array {
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      const roll = this.next();
      if (roll < 0.02) out[i] = 0;
      else if (roll < 0.04) out[i] = -0;
      else out[i] = this.next() * 2 - 1;
    }
    return out;
  }

  /** Returns `length` unsigned bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.nextUint32() & 0xff;
    return out;
  }

  /** Returns `length` signed integers in [min, max]. */
  ints(length: number, min: number, max: number): Int32Array {
    const out = new Int32Array(length);
    for (let i = 0; i < length; i++) out[i] = this.int(min, max);
    return out;
  }

  /** Returns `rows` rows of k random packed signs, with the pad bits of each last word cleared. */
  packedSigns(rows: number, k: number): Uint32Array {
    const words = Math.ceil(k / 32);
    const out = new Uint32Array(rows * words);
    for (let r = 0; r < rows; r++) {
      for (let w = 0; w < words; w++) {
        const validBits = Math.min(32, k - w * 32);
        const mask = validBits === 32 ? 0xffffffff : (1 << validBits) - 1;
        out[r * words + w] = (this.nextUint32() & mask) >>> 0;
      }
    }
    return out;
  }
}

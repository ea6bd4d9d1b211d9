import { QnnError } from './errors.js';

/**
 * Seeded pseudo-random numbers (the SplitMix32 mixer over a 32-bit counter),
 * so that weight initialization, data order, dropout masks and stochastic
 * binarization repeat exactly for the same seed on every runtime.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { length: number; [index: number]: number }>(values: T): T {
    for (let i = values.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = values[i];
      values[i] = values[j];
      values[j] = tmp;
    }
    return values;
  }

  /** Returns the 32-bit counter, which fully determines the rest of the stream, for checkpoints. */
  getState(): number {
    return this.state;
  }

  /** Continues the stream from a counter that getState returned. */
  setState(state: number): void {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) throw new QnnError(`Random.setState: expected a 32-bit unsigned integer, got ${state}`);
    this.state = state;
  }

  /** Derives an independent stream from this one, so adding draws in one place does not shift another. */
  fork(): Random {
    return new Random(this.nextUint32());
  }
}

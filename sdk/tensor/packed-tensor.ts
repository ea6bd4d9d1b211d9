import type { Backend } from '../backends/backend.js';
import { wordsPerRow } from '../backends/backend.js';
import { ShapeError } from '../errors.js';
import { Tensor, formatShape } from './tensor.js';

/**
 * A [rows, k] matrix of signs packed along k: each row is ceil(k / 32)
 * little-endian 32-bit words, element i in bit i mod 32, bit 1 for -1, pad bits 0.
 * Binary kernels take packed operands of this layout.
 */
export class PackedTensor {
  readonly rows: number;
  readonly k: number;
  readonly words: Uint32Array;

  constructor(words: Uint32Array, rows: number, k: number) {
    if (words.length !== rows * wordsPerRow(k)) {
      throw new ShapeError(`packed tensor [${rows}, ${k}] needs ${rows * wordsPerRow(k)} words, got ${words.length}`);
    }
    const tailBits = k % 32;
    if (tailBits !== 0) {
      const padMask = ~((1 << tailBits) - 1) >>> 0;
      for (let r = 0; r < rows; r++) {
        if ((words[(r + 1) * wordsPerRow(k) - 1] & padMask) !== 0) throw new ShapeError(`packed tensor row ${r} has pad bits set beyond k = ${k}`);
      }
    }
    this.rows = rows;
    this.k = k;
    this.words = words;
  }

  get wordsPerRow(): number {
    return wordsPerRow(this.k);
  }

  /** Packs sign(x) of a [rows, k] tensor along its last axis on `backend`. */
  static fromTensor(x: Tensor, backend: Backend): PackedTensor {
    if (x.rank !== 2) throw new ShapeError(`only [rows, k] tensors can be packed, got ${formatShape(x.shape)}`);
    const [rows, k] = x.shape;
    const data = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
    return new PackedTensor(backend.packSigns(data, rows, k), rows, k);
  }

  /** Returns the signs as a float32 [rows, k] tensor of +1 and -1. */
  toTensor(): Tensor {
    const out = new Float32Array(this.rows * this.k);
    const stride = this.wordsPerRow;
    for (let r = 0; r < this.rows; r++) {
      for (let i = 0; i < this.k; i++) {
        const bit = (this.words[r * stride + (i >>> 5)] >>> (i & 31)) & 1;
        out[r * this.k + i] = bit === 1 ? -1 : 1;
      }
    }
    return new Tensor(out, [this.rows, this.k]);
  }

  /** Size in bytes of the packed words. */
  get byteLength(): number {
    return this.words.byteLength;
  }
}

import { type Backend, wordsPerRow } from './backend.js';
import { popcount32 } from './popcount.js';

/**
 * Plain TypeScript kernels: the oracle every other backend is tested against.
 * Written for clarity, not speed.
 */
export class ReferenceBackend implements Backend {
  readonly name = 'reference';

  matmul(
    a: Float32Array,
    b: Float32Array,
    m: number,
    k: number,
    n: number,
    transposeA: boolean,
    transposeB: boolean,
  ): Float32Array {
    const c = new Float32Array(m * n);

    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = transposeA ? a[p * m + i] : a[i * k + p];
          const bv = transposeB ? b[j * k + p] : b[p * n + j];
          sum += av * bv;
        }
        c[i * n + j] = sum;
      }
    }
    return c;
  }

  packSigns(x: Float32Array, rows: number, k: number): Uint32Array {
    const words = wordsPerRow(k);
    const out = new Uint32Array(rows * words);

    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < k; i++) {
        // Only x < 0 sets a bit, so -0.0 and +0.0 both pack as +1.
        if (x[r * k + i] < 0) out[r * words + (i >>> 5)] |= 1 << (i & 31);
      }
    }
    return out;
  }

  binaryGemm(a: Uint32Array, b: Uint32Array, m: number, n: number, k: number): Int32Array {
    const words = wordsPerRow(k);
    const out = new Int32Array(m * n);

    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let differing = 0;
        for (let w = 0; w < words; w++) differing += popcount32(a[i * words + w] ^ b[j * words + w]);
        out[i * n + j] = k - 2 * differing;
      }
    }
    return out;
  }

  bitplaneGemm(x: Uint8Array, w: Uint32Array, m: number, n: number, k: number): Int32Array {
    const out = new Int32Array(m * n);

    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const negative = (w[j * wordsPerRow(k) + (p >>> 5)] >>> (p & 31)) & 1;
          sum += negative ? -x[i * k + p] : x[i * k + p];
        }
        out[i * n + j] = sum;
      }
    }
    return out;
  }

  thresholdPack(
    acc: Int32Array,
    rows: number,
    cols: number,
    thresholds: Int32Array,
    directions: Int8Array,
  ): Uint32Array {
    const words = wordsPerRow(cols);
    const out = new Uint32Array(rows * words);

    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const value = acc[r * cols + c];
        const positive = directions[c] >= 0 ? value >= thresholds[c] : value <= thresholds[c];
        if (!positive) out[r * words + (c >>> 5)] |= 1 << (c & 31);
      }
    }
    return out;
  }
}

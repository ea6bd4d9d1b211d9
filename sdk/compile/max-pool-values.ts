import { windowOutputSize } from '../backends/backend.js';
import type { PoolWindow } from './graph.js';

/** Plain-array max-pooling input: NHWC values of `rows` samples. */
export interface PoolInput<T extends Int32Array | Float32Array> {
  values: T;
  rows: number;
  height: number;
  width: number;
  channels: number;
}

/**
 * Max-pools unpacked NHWC values over VALID windows, per channel, as the
 * training graph's MaxPool2D does. Used by the k-bit convolution on its int32
 * accumulators and on its outputs, where a monotone epilogue makes pooling
 * before or after it the same, so no threshold rewrite is needed.
 * Returns the pooled values and their height and width.
 */
export function maxPoolValues<T extends Int32Array | Float32Array>(input: PoolInput<T>, window: PoolWindow): { values: T; height: number; width: number } {
  const { values, rows, height, width, channels } = input;
  const outHeight = windowOutputSize(height, window.poolHeight, window.strideHeight, 'valid');
  const outWidth = windowOutputSize(width, window.poolWidth, window.strideWidth, 'valid');
  const out = (values instanceof Int32Array ? new Int32Array(rows * outHeight * outWidth * channels) : new Float32Array(rows * outHeight * outWidth * channels)) as T;

  for (let n = 0; n < rows; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const target = ((n * outHeight + oy) * outWidth + ox) * channels;
        for (let c = 0; c < channels; c++) {
          let best = -Infinity;
          for (let py = 0; py < window.poolHeight; py++) {
            for (let px = 0; px < window.poolWidth; px++) {
              const y = oy * window.strideHeight + py;
              const x = ox * window.strideWidth + px;
              const value = values[((n * height + y) * width + x) * channels + c];
              if (value > best) best = value;
            }
          }
          out[target + c] = best;
        }
      }
    }
  }
  return { values: out, height: outHeight, width: outWidth };
}

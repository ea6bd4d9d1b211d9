import type { DenseEpilogue } from './graph.js';

/**
 * Computes the float32 value that the training graph computes for integer accumulator `acc`
 * in channel c, step by step with the same rounding:
 * v = acc * inputScale, v = v + bias, v = v * scale + shift (Math.fround after each op).
 * Every step is monotone in acc, which is what lets thresholds be found exactly.
 */
export function applyEpilogue(epilogue: DenseEpilogue, acc: number, channel: number): number {
  let v = Math.fround(acc * epilogue.inputScale);
  if (epilogue.bias !== null) v = Math.fround(v + epilogue.bias[channel]);
  if (epilogue.scale !== null && epilogue.shift !== null) {
    v = Math.fround(Math.fround(v * epilogue.scale[channel]) + epilogue.shift[channel]);
  }
  return v;
}

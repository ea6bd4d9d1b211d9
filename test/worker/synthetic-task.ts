// A small separable task shared by the worker tests: three classes told apart by which third of the pixels is bright.
import { Random } from '../../sdk/random.js';

export interface SyntheticTask {
  pixels: Uint8Array;
  labels: Uint8Array;
  features: number;
  classes: number;
}

/** `count` samples of 48 pixels; class c has pixels 16c..16c+15 raised by 150 over a noise floor below 100. */
export function syntheticTask(count: number, seed: number): SyntheticTask {
  const features = 48;
  const classes = 3;
  const random = new Random(seed);
  const pixels = new Uint8Array(count * features);
  const labels = new Uint8Array(count);

  for (let i = 0; i < count; i++) {
    labels[i] = i % classes;
    for (let j = 0; j < features; j++) pixels[i * features + j] = Math.floor(random.next() * 100) + (Math.floor(j / 16) === labels[i] ? 150 : 0);
  }
  return { pixels, labels, features, classes };
}

import { QnnError } from '../errors.js';
import { convGeometry, forEachIm2colTap } from '../layers/im2col.js';
import { applyEpilogue } from './epilogue.js';
import type { PackedConv2dKbitLayer } from './graph.js';
import { maxPoolValues } from './max-pool-values.js';
import { thresholdCodes, unpackSigns } from './run-kbit.js';
import type { KernelCall } from './run-packed.js';

/** Output of a layer in the packed walk: packed signs, unsigned codes, or float32 values (NHWC for images). */
export type WalkActivation =
  | { kind: 'signs'; packed: Uint32Array }
  | { kind: 'codes'; codes: Uint8Array }
  | { kind: 'floats'; values: Float32Array };

/**
 * Runs one k-bit convolution on `rows` samples. The CPU writes a byte im2col of
 * the activation codes (code 0 in padded taps), the backend runs
 * bitplaneGemmBits, and the CPU adds the integer correction and the pad taps'
 * sums. Then come the optional accumulator pool, the epilogue (thresholds to
 * signs or codes, or float32 values) and the optional output pool.
 * `activation` is the previous layer's output, or null for the uint8 model input in `batch`.
 */
export function* walkConv2dKbit(
  layer: PackedConv2dKbitLayer,
  batch: Uint8Array,
  activation: WalkActivation | null,
  rows: number,
): Generator<KernelCall, WalkActivation, unknown> {
  const { height, width, channels, outChannels } = layer;
  const window = { ...layer, batch: rows };
  const { outHeight, outWidth } = convGeometry(window);
  const positions = rows * outHeight * outWidth;
  const reduction = layer.kernelHeight * layer.kernelWidth * channels;

  const codes = inputCodes(layer, batch, activation, rows * height * width);
  const cols = new Uint8Array(positions * reduction);
  forEachIm2colTap(window, (target, source, count) => {
    for (let c = 0; c < count; c++) cols[target + c] = codes[source + c];
  });

  const products = (yield {
    kernel: 'bitplaneGemmBits',
    args: [cols, layer.activationBits, layer.weights, layer.weightBits, positions, outChannels, reduction],
  }) as Int32Array;
  let acc = correctAccumulators(layer, products, cols, positions, padOffsets(layer));

  let shape = { rows, height: outHeight, width: outWidth, channels: outChannels };
  if (layer.pool !== null) {
    const pooled = maxPoolValues({ ...shape, values: acc }, layer.pool);
    acc = pooled.values;
    shape = { ...shape, height: pooled.height, width: pooled.width };
  }
  const pixels = rows * shape.height * shape.width;
  const output = layer.output;

  if (output.kind === 'signs') {
    const signs = (yield { kernel: 'thresholdPack', args: [acc, pixels, outChannels, output.thresholds, output.directions] }) as Uint32Array;
    if (layer.outputPool === null) return { kind: 'signs', packed: signs };
    // The max of signs is the sign of the max, because sign is non-decreasing.
    const poolShape = { batch: rows, height: shape.height, width: shape.width, channels: outChannels, ...layer.outputPool };
    return { kind: 'signs', packed: (yield { kernel: 'binaryMaxPool2d', args: [signs, poolShape] }) as Uint32Array };
  }

  if (output.kind === 'codes') {
    const levels = thresholdCodes(acc, pixels, outChannels, output);
    if (layer.outputPool === null) return { kind: 'codes', codes: levels };
    // Codes are non-decreasing in the float value, so their max is the code of the max.
    const pooled = maxPoolValues({ ...shape, values: Int32Array.from(levels) }, layer.outputPool);
    return { kind: 'codes', codes: Uint8Array.from(pooled.values) };
  }

  const values = new Float32Array(pixels * outChannels);
  for (let i = 0; i < values.length; i++) values[i] = applyEpilogue(output.epilogue, acc[i], i % outChannels);
  if (layer.outputPool === null) return { kind: 'floats', values };
  return { kind: 'floats', values: maxPoolValues({ ...shape, values }, layer.outputPool).values };
}

/** Returns the activation codes u, one byte per pixel and channel: the uint8 samples, unpacked signs (1 for +1) or the previous codes. */
function inputCodes(layer: PackedConv2dKbitLayer, batch: Uint8Array, activation: WalkActivation | null, pixels: number): Uint8Array {
  if (layer.input === 'uint8') return batch;
  if (layer.input === 'signs' && activation?.kind === 'signs') return unpackSigns(activation.packed, pixels, layer.channels);
  if (layer.input === 'codes' && activation?.kind === 'codes') return activation.codes;
  throw new QnnError(`conv2d-kbit layer takes ${layer.input} but the previous layer gave ${activation?.kind ?? 'nothing'}`);
}

/**
 * Returns [OH*OW, O]: per output position and filter, the sum of padTapSums over
 * the taps that fall in the padding, or null when no tap adds anything.
 */
function padOffsets(layer: PackedConv2dKbitLayer): Int32Array | null {
  if (!layer.padTapSums.some((sum) => sum !== 0)) return null;

  // One sample with a single channel marks which taps of each output position are inside the image.
  const taps = layer.kernelHeight * layer.kernelWidth;
  const window = { ...layer, batch: 1, channels: 1 };
  const { outHeight, outWidth } = convGeometry(window);
  const inside = new Uint8Array(outHeight * outWidth * taps);
  forEachIm2colTap(window, (target, _source, count) => {
    inside.fill(1, target, target + count);
  });

  const offsets = new Int32Array(outHeight * outWidth * layer.outChannels);
  for (let p = 0; p < outHeight * outWidth; p++) {
    for (let o = 0; o < layer.outChannels; o++) {
      let sum = 0;
      for (let t = 0; t < taps; t++) if (inside[p * taps + t] === 0) sum += layer.padTapSums[o * taps + t];
      offsets[p * layer.outChannels + o] = sum;
    }
  }
  return offsets;
}

/** acc = gemmScale * products + rowSumScale * sum(u) + correction[o] (+ the position's pad offset), as PackedConv2dKbitLayer states. */
function correctAccumulators(layer: PackedConv2dKbitLayer, products: Int32Array, cols: Uint8Array, positions: number, offsets: Int32Array | null): Int32Array {
  const { outChannels, gemmScale, rowSumScale, correction } = layer;
  const reduction = cols.length / positions;
  const acc = new Int32Array(positions * outChannels);

  for (let p = 0; p < positions; p++) {
    let rowSum = 0;
    if (rowSumScale !== 0) for (let i = 0; i < reduction; i++) rowSum += cols[p * reduction + i];
    const rowTerm = rowSumScale * rowSum;
    const offsetRow = offsets === null ? -1 : (p * outChannels) % offsets.length;
    for (let o = 0; o < outChannels; o++) {
      const pad = offsetRow < 0 ? 0 : offsets![offsetRow + o];
      acc[p * outChannels + o] = gemmScale * products[p * outChannels + o] + rowTerm + correction[o] + pad;
    }
  }
  return acc;
}

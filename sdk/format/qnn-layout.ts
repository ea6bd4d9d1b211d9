/**
 * Byte layout of the `.qnn` file, version 2 (docs/qnn-format.md has the full table).
 * Version 1 is version 2 with dense records only; the decoder reads both.
 * All integers and floats are little-endian and every record starts 4-byte aligned.
 *
 * Header, at byte 0:
 *   0   u8[8]        magic "QNNMODEL"
 *   8   u32          format version
 *   12  u32          header length = 28 + 4 * input rank
 *   16  u32          file length, checksum included
 *   20  u32          layer count
 *   24  u32          input rank
 *   28  u32[rank]    input shape
 * Then one record per layer, then the u32 CRC-32 of every byte before it.
 *
 * Dense layer record, at its first byte r:
 *   r+0   u32  record length
 *   r+4   u8   layer kind, u8 input kind, u8 output kind, u8 epilogue flags
 *   r+8   u32  inputs
 *   r+12  u32  units
 *   r+16  u32[units * ceil(inputs / 32)] packed weights
 *   signs output:  i32[units] thresholds, i8[units] directions, zero bytes to a multiple of 4
 *   scores output: f64 input scale, then f32[units] bias, scale, shift, each only when its flag is set
 *
 * Conv2d layer record (version 2):
 *   r+0   u32  record length
 *   r+4   u8   layer kind 2, u8 input kind, u8 output kind (1, signs), u8 padding (1 same, 2 valid)
 *   r+8   i32  pad value
 *   r+12  u32[8] height, width, channels, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth
 *   r+44  u32[4] accumulator pool: poolHeight, poolWidth, strideHeight, strideWidth (all 0 for none)
 *   r+60  u32[...] packed weights (layout in compile/graph.ts)
 *   then  i32[outChannels] thresholds, i8[outChannels] directions, zero bytes to a multiple of 4
 *
 * Max-pool layer record (version 2): u32 record length, u8 layer kind 3, u8[3] zero,
 *   u32[7] height, width, channels, poolHeight, poolWidth, strideHeight, strideWidth.
 * Flatten layer record (version 2): u32 record length, u8 layer kind 4, u8[3] zero,
 *   u32[3] height, width, channels.
 * Dense-kbit layer record (version 2, kind 5): layout in qnn-kbit-record.ts.
 */
import { wordsPerRow } from '../backends/backend.js';
import type { PackedInputKind } from '../compile/graph.js';

export const QNN_MAGIC = Uint8Array.from('QNNMODEL', (char) => char.charCodeAt(0));

/** Newest format version this code reads and the only one it writes. */
export const QNN_FORMAT_VERSION = 2;

/** First format version with conv2d, maxPool2d and flatten records. */
export const QNN_CONV_VERSION = 2;

export const HEADER_FIXED_BYTES = 28;
export const LAYER_FIXED_BYTES = 16;
export const CHECKSUM_BYTES = 4;

export const HEADER_VERSION_OFFSET = 8;
export const HEADER_LENGTH_OFFSET = 12;
export const HEADER_FILE_LENGTH_OFFSET = 16;
export const HEADER_LAYER_COUNT_OFFSET = 20;

// Limits that keep a corrupt or hostile file from requesting huge allocations. They are
// format rules, so a file that passes them loads on any host with enough memory.
export const MAX_LAYERS = 4096;
export const MAX_INPUT_RANK = 8;
/** Maximum elements per array (weights, thresholds, epilogue) and maximum inputs or units of a layer. */
export const MAX_ARRAY_ELEMENTS = 2 ** 28;
/** Maximum file length, because the header stores it as a u32. */
export const MAX_FILE_BYTES = 2 ** 32 - 1;

// Codes start at 1, so a zeroed record never decodes as a valid layer.
export const LAYER_KIND_DENSE = 1;
export const LAYER_KIND_CONV2D = 2;
export const LAYER_KIND_MAX_POOL2D = 3;
export const LAYER_KIND_FLATTEN = 4;

export const CONV2D_FIXED_BYTES = 60;
export const MAX_POOL2D_RECORD_BYTES = 36;
export const FLATTEN_RECORD_BYTES = 20;

export const PADDING_CODES = { same: 1, valid: 2 } as const;
export const PADDING_BY_CODE = new Map<number, 'same' | 'valid'>([
  [1, 'same'],
  [2, 'valid'],
]);

export const INPUT_KIND_CODES: Record<PackedInputKind, number> = { uint8: 1, signs: 2 };
export const INPUT_KIND_BY_CODE = new Map<number, PackedInputKind>([
  [1, 'uint8'],
  [2, 'signs'],
]);

export const OUTPUT_KIND_SIGNS = 1;
export const OUTPUT_KIND_SCORES = 2;

export const FLAG_BIAS = 1;
export const FLAG_SCALE = 2;
export const FLAG_SHIFT = 4;
export const KNOWN_FLAGS = FLAG_BIAS | FLAG_SCALE | FLAG_SHIFT;

/** Rounds a byte count up to the next multiple of 4. */
export function alignTo4(byteCount: number): number {
  return Math.ceil(byteCount / 4) * 4;
}

/** Length in bytes of a dense layer record, computed from its fields. */
export function denseRecordBytes(inputs: number, units: number, outputKind: number, flags: number): number {
  let bytes = LAYER_FIXED_BYTES + 4 * units * wordsPerRow(inputs);
  if (outputKind === OUTPUT_KIND_SIGNS) {
    bytes += 4 * units + alignTo4(units);
  } else {
    bytes += 8;
    for (const flag of [FLAG_BIAS, FLAG_SCALE, FLAG_SHIFT]) if (flags & flag) bytes += 4 * units;
  }
  return bytes;
}

/** Number of packed weight words of a conv2d layer: per tap along channels for signs input, per filter for uint8 input. */
export function conv2dWeightWords(input: PackedInputKind, outChannels: number, kernelHeight: number, kernelWidth: number, channels: number): number {
  if (input === 'uint8') return outChannels * wordsPerRow(kernelHeight * kernelWidth * channels);
  return outChannels * kernelHeight * kernelWidth * wordsPerRow(channels);
}

/** Length in bytes of a conv2d layer record. */
export function conv2dRecordBytes(weightWords: number, outChannels: number): number {
  return CONV2D_FIXED_BYTES + 4 * weightWords + 4 * outChannels + alignTo4(outChannels);
}

/**
 * Mask of the pad bits in the last word of a packed row of `inputs` signs: the
 * bits at positions inputs mod 32 and above, or 0 when inputs is a multiple of 32.
 */
export function padBitMask(inputs: number): number {
  const usedBits = inputs % 32;
  return usedBits === 0 ? 0 : (0xffffffff << usedBits) >>> 0;
}

/** Returns the index of the first weight word whose pad bits are not all 0, or -1 when there is none. */
export function findNonzeroPadWord(weights: Uint32Array, units: number, inputs: number): number {
  const mask = padBitMask(inputs);
  if (mask === 0) return -1;

  const words = wordsPerRow(inputs);
  for (let unit = 0; unit < units; unit++) {
    const last = unit * words + words - 1;
    if ((weights[last] & mask) !== 0) return last;
  }
  return -1;
}

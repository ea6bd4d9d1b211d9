/**
 * Small valid files of every format the SDK reads, built in memory, as seeds for the
 * fuzz tests: .qnn files of a dense MLP, a conv network, a k-bit network and a k-bit conv network, IDX files
 * of several element types, a CIFAR-10 batch and SVHN MAT-files.
 */
import { deflateSync } from 'node:zlib';

import { compileNetwork } from '../../sdk/compile/compile-model.js';
import type { PackedNetwork } from '../../sdk/compile/graph.js';
import { crc32 } from '../../sdk/format/crc32.js';
import { encodeQnn } from '../../sdk/format/qnn-file.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense } from '../../sdk/layers/dense.js';
import { GlobalAveragePooling2D } from '../../sdk/layers/global-average-pooling2d.js';
import { MaxPool2D } from '../../sdk/layers/max-pool2d.js';
import { QuantConv2D } from '../../sdk/layers/quant-conv2d.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { binaryConvNet } from '../../sdk/models/binary-convnet.js';
import { binaryMlp } from '../../sdk/models/binary-mlp.js';

/** Dense MLP: 37 uint8 inputs (not a multiple of 32, so rows have pad bits) -> 40 -> 16 -> 3 scores. */
export function denseMlpNetwork(): PackedNetwork {
  return compileNetwork(binaryMlp({ inputs: 37, hidden: [40, 16], classes: 3, seed: 11 }));
}

/** 4C3-MP2 -> 6C3 -> Flatten -> FC8 -> 3 scores on 8x8x1 input, with one negative gamma. */
export function convNetwork(): PackedNetwork {
  const model = binaryConvNet({ inputShape: [8, 8, 1], convBlocks: [{ filters: 4, pool: true }, { filters: 6 }], hidden: [8], classes: 3, seed: 4 });
  const norm = model.layers[2] as unknown as { gamma: { data: Float32Array } };
  norm.gamma.data[1] = -0.5;
  return compileNetwork(model);
}

/** dense(6, 2-bit weights) -> dense(5, 3-bit weights, 4-bit inputs) -> dense(3, sign inputs), so the file has codes and signs outputs. */
export function kbitNetwork(): PackedNetwork {
  const model = new Sequential([
    new Dense(6, { kernelQuantizer: { kind: 'linear', bits: 2 }, inputQuantizer: null, name: 'dense_input' }),
    new BatchNorm({ name: 'bn_input' }),
    new Dense(5, { kernelQuantizer: { kind: 'linear', bits: 3 }, inputQuantizer: { kind: 'linear', bits: 4 }, name: 'dense_hidden' }),
    new BatchNorm({ name: 'bn_hidden' }),
    new Dense(3, { kernelQuantizer: 'ste_sign', inputQuantizer: 'ste_sign', name: 'dense_output' }),
    new BatchNorm({ name: 'bn_output' }),
  ]).build([20], 3);
  return compileNetwork(model);
}

/**
 * conv(3, 2-bit weights, pool before norm) -> conv(4, 2-bit inputs, 3-bit weights, pool after norm)
 * -> GlobalAveragePooling2D -> dense(3, 2-bit inputs) on 8x8x1 input: conv2d-kbit records with codes
 * and floats outputs and both pools, and a globalAveragePool2d record with codes output.
 */
export function kbitConvNetwork(): PackedNetwork {
  const model = new Sequential([
    new QuantConv2D(3, 3, { kernelQuantizer: { kind: 'linear', bits: 2 }, inputQuantizer: null, name: 'conv_input' }),
    new MaxPool2D(2, { name: 'pool_input' }),
    new BatchNorm({ name: 'bn_conv_input' }),
    new QuantConv2D(4, 3, { kernelQuantizer: { kind: 'linear', bits: 3 }, inputQuantizer: { kind: 'linear', bits: 2 }, padValue: 0, name: 'conv_hidden' }),
    new BatchNorm({ name: 'bn_conv_hidden' }),
    new MaxPool2D(2, { name: 'pool_hidden' }),
    new GlobalAveragePooling2D({ name: 'global_pool' }),
    new Dense(3, { kernelQuantizer: { kind: 'linear', bits: 2 }, inputQuantizer: { kind: 'linear', bits: 2 }, name: 'dense_output' }),
  ]).build([8, 8, 1], 5);
  return compileNetwork(model);
}

export function qnnSeeds(): { dense: Uint8Array; conv: Uint8Array; kbit: Uint8Array; kbitConv: Uint8Array } {
  return { dense: encodeQnn(denseMlpNetwork()), conv: encodeQnn(convNetwork()), kbit: encodeQnn(kbitNetwork()), kbitConv: encodeQnn(kbitConvNetwork()) };
}

/**
 * Makes a mutated .qnn file consistent again where it can: the header's file length
 * becomes the real length and the trailing CRC-32 is recomputed, so the mutation
 * reaches the record parser instead of stopping at the checksum.
 */
export function resealQnn(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 20) view.setUint32(16, bytes.length, true);
  if (bytes.length >= 4) view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/** An IDX file (big-endian) of element type `code` with `elementBytes` bytes per element and the given shape, data bytes counting up. */
function idxFile(code: number, elementBytes: number, shape: number[]): Uint8Array {
  const count = shape.reduce((product, size) => product * size, 1);
  const bytes = new Uint8Array(4 + 4 * shape.length + count * elementBytes);
  const view = new DataView(bytes.buffer);
  bytes[2] = code;
  bytes[3] = shape.length;
  shape.forEach((size, d) => view.setUint32(4 + 4 * d, size, false));
  for (let i = 4 + 4 * shape.length; i < bytes.length; i++) bytes[i] = (i * 29) & 0xff;
  return bytes;
}

export function idxSeeds(): Uint8Array[] {
  return [idxFile(0x08, 1, [3, 4, 5]), idxFile(0x09, 1, [17]), idxFile(0x0b, 2, [7]), idxFile(0x0c, 4, [2, 2, 2]), idxFile(0x0d, 4, [3, 2]), idxFile(0x0e, 8, [2, 3])];
}

export const CIFAR10_RECORD_BYTES = 3073;

/** A CIFAR-10 batch of `count` records with labels 0, 1, 2, ... and varied pixels. */
export function cifar10Batch(count: number): Uint8Array {
  const bytes = new Uint8Array(count * CIFAR10_RECORD_BYTES);
  for (let i = 0; i < count; i++) {
    const start = i * CIFAR10_RECORD_BYTES;
    bytes[start] = i % 10;
    for (let p = 1; p < CIFAR10_RECORD_BYTES; p++) bytes[start + p] = (p * 7 + i * 13) & 0xff;
  }
  return bytes;
}

// MAT-file data types and array classes.
const MI_INT8 = 1;
const MI_UINT8 = 2;
const MI_INT32 = 5;
const MI_UINT32 = 6;
const MI_DOUBLE = 9;
const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
const MX_DOUBLE = 6;
const MX_UINT8 = 9;

interface MatWriter {
  littleEndian: boolean;
}

function matHeader({ littleEndian }: MatWriter): Uint8Array {
  const header = new Uint8Array(128).fill(0x20);
  header.set(new TextEncoder().encode('MATLAB 5.0 MAT-file, fuzz seed'), 0);
  new DataView(header.buffer).setUint16(124, 0x0100, littleEndian);
  header.set(new TextEncoder().encode(littleEndian ? 'IM' : 'MI'), 126);
  return header;
}

/** A data element: the small form when the data fits in 4 bytes and `small` is set, else a tag, the data and padding to 8 bytes. */
function matElement({ littleEndian }: MatWriter, type: number, data: Uint8Array, small: boolean): Uint8Array {
  if (small && data.length <= 4) {
    const element = new Uint8Array(8);
    new DataView(element.buffer).setUint32(0, (data.length << 16) | type, littleEndian);
    element.set(data, 4);
    return element;
  }
  const element = new Uint8Array(8 + Math.ceil(data.length / 8) * 8);
  const view = new DataView(element.buffer);
  view.setUint32(0, type, littleEndian);
  view.setUint32(4, data.length, littleEndian);
  element.set(data, 8);
  return element;
}

function u32Words(writer: MatWriter, values: number[]): Uint8Array {
  const bytes = new Uint8Array(4 * values.length);
  values.forEach((value, i) => new DataView(bytes.buffer).setUint32(4 * i, value, writer.littleEndian));
  return bytes;
}

function matMatrix(writer: MatWriter, name: string, classCode: number, dims: number[], realType: number, real: Uint8Array): Uint8Array {
  const body = concat([
    matElement(writer, MI_UINT32, u32Words(writer, [classCode, 0]), false),
    matElement(writer, MI_INT32, u32Words(writer, dims), false),
    matElement(writer, MI_INT8, new TextEncoder().encode(name), true),
    matElement(writer, realType, real, false),
  ]);
  return matElement(writer, MI_MATRIX, body, false);
}

function compressed(writer: MatWriter, element: Uint8Array): Uint8Array {
  const deflated = deflateSync(element);
  const header = new Uint8Array(8);
  new DataView(header.buffer).setUint32(0, MI_COMPRESSED, writer.littleEndian);
  new DataView(header.buffer).setUint32(4, deflated.length, writer.littleEndian);
  return concat([header, deflated]);
}

/** One variable of a MAT-file for buildMatFile: class code 6 double or 9 uint8, data type 2 miUINT8 or 9 miDOUBLE. */
export interface MatVariableSpec {
  name: string;
  classCode: number;
  dims: number[];
  realType: number;
  real: Uint8Array;
  compress: boolean;
}

/** A little-endian MAT-file of the given variables, each in its own top-level element. */
export function buildMatFile(variables: MatVariableSpec[]): Uint8Array {
  const writer = { littleEndian: true };
  const elements = variables.map((spec) => {
    const matrix = matMatrix(writer, spec.name, spec.classCode, spec.dims, spec.realType, spec.real);
    return spec.compress ? compressed(writer, matrix) : matrix;
  });
  return concat([matHeader(writer), ...elements]);
}

/** An SVHN file of `count` images: X uint8 [32, 32, 3, count] and y double [count, 1] of labels 1..10. */
export function svhnFile(count: number, options: { littleEndian: boolean; labelStorage: 'double' | 'uint8'; compress: boolean }): Uint8Array {
  const writer = { littleEndian: options.littleEndian };
  const pixels = Uint8Array.from({ length: count * 3072 }, (_, i) => (i * 11) & 0xff);
  const labels = Array.from({ length: count }, (_, i) => (i % 10) + 1);
  let labelBytes: Uint8Array;
  if (options.labelStorage === 'uint8') labelBytes = Uint8Array.from(labels);
  else {
    labelBytes = new Uint8Array(8 * count);
    labels.forEach((label, i) => new DataView(labelBytes.buffer).setFloat64(8 * i, label, options.littleEndian));
  }

  const x = matMatrix(writer, 'X', MX_UINT8, [32, 32, 3, count], MI_UINT8, pixels);
  const y = matMatrix(writer, 'y', MX_DOUBLE, [count, 1], options.labelStorage === 'uint8' ? MI_UINT8 : MI_DOUBLE, labelBytes);
  const elements = options.compress ? [compressed(writer, x), compressed(writer, y)] : [x, y];
  return concat([matHeader(writer), ...elements]);
}

export function svhnSeeds(): Uint8Array[] {
  return [
    svhnFile(2, { littleEndian: true, labelStorage: 'double', compress: false }),
    svhnFile(1, { littleEndian: false, labelStorage: 'uint8', compress: false }),
    svhnFile(3, { littleEndian: true, labelStorage: 'double', compress: true }),
  ];
}

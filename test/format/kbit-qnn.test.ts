import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { compileNetwork } from '../../sdk/compile/compile-model.js';
import type { PackedDenseKbitLayer, PackedDenseLayer, PackedNetwork } from '../../sdk/compile/graph.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { FileFormatError, QnnError } from '../../sdk/errors.js';
import { crc32 } from '../../sdk/format/crc32.js';
import { decodeQnn, decodeQnnNetwork, encodeQnn } from '../../sdk/format/qnn-file.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense } from '../../sdk/layers/dense.js';
import { Flatten } from '../../sdk/layers/flatten.js';
import { QuantConv2D } from '../../sdk/layers/quant-conv2d.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { SeededRandom } from '../helpers/random.js';

const FEATURES = 20;
const CLASSES = 3;
const HEADER_BYTES = 28 + 4;

/** dense(6, 2-bit weights) -> BN -> dense(5, 4-bit inputs) -> BN -> dense(3, sign inputs), with one negative gamma. */
function compiledKbitMlp(): PackedNetwork {
  const model = new Sequential([
    new Dense(6, { kernelQuantizer: { kind: 'linear', bits: 2 }, inputQuantizer: null, name: 'dense_input' }),
    new BatchNorm({ name: 'bn_input' }),
    new Dense(5, { kernelQuantizer: { kind: 'linear', bits: 3 }, inputQuantizer: { kind: 'linear', bits: 4 }, name: 'dense_hidden' }),
    new BatchNorm({ name: 'bn_hidden' }),
    new Dense(CLASSES, { kernelQuantizer: 'ste_sign', inputQuantizer: 'ste_sign', name: 'dense_output' }),
    new BatchNorm({ name: 'bn_output' }),
  ]).build([FEATURES], 3);
  (model.layers[1] as BatchNorm).gamma.data[2] = -0.5;
  return compileNetwork(model);
}

function randomSamples(seed: number, count: number, features: number): Uint8Array {
  const random = new SeededRandom(seed);
  return Uint8Array.from({ length: count * features }, () => random.int(0, 255));
}

/** Returns a copy of `bytes` changed by `edit`, with the trailing CRC-32 recomputed. */
function patchAndReseal(bytes: Uint8Array, edit: (view: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  edit(view);
  view.setUint32(copy.length - 4, crc32(copy.subarray(0, copy.length - 4)), true);
  return copy;
}

function assertFormatError(run: () => unknown, pattern: RegExp, offset: number): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.equal(error.offset, offset);
    return true;
  });
}

describe('.qnn dense-kbit records', () => {
  test('round trip keeps every field', () => {
    const network = compiledKbitMlp();
    const decoded = decodeQnnNetwork(encodeQnn(network));

    assert.deepEqual(decoded, network);
    // The binary score layer on signs keeps the binary dense record.
    assert.deepEqual(decoded.layers.map((l) => l.kind), ['dense-kbit', 'dense-kbit', 'dense']);
    assert.deepEqual(decoded.layers.map((l) => (l as PackedDenseKbitLayer).output.kind), ['codes', 'signs', 'scores']);
  });

  test('decoded network gives the same scores', () => {
    const network = compiledKbitMlp();
    const samples = randomSamples(5, 12, FEATURES);
    const decoded = decodeQnnNetwork(encodeQnn(network));
    assert.deepEqual(runPacked(decoded, new ReferenceBackend(), samples), runPacked(network, new ReferenceBackend(), samples));
  });

  test('decodeQnn rejects it as a network', () => {
    assertFormatError(() => decodeQnn(encodeQnn(compiledKbitMlp())), /layer 0 is a dense-kbit layer, so the file contains a network/, HEADER_BYTES);
  });

  test('invalid activationBits', () => {
    const bytes = patchAndReseal(encodeQnn(compiledKbitMlp()), (view) => view.setUint8(HEADER_BYTES + 16, 4));
    assertFormatError(() => decodeQnnNetwork(bytes), /layer 0 \(dense-kbit\): activationBits must be 8 for uint8 input, found 4/, HEADER_BYTES + 16);
  });

  test('invalid output code bits', () => {
    const bytes = patchAndReseal(encodeQnn(compiledKbitMlp()), (view) => view.setUint8(HEADER_BYTES + 18, 9));
    assertFormatError(() => decodeQnnNetwork(bytes), /output code bits must be in 1\.\.8 for codes output, found 9/, HEADER_BYTES + 18);
  });

  test('code bits that the next layer does not read', () => {
    const network = compiledKbitMlp();
    const second = network.layers[1] as PackedDenseKbitLayer;
    const broken = { ...network, layers: [network.layers[0], { ...second, activationBits: 3 }, network.layers[2]] };
    assert.throws(() => encodeQnn(broken), (error: unknown) => error instanceof QnnError && /layer 1 \(dense-kbit\): activationBits must equal the 4 code bits/.test(error.message));
  });

  test('codes into a binary dense layer', () => {
    const network = compiledKbitMlp();
    const first = network.layers[0] as PackedDenseKbitLayer;
    const last = network.layers[2] as PackedDenseLayer;
    const binary: PackedDenseLayer = { ...last, inputs: first.units, weights: new Uint32Array(last.units * Math.ceil(first.units / 32)) };
    const broken = { ...network, layers: [first, binary] };
    assert.throws(() => encodeQnn(broken), /layer 1 \(dense\): only a dense-kbit, conv2d-kbit or flatten layer takes the k-bit codes/);
  });

  test('conv network with a k-bit score layer', () => {
    const model = new Sequential([
      new QuantConv2D(3, 3, { inputQuantizer: null, name: 'conv_input' }),
      new BatchNorm({ name: 'bn_conv' }),
      new Flatten({ name: 'flatten' }),
      new Dense(CLASSES, { kernelQuantizer: { kind: 'linear', bits: 3 }, inputQuantizer: 'ste_sign', name: 'scores' }),
      new BatchNorm({ name: 'bn_scores' }),
    ]).build([6, 6, 1], 2);
    const network = compileNetwork(model);
    const samples = randomSamples(6, 10, 36);

    const decoded = decodeQnnNetwork(encodeQnn(network));
    assert.deepEqual(decoded, network);
    assert.deepEqual(decoded.layers.map((l) => l.kind), ['conv2d', 'flatten', 'dense-kbit']);

    const expected = model.predict(Float32Array.from(samples, (v) => v / 256));
    const actual = runPacked(decoded, new ReferenceBackend(), samples);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-5 * Math.max(Math.abs(expected[i]), 1), `score ${i}: packed ${actual[i]}, predict ${expected[i]}`);
  });
});

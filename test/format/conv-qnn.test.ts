import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { compileNetwork } from '../../sdk/compile/compile-model.js';
import type { PackedConv2dLayer, PackedModel, PackedNetwork } from '../../sdk/compile/graph.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { FileFormatError, QnnError } from '../../sdk/errors.js';
import { crc32 } from '../../sdk/format/crc32.js';
import { QNN_FORMAT_VERSION, decodeQnn, decodeQnnNetwork, encodeQnn } from '../../sdk/format/qnn-file.js';
import { binaryConvNet } from '../../sdk/models/binary-convnet.js';
import { SeededRandom } from '../helpers/random.js';

const HEADER_BYTES = 28 + 4 * 3;

/** 4C3-MP2 (pool before norm) -> 6C3 -> BN -> Flatten -> FC8 -> 3 scores, on 8x8x1 input. */
function compiledConvNet(): PackedNetwork {
  const model = binaryConvNet({
    inputShape: [8, 8, 1],
    convBlocks: [{ filters: 4, pool: true }, { filters: 6 }],
    hidden: [8],
    classes: 3,
    seed: 4,
  });
  const norm = model.layers[2] as unknown as { gamma: { data: Float32Array } };
  norm.gamma.data[1] = -0.5;
  return compileNetwork(model);
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

describe('.qnn version 2 with convolution layers', () => {
  test('round trip keeps every field', () => {
    const network = compiledConvNet();
    const bytes = encodeQnn(network);
    const decoded = decodeQnnNetwork(bytes);

    assert.equal(new DataView(bytes.buffer).getUint32(8, true), QNN_FORMAT_VERSION);
    assert.equal(QNN_FORMAT_VERSION, 2);
    assert.deepEqual(decoded, network);
    assert.deepEqual(decoded.layers.map((l) => l.kind), ['conv2d', 'conv2d', 'flatten', 'dense', 'dense']);
  });

  test('decoded network gives the same scores', () => {
    const network = compiledConvNet();
    const random = new SeededRandom(3);
    const samples = Uint8Array.from({ length: 5 * 64 }, () => random.int(0, 255));
    const backend = new ReferenceBackend();

    assert.deepEqual(runPacked(decodeQnnNetwork(encodeQnn(network)), backend, samples), runPacked(network, backend, samples));
  });

  test('decodeQnn rejects a network file', () => {
    const bytes = encodeQnn(compiledConvNet());
    assertFormatError(() => decodeQnn(bytes), /layer 0 is a conv2d layer.*read it with loadQnnNetwork \(decodeQnnNetwork for bytes\)/, HEADER_BYTES);
  });

  test('version 1 dense file still decodes', () => {
    const model: PackedModel = {
      inputShape: [3],
      layers: [{
        kind: 'dense',
        input: 'uint8',
        inputs: 3,
        units: 2,
        weights: Uint32Array.of(0b101, 0b010),
        output: { kind: 'scores', epilogue: { inputScale: 0.5, bias: null, scale: null, shift: null } },
      }],
    };
    const version1 = patchAndReseal(encodeQnn(model), (view) => view.setUint32(8, 1, true));

    assert.deepEqual(decodeQnn(version1), model);
    assert.deepEqual(decodeQnnNetwork(version1), model);
  });

  test('version 1 file with a conv record', () => {
    const bytes = patchAndReseal(encodeQnn(compiledConvNet()), (view) => view.setUint32(8, 1, true));
    assertFormatError(() => decodeQnnNetwork(bytes), /layer 0: unknown layer kind code 2, expected 1 \(dense\)/, HEADER_BYTES + 4);
  });
});

describe('.qnn version 2 validation', () => {
  test('encoder names layer and field', () => {
    const network = compiledConvNet();
    const second = network.layers[1] as PackedConv2dLayer;
    second.height = 5;

    assert.throws(() => encodeQnn(network), (error: unknown) => {
      assert.ok(error instanceof QnnError);
      assert.match(error.message, /layer 1 \(conv2d\): height, width, channels \[5, 4, 4\] must equal the shape \[4, 4, 4\]/);
      return true;
    });
  });

  test('encoder rejects signs pad value 2', () => {
    const network = compiledConvNet();
    (network.layers[1] as PackedConv2dLayer).padValue = 2;
    assert.throws(() => encodeQnn(network), /layer 1 \(conv2d\): padValue must be 1, 0 or -1 for signs input, found 2/);
  });

  test('encoder rejects conv weight pad bits', () => {
    const network = compiledConvNet();
    (network.layers[1] as PackedConv2dLayer).weights[0] |= 1 << 4;
    assert.throws(() => encodeQnn(network), /layer 1 \(conv2d\) weights word 0 has nonzero pad bits: expected bits 4\.\.31 to be 0/);
  });

  test('decoder names layer and field of a corrupt record', () => {
    const network = compiledConvNet();
    const bytes = encodeQnn(network);
    const secondStart = HEADER_BYTES + new DataView(bytes.buffer).getUint32(HEADER_BYTES, true);

    // The second conv's channels field sits at r + 20; 5 no longer matches the 4 channels before it.
    const wrongChannels = patchAndReseal(bytes, (view) => view.setUint32(secondStart + 20, 5, true));
    assertFormatError(() => decodeQnnNetwork(wrongChannels), /layer 1 \(conv2d\): height, width, channels \[4, 4, 5\] must equal the shape \[4, 4, 4\]/, secondStart);

    // outChannels at r + 24: 7 filters need more weight words than the record holds.
    const wrongFilters = patchAndReseal(bytes, (view) => view.setUint32(secondStart + 24, 7, true));
    assertFormatError(() => decodeQnnNetwork(wrongFilters), /layer 1 \(conv2d\): invalid record length: expected \d+ bytes from its fields/, secondStart);

    const badPadding = patchAndReseal(bytes, (view) => view.setUint8(secondStart + 7, 9));
    assertFormatError(() => decodeQnnNetwork(badPadding), /layer 1 \(conv2d\): unknown padding code 9/, secondStart + 7);

    const halfPool = patchAndReseal(bytes, (view) => view.setUint32(HEADER_BYTES + 44, 0, true));
    assertFormatError(() => decodeQnnNetwork(halfPool), /layer 0 \(conv2d\): pool fields must be all 0 \(no pool\) or all positive, found \[0, 2, 2, 2\]/, HEADER_BYTES + 44);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { FileFormatError } from '../../sdk/errors.js';
import { exportOnnx } from '../../sdk/onnx/export-onnx.js';
import { importOnnx } from '../../sdk/onnx/import-onnx.js';
import { type OnnxNode, type OnnxTensor, AttributeType, TensorDataType, encodeOnnxModel } from '../../sdk/onnx/onnx-schema.js';
import { SeededRandom } from '../helpers/random.js';
import { randomKbitNetwork } from './onnx-fixtures.js';

const QONNX = 'qonnx.custom_op.general';

function floats(name: string, dims: number[], values: number[]): OnnxTensor {
  return { name, dims, dataType: TensorDataType.FLOAT, floatData: values };
}

/** A one-layer graph on [N, 2] input: MatMul with `weight` (2x2) then `tail` nodes ending at tensor 'out'. */
function graphBytes(weight: string, tail: OnnxNode[], initializer: OnnxTensor[]): Uint8Array {
  const dim = [{ dimParam: 'N' }, { dimValue: 2 }];
  const type = { tensorType: { elemType: TensorDataType.FLOAT, shape: { dim } } };
  return encodeOnnxModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      node: [{ name: 'fc', opType: 'MatMul', input: ['x', weight], output: ['acc'] }, ...tail],
      initializer,
      input: [{ name: 'x', type }],
      output: [{ name: 'out', type }],
    },
  });
}

function assertFormatError(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => importOnnx(bytes, { source: 'model.onnx' }), (error: unknown) => {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    assert.match(error.message, /^model\.onnx: /);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('ONNX import rejects bad files', () => {
  test('random bytes', () => {
    const random = new SeededRandom(3);
    for (let trial = 0; trial < 20; trial++) {
      assert.throws(() => importOnnx(random.bytes(64 + trial * 13)), FileFormatError);
    }
  });

  test('truncated export', () => {
    const bytes = exportOnnx({ inputShape: [32], layers: [{ kind: 'dense', input: 'uint8', inputs: 32, units: 2, weights: new Uint32Array(2), output: { kind: 'scores', epilogue: { inputScale: 1, bias: null, scale: null, shift: null } } }] }, { format: 'qonnx' });
    assert.ok(importOnnx(bytes).layers.length === 1);
    for (const length of [1, 10, bytes.length >> 1, bytes.length - 1]) assertFormatError(bytes.subarray(0, length), /ONNX|graph|tensor/);
  });

  test('empty file has no graph', () => {
    assertFormatError(new Uint8Array(0), /no graph/);
  });

  test('unsupported operator named', () => {
    const bytes = graphBytes('w', [{ name: 'act', opType: 'Relu', input: ['acc'], output: ['out'] }], [floats('w', [2, 2], [1, -1, 1, 1])]);
    assertFormatError(bytes, /Relu node 'act'/);
  });

  test('unknown operator named', () => {
    const bytes = graphBytes('w', [{ name: 'odd', opType: 'Softmax', input: ['acc'], output: ['out'] }], [floats('w', [2, 2], [1, -1, 1, 1])]);
    assertFormatError(bytes, /Softmax node 'odd'.*not supported/);
  });

  test('raw_data shorter than dims', () => {
    const tensor = { name: 'w', dims: [2, 2], dataType: TensorDataType.FLOAT, rawData: new Uint8Array(12) };
    const bytes = graphBytes('w', [{ name: 'id', opType: 'Identity', input: ['acc'], output: ['out'] }], [tensor]);
    assertFormatError(bytes, /tensor 'w' has 12 bytes of raw_data, expected 16/);
  });

  test('oversized dims', () => {
    const tensor = { name: 'w', dims: [1 << 20, 1 << 20], dataType: TensorDataType.FLOAT, rawData: new Uint8Array(4) };
    const bytes = graphBytes('w', [{ name: 'id', opType: 'Identity', input: ['acc'], output: ['out'] }], [tensor]);
    assertFormatError(bytes, /more than 268435456 elements/);
  });

  test('ternary Quant weights import as a 2-bit layer', () => {
    // Quant with bitwidth 2, signed, narrow gives {-1, 0, 1}: k-bit weights, no longer rejected.
    const quant: OnnxNode = {
      name: 'wq',
      opType: 'Quant',
      domain: QONNX,
      input: ['w', 'one', 'zero', 'bits'],
      output: ['w_q'],
      attribute: [{ name: 'narrow', type: AttributeType.INT, i: 1 }],
    };
    const initializer = [floats('w', [2, 2], [1, 0, -1, 1]), floats('one', [], [1]), floats('zero', [], [0]), floats('bits', [], [2])];
    const bytes = graphBytes('w_q', [quant, { name: 'id', opType: 'Identity', input: ['acc'], output: ['out'] }], initializer);
    const layer = importOnnx(bytes).layers[0];
    assert.equal(layer.kind, 'dense-kbit');
    assert.equal(layer.weightBits, 2);
  });

  test('fractional weights without a quantizer rejected', () => {
    const bytes = graphBytes('w', [{ name: 'id', opType: 'Identity', input: ['acc'], output: ['out'] }], [floats('w', [2, 2], [0.5, 1, -0.25, 1])]);
    assertFormatError(bytes, /MatMul node 'fc': weights are neither binary .*nor integers \(output channel 0\)/);
  });

  test('branching graph rejected', () => {
    const tail: OnnxNode[] = [
      { name: 'a', opType: 'Identity', input: ['acc'], output: ['out'] },
      { name: 'b', opType: 'Identity', input: ['acc'], output: ['other'] },
    ];
    assertFormatError(graphBytes('w', tail, [floats('w', [2, 2], [1, -1, 1, 1])]), /feeds 2 nodes/);
  });

  test('non-constant weights rejected', () => {
    assertFormatError(graphBytes('x', [{ name: 'id', opType: 'Identity', input: ['acc'], output: ['out'] }], []), /weights 'x' must be a constant/);
  });

  test('k-bit export re-imports', () => {
    // The u row sum that branches off beside the MatMul folds into the weight offset (see qonnx-kbit.test.ts for scores).
    const network = randomKbitNetwork(5);
    assert.equal(importOnnx(exportOnnx(network, { format: 'qonnx' })).layers.length, network.layers.length);
  });

  test('an Add of a non-constant that is not the row sum is rejected', () => {
    const tail: OnnxNode[] = [{ name: 'mix', opType: 'Add', input: ['acc', 'acc'], output: ['out'] }];
    assertFormatError(graphBytes('w', tail, [floats('w', [2, 2], [1, -1, 1, 1])]), /Add node 'mix': only a constant, or a scalar times the row sum/);
  });
});

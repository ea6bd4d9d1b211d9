import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { importOnnx } from '../../sdk/onnx/import-onnx.js';
import { type OnnxModel, type OnnxNode, type OnnxTensor, AttributeType, TensorDataType, encodeOnnxModel } from '../../sdk/onnx/onnx-schema.js';

const QONNX = 'qonnx.custom_op.general';

function floats(name: string, dims: number[], values: number[]): OnnxTensor {
  return { name, dims, dataType: TensorDataType.FLOAT, floatData: values };
}

function node(opType: string, input: string[], output: string, domain = '', attribute: OnnxNode['attribute'] = []): OnnxNode {
  return { name: output, opType, input, output: [output], domain, attribute };
}

function model(nodes: OnnxNode[], initializer: OnnxTensor[], inputDims: number[], output: string, classes: number): Uint8Array {
  const dim = (sizes: number[]) => [{ dimParam: 'N' }, ...sizes.map((dimValue) => ({ dimValue }))];
  const value: OnnxModel = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }, { domain: QONNX, version: 1 }],
    graph: {
      name: 'hand_built',
      node: nodes,
      initializer,
      input: [{ name: 'global_in', type: { tensorType: { elemType: TensorDataType.FLOAT, shape: { dim: dim(inputDims) } } } }],
      output: [{ name: output, type: { tensorType: { elemType: TensorDataType.FLOAT, shape: { dim: dim([classes]) } } } }],
    },
  };
  return encodeOnnxModel(value);
}

/**
 * Brevitas-style MLP on 3 raw inputs: BipolarQuant weights with scale 0.5,
 * BatchNormalization (gamma 1 and -2), BipolarQuant activations, then a
 * PyTorch Linear exported as Gemm(transB = 1) with BipolarQuant weights and a bias.
 * Hidden unit 0 is +1 iff (0.5 a0 - 10) / 2 + 0.5 >= 0, i.e. a0 >= 18;
 * unit 1 is +1 iff (0.5 a1 + 3) / 0.5 * -2 + 1 >= 0, i.e. a1 <= -6,
 * with a0 = x0 - x1 + x2 and a1 = -x0 + x1 + x2.
 * Scores: [h0 + h1 + 0.25, -h0 + h1 - 0.25].
 */
function handBuiltMlp(): Uint8Array {
  const initializer = [
    floats('w1', [3, 2], [0.3, -0.2, -0.7, 0.1, 0.5, 0.4]),
    floats('w1_scale', [], [0.5]),
    floats('gamma', [2], [1, -2]),
    floats('beta', [2], [0.5, 1]),
    floats('mean', [2], [10, -3]),
    floats('var', [2], [4, 0.25]),
    floats('act_scale', [], [1]),
    floats('w2', [2, 2], [0.9, 0.2, -0.4, 0.6]),
    floats('bias', [2], [0.25, -0.25]),
  ];
  const epsilon = { name: 'epsilon', type: AttributeType.FLOAT, f: 0 };
  const transB = { name: 'transB', type: AttributeType.INT, i: 1 };
  const nodes = [
    node('BipolarQuant', ['w1', 'w1_scale'], 'w1_q', QONNX),
    node('MatMul', ['global_in', 'w1_q'], 'acc1'),
    node('BatchNormalization', ['acc1', 'gamma', 'beta', 'mean', 'var'], 'bn1', '', [epsilon]),
    node('BipolarQuant', ['bn1', 'act_scale'], 'h1', QONNX),
    node('BipolarQuant', ['w2', 'act_scale'], 'w2_q', QONNX),
    node('Gemm', ['h1', 'w2_q', 'bias'], 'scores', '', [transB]),
  ];
  return model(nodes, initializer, [3], 'scores', 2);
}

describe('hand-built QONNX graphs', () => {
  test('Brevitas-style MLP scores', () => {
    const network = importOnnx(handBuiltMlp(), { source: 'mlp.onnx' });
    // Rows of Gemm(transB) weights w2 = [[0.9, 0.2], [-0.4, 0.6]]: score 0 = h0 + h1, score 1 = -h0 + h1.
    const samples = Uint8Array.from([20, 0, 0, 10, 0, 0, 0, 0, 10, 18, 0, 0, 6, 0, 0, 0, 6, 0]);
    const expected = [
      [2.25, -0.25], // a = (20, -20): h = (+1, +1)
      [0.25, 1.75], // a = (10, -10): h = (-1, +1)
      [-1.75, -0.25], // a = (10, 10): h = (-1, -1)
      [2.25, -0.25], // a = (18, -18): unit 0 at exactly 0 gives sign +1
      [0.25, 1.75], // a = (6, -6): unit 1 at exactly 1 gives +1
      [-1.75, -0.25], // a = (-6, 6): h = (-1, -1)
    ].flat();

    assert.deepEqual(Array.from(runPacked(network, new ReferenceBackend(), samples)), expected);
  });

  test('folded thresholds of the MLP', () => {
    const network = importOnnx(handBuiltMlp());
    const hidden = network.layers[0];

    assert.equal(hidden.kind, 'dense');
    assert.equal(hidden.output.kind, 'signs');
    assert.deepEqual(Array.from(hidden.output.thresholds), [18, -6]);
    assert.deepEqual(Array.from(hidden.output.directions), [1, -1]);
  });

  test('NCHW conv with CHW flatten', () => {
    // A 3x3 single-channel image, two 2x2 filters (VALID), bias -1, BipolarQuant, Flatten in (c, y, x) order, Gemm to 2 scores.
    const kernels = [1, -1, 1, 1, -1, -1, 1, -1];
    const bias = [-100, 50];
    const dense = Array.from({ length: 16 }, (_, i) => ((i * 7) % 5 < 2 ? -1 : 1));
    const initializer = [
      floats('k', [2, 1, 2, 2], kernels.map((v) => v * 0.3)),
      floats('k_scale', [], [1]),
      floats('k_bias', [2], bias),
      floats('w', [8, 2], dense),
      floats('one', [], [1]),
    ];
    const nodes = [
      node('BipolarQuant', ['k', 'k_scale'], 'k_q', QONNX),
      node('Conv', ['global_in', 'k_q', 'k_bias'], 'conv', '', [{ name: 'kernel_shape', type: AttributeType.INTS, ints: [2, 2] }]),
      node('BipolarQuant', ['conv', 'one'], 'h', QONNX),
      node('Flatten', ['h'], 'flat', '', [{ name: 'axis', type: AttributeType.INT, i: 1 }]),
      node('MatMul', ['flat', 'w'], 'scores'),
    ];
    const network = importOnnx(model(nodes, initializer, [1, 3, 3], 'scores', 2));

    const image = [10, 200, 30, 40, 50, 160, 70, 80, 90];
    const signs: number[] = [];
    for (let o = 0; o < 2; o++) {
      for (let y = 0; y < 2; y++) {
        for (let x = 0; x < 2; x++) {
          let acc = bias[o];
          for (let ky = 0; ky < 2; ky++) for (let kx = 0; kx < 2; kx++) acc += image[(y + ky) * 3 + x + kx] * kernels[o * 4 + ky * 2 + kx];
          signs.push(acc >= 0 ? 1 : -1);
        }
      }
    }
    const expected = [0, 1].map((unit) => signs.reduce((sum, sign, i) => sum + sign * dense[i * 2 + unit], 0));

    assert.deepEqual(Array.from(runPacked(network, new ReferenceBackend(), Uint8Array.from(image))), expected);
  });
});

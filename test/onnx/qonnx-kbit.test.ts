import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { FileFormatError } from '../../sdk/errors.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { importOnnx } from '../../sdk/onnx/import-onnx.js';
import { type OnnxModel, type OnnxNode, type OnnxTensor, AttributeType, TensorDataType, encodeOnnxModel } from '../../sdk/onnx/onnx-schema.js';
import { SeededRandom } from '../helpers/random.js';
import { exportOnnx } from '../../sdk/onnx/export-onnx.js';
import { randomKbitNetwork } from './onnx-fixtures.js';
import { decodeQnnNetwork } from '../../sdk/format/qnn-decode.js';
import { encodeQnn } from '../../sdk/format/qnn-encode.js';

const QONNX = 'qonnx.custom_op.general';

interface Constant {
  dims: number[];
  data: number[];
}

/** A graph as the test writes it: nodes, constants, input width and class count. */
interface TestGraph {
  nodes: OnnxNode[];
  constants: Record<string, Constant>;
  features: number;
  classes: number;
}

function node(opType: string, input: string[], output: string, attributes: Record<string, number | string> = {}): OnnxNode {
  const domain = ['Quant', 'Trunc', 'BipolarQuant'].includes(opType) ? QONNX : '';
  const attribute = Object.entries(attributes).map(([name, value]) =>
    typeof value === 'string' ? { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) } : Number.isInteger(value) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value },
  );
  return { name: output, opType, input, output: [output], domain, attribute };
}

function encode(graph: TestGraph): Uint8Array {
  const dim = (size: number) => [{ dimParam: 'N' }, { dimValue: size }];
  const initializer: OnnxTensor[] = Object.entries(graph.constants).map(([name, value]) => ({ name, dims: value.dims, dataType: TensorDataType.FLOAT, floatData: value.data }));
  const model: OnnxModel = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }, { domain: QONNX, version: 1 }],
    graph: {
      name: 'kbit',
      node: graph.nodes,
      initializer,
      input: [{ name: 'x', type: { tensorType: { elemType: TensorDataType.FLOAT, shape: { dim: dim(graph.features) } } } }],
      output: [{ name: 'scores', type: { tensorType: { elemType: TensorDataType.FLOAT, shape: { dim: dim(graph.classes) } } } }],
    },
  };
  return encodeOnnxModel(model);
}

function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  if (v - floor !== 0.5) return Math.round(v);
  return floor % 2 === 0 ? floor : floor + 1;
}

const ROUNDING: Record<string, (v: number) => number> = { ROUND: roundHalfEven, FLOOR: Math.floor, CEIL: Math.ceil };

function attribute(n: OnnxNode, name: string, fallback: number | string): number | string {
  const found = n.attribute?.find((a) => a.name === name);
  if (found === undefined) return fallback;
  return found.s !== undefined ? new TextDecoder().decode(found.s) : (found.i ?? found.f ?? fallback);
}

/** Element i of a constant broadcast over a [rows, cols] tensor (scalar, [cols], [rows, 1] or [rows, cols]). */
function at(c: Constant, i: number, cols: number): number {
  if (c.data.length === 1) return c.data[0];
  if (c.dims.length === 2 && c.dims[1] === 1) return c.data[Math.floor(i / cols)];
  if (c.dims.length === 1 || c.dims[0] === 1) return c.data[i % cols];
  return c.data[i];
}

/** QONNX Quant in float64: (clip(round(x / s + z), min, max) - z) * s. */
function quant(x: number[], cols: number, n: OnnxNode, values: Map<string, Constant>): number[] {
  const [s, z, b] = n.input!.slice(1).map((name) => values.get(name)!);
  const bits = b.data[0];
  const signed = attribute(n, 'signed', 1) === 1;
  const narrow = attribute(n, 'narrow', 0) === 1;
  const min = signed ? -(2 ** (bits - 1)) + (narrow ? 1 : 0) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1 - (narrow ? 1 : 0);
  const round = ROUNDING[String(attribute(n, 'rounding_mode', 'ROUND'))];
  return x.map((v, i) => (round(Math.min(Math.max(v / at(s, i, cols) + at(z, i, cols), min), max)) - at(z, i, cols)) * at(s, i, cols));
}

/** QONNX Trunc version 1 in float64: (rnd(round(x / s + z) / 2^(in - out)) - z) * s. */
function trunc(x: number[], n: OnnxNode, values: Map<string, Constant>): number[] {
  const [s, z, inBits, outBits] = n.input!.slice(1).map((name) => values.get(name)!.data[0]);
  const round = ROUNDING[String(attribute(n, 'rounding_mode', 'FLOOR'))];
  return x.map((v) => (round(roundHalfEven(v / s + z) / 2 ** (inBits - outBits)) - z) * s);
}

/** Evaluates the test graph on one sample in float64, straight from the ONNX / QONNX definitions. */
function evaluate(graph: TestGraph, sample: number[], output = 'scores'): number[] {
  const values = new Map<string, Constant>(Object.entries(graph.constants));
  values.set('x', { dims: [1, sample.length], data: sample });
  for (const n of graph.nodes) {
    const [a, b] = n.input!.map((name) => values.get(name));
    const cols = a!.dims[a!.dims.length - 1];
    let out: Constant;
    switch (n.opType) {
      case 'Quant':
        out = { dims: a!.dims, data: quant(a!.data, cols, n, values) };
        break;
      case 'Trunc':
        out = { dims: a!.dims, data: trunc(a!.data, n, values) };
        break;
      case 'MatMul': {
        const [rows, units] = b!.dims;
        const data = Array.from({ length: units }, (_, u) => a!.data.reduce((sum, v, r) => sum + v * b!.data[r * units + u], 0));
        assert.equal(rows, a!.data.length);
        out = { dims: [1, units], data };
        break;
      }
      case 'Gemm': {
        // transB = 1, as PyTorch Linear exports: B is [units, rows].
        const [units, rows] = b!.dims;
        const bias = values.get(n.input![2])!;
        out = { dims: [1, units], data: Array.from({ length: units }, (_, u) => a!.data.reduce((sum, v, r) => sum + v * b!.data[u * rows + r], 0) + bias.data[u]) };
        break;
      }
      case 'BatchNormalization': {
        const [gamma, beta, mean, variance] = n.input!.slice(1).map((name) => values.get(name)!.data);
        const epsilon = Number(attribute(n, 'epsilon', 1e-5));
        out = { dims: a!.dims, data: a!.data.map((v, c) => ((v - mean[c]) / Math.sqrt(variance[c] + epsilon)) * gamma[c] + beta[c]) };
        break;
      }
      case 'Relu':
        out = { dims: a!.dims, data: a!.data.map((v) => Math.max(v, 0)) };
        break;
      case 'Add':
        out = { dims: a!.dims, data: a!.data.map((v, i) => v + at(b!, i, cols)) };
        break;
      default:
        throw new Error(`the test evaluator has no ${n.opType}`);
    }
    values.set(n.output![0], out);
  }
  return values.get(output)!.data;
}

function randomValues(random: SeededRandom, count: number, spread: number): number[] {
  return Array.from({ length: count }, () => (random.next() - 0.5) * 2 * spread);
}

/**
 * Brevitas-style k-bit MLP on 12 raw inputs: per-channel power-of-two weight
 * scales, BatchNormalization (some gamma < 0), Relu + unsigned Quant
 * (QuantReLU), a second layer with BatchNormalization + signed narrow Quant
 * (QuantIdentity), then a final MatMul with a bias.
 */
function brevitasMlp(bits: number, seed: number, extra: (graph: TestGraph) => void = () => {}): TestGraph {
  const random = new SeededRandom(seed);
  const [features, hidden1, hidden2, classes] = [12, 8, 6, 3];
  const bn = (prefix: string, units: number): Record<string, Constant> => ({
    [`${prefix}_gamma`]: { dims: [units], data: Array.from({ length: units }, (_, c) => (c % 3 === 2 ? -1 : 1) * (0.5 + random.next())) },
    [`${prefix}_beta`]: { dims: [units], data: randomValues(random, units, 1) },
    [`${prefix}_mean`]: { dims: [units], data: new Array<number>(units).fill(0) },
    [`${prefix}_var`]: { dims: [units], data: new Array<number>(units).fill(1) },
  });
  const graph: TestGraph = {
    features,
    classes,
    constants: {
      w1: { dims: [features, hidden1], data: randomValues(random, features * hidden1, 1) },
      w1_scale: { dims: [hidden1], data: Array.from({ length: hidden1 }, (_, c) => 2 ** -(1 + (c % 3))) },
      w2: { dims: [hidden1, hidden2], data: randomValues(random, hidden1 * hidden2, 1) },
      w2_scale: { dims: [], data: [0.25] },
      w3: { dims: [hidden2, classes], data: randomValues(random, hidden2 * classes, 1) },
      w3_scale: { dims: [classes], data: [0.5, 0.125, 0.25] },
      zero: { dims: [], data: [0] },
      bits: { dims: [], data: [bits] },
      a1_scale: { dims: [], data: [2 ** (2 - bits)] },
      a2_scale: { dims: [], data: [0.5] },
      bias: { dims: [classes], data: [0.25, -0.5, 0.125] },
      ...bn('bn1', hidden1),
      ...bn('bn2', hidden2),
    },
    nodes: [
      node('Quant', ['w1', 'w1_scale', 'zero', 'bits'], 'w1_q', { signed: 1, narrow: 0, rounding_mode: 'ROUND' }),
      node('MatMul', ['x', 'w1_q'], 'acc1'),
      node('BatchNormalization', ['acc1', 'bn1_gamma', 'bn1_beta', 'bn1_mean', 'bn1_var'], 'bn1'),
      node('Relu', ['bn1'], 'relu1'),
      node('Quant', ['relu1', 'a1_scale', 'zero', 'bits'], 'a1', { signed: 0, narrow: 0, rounding_mode: 'ROUND' }),
      node('Quant', ['w2', 'w2_scale', 'zero', 'bits'], 'w2_q', { signed: 1, narrow: 1 }),
      node('MatMul', ['a1', 'w2_q'], 'acc2'),
      node('BatchNormalization', ['acc2', 'bn2_gamma', 'bn2_beta', 'bn2_mean', 'bn2_var'], 'bn2'),
      node('Quant', ['bn2', 'a2_scale', 'zero', 'bits'], 'a2', { signed: 1, narrow: 1 }),
      node('Quant', ['w3', 'w3_scale', 'zero', 'bits'], 'w3_q', { signed: 1, narrow: 0 }),
      node('MatMul', ['a2', 'w3_q'], 'acc3'),
      node('Add', ['acc3', 'bias'], 'scores'),
    ],
  };
  // Batch-norm statistics from the accumulators on random inputs, so the hidden codes spread over their levels.
  const samples = Array.from({ length: 64 }, () => Array.from({ length: features }, () => Math.floor(random.next() * 256)));
  for (const prefix of ['bn1', 'bn2']) {
    const accs = samples.map((sample) => evaluate(graph, sample, prefix === 'bn1' ? 'acc1' : 'acc2'));
    const units = accs[0].length;
    for (let c = 0; c < units; c++) {
      const mean = accs.reduce((sum, acc) => sum + acc[c], 0) / accs.length;
      const variance = accs.reduce((sum, acc) => sum + (acc[c] - mean) ** 2, 0) / accs.length;
      graph.constants[`${prefix}_mean`].data[c] = mean + (random.next() - 0.5) * Math.sqrt(variance);
      graph.constants[`${prefix}_var`].data[c] = variance * (0.5 + random.next()) + 0.01;
    }
  }
  extra(graph);
  return graph;
}

function randomSamples(random: SeededRandom, count: number, features: number): Uint8Array {
  return Uint8Array.from({ length: count * features }, () => Math.floor(random.next() * 256));
}

function assertScoresMatch(graph: TestGraph, samples: Uint8Array): void {
  const network = importOnnx(encode(graph), { source: 'kbit.onnx' });
  const scores = runPacked(network, new ReferenceBackend(), samples);
  const count = samples.length / graph.features;
  const seen = new Set<string>();
  for (let s = 0; s < count; s++) {
    const expected = evaluate(graph, Array.from(samples.subarray(s * graph.features, (s + 1) * graph.features)));
    seen.add(expected.join(','));
    for (let c = 0; c < graph.classes; c++) {
      const actual = scores[s * graph.classes + c];
      assert.ok(Math.abs(actual - expected[c]) <= 1e-5 * (1 + Math.abs(expected[c])), `sample ${s} class ${c}: packed ${actual}, ONNX semantics ${expected[c]}`);
    }
  }
  const distinct = seen.size;
  // The hidden codes must vary, or the comparison would prove little.
  assert.ok(distinct >= 20, `only ${distinct} distinct score rows in ${count} samples`);
}

function assertFormatError(graph: TestGraph, pattern: RegExp): void {
  assert.throws(() => importOnnx(encode(graph), { source: 'kbit.onnx' }), (error: unknown) => {
    assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('QONNX k-bit import', () => {
  for (const bits of [2, 4]) {
    test(`${bits}-bit Brevitas-style MLP matches the ONNX semantics on random inputs`, () => {
      const graph = brevitasMlp(bits, 10 + bits);
      const network = importOnnx(encode(graph));
      const samples = randomSamples(new SeededRandom(bits), 200, graph.features);
      const backend = new ReferenceBackend();
      // The imported network also survives the .qnn format, as `qnn import` writes it.
      assert.deepEqual(Array.from(runPacked(decodeQnnNetwork(encodeQnn(network)), backend, samples)), Array.from(runPacked(network, backend, samples)));
      assert.deepEqual(
        network.layers.map((layer) => (layer.kind === 'dense-kbit' ? `${layer.kind}:${layer.weightBits}:${layer.output.kind}` : layer.kind)),
        [`dense-kbit:${bits}:codes`, `dense-kbit:${bits}:codes`, `dense-kbit:${bits}:scores`],
      );
      assertScoresMatch(graph, samples);
    });
  }
});

/**
 * x -> MatMul(1) -> Quant(scale 16, unsigned 4-bit) -> Trunc -> MatMul(1):
 * q = clip(round(x / 16), 0, 15), then the Trunc drops 2 low bits of q.
 */
function truncGraph(trunc: OnnxNode, extra: Record<string, Constant>): TestGraph {
  return {
    features: 1,
    classes: 1,
    constants: {
      one: { dims: [1, 1], data: [1] },
      unit: { dims: [], data: [1] },
      zero: { dims: [], data: [0] },
      four: { dims: [], data: [4] },
      two: { dims: [], data: [2] },
      sixteen: { dims: [], data: [16] },
      ...extra,
    },
    nodes: [
      node('Quant', ['one', 'unit', 'zero', 'four'], 'w1_q', { signed: 1 }),
      node('MatMul', ['x', 'w1_q'], 'acc1'),
      node('Quant', ['acc1', 'sixteen', 'zero', 'four'], 'a1', { signed: 0 }),
      trunc,
      node('Quant', ['one', 'unit', 'zero', 'two'], 'w2_q', { signed: 1 }),
      node('MatMul', ['t1', 'w2_q'], 'scores'),
    ],
  };
}

function scoresOf(graph: TestGraph, inputs: number[]): number[] {
  return Array.from(runPacked(importOnnx(encode(graph)), new ReferenceBackend(), Uint8Array.from(inputs)));
}

describe('QONNX k-bit Gemm', () => {
  test('final PyTorch Linear as Gemm(transB = 1) with per-row weight scales', () => {
    const graph = brevitasMlp(3, 30, (g) => {
      const w3 = g.constants.w3;
      const [rows, units] = w3.dims;
      g.constants.w3 = { dims: [units, rows], data: Array.from({ length: units * rows }, (_, i) => w3.data[(i % rows) * units + Math.floor(i / rows)]) };
      g.constants.w3_scale = { dims: [units, 1], data: g.constants.w3_scale.data };
      g.nodes.splice(-2, 2, node('Gemm', ['a2', 'w3_q', 'bias'], 'scores', { transB: 1 }));
    });
    assert.equal(graph.nodes[graph.nodes.length - 1].opType, 'Gemm');
    assertScoresMatch(graph, randomSamples(new SeededRandom(31), 200, graph.features));
  });
});

describe('QONNX Trunc on k-bit codes', () => {
  const inputs = [0, 40, 56, 63, 100, 183, 184, 200, 255];

  test('version 1 (FLOOR, keeps the input scale)', () => {
    const graph = truncGraph(node('Trunc', ['a1', 'sixteen', 'zero', 'four', 'two'], 't1'), {});
    // q = 0, 2 (2.5 to even), 4 (3.5 to even), 4, 6, 11, 12 (11.5 to even), 12 (12.5 to even), 15 (clipped); t = floor(q / 4) times 16.
    const expected = [0, 0, 16, 16, 16, 32, 48, 48, 48];
    assert.deepEqual(scoresOf(graph, inputs), expected);
    assert.deepEqual(inputs.map((x) => evaluate(graph, [x])[0]), expected);
  });

  test('version 2 (ROUND, out_scale 64, clipped to 2 unsigned bits)', () => {
    const trunc = node('Trunc', ['a1', 'sixteen', 'zero', 'four', 'sixty_four', 'two'], 't1', { signed: 0, rounding_mode: 'ROUND' });
    const graph = truncGraph(trunc, { sixty_four: { dims: [], data: [64] } });
    // q / 4 = 0, 0.5, 1, 1, 1.5, 2.75, 3, 3, 3.75 -> clip to [0, 3] -> round half to even -> times 64.
    assert.deepEqual(scoresOf(graph, inputs), [0, 0, 64, 64, 128, 192, 192, 192, 192]);
  });

  test('Trunc on an accumulator is rejected by name', () => {
    const graph = truncGraph(node('Trunc', ['acc1', 'sixteen', 'zero', 'four', 'two'], 't1'), {});
    graph.nodes.splice(2, 1);
    assertFormatError(graph, /Trunc node 't1': Trunc is supported only on k-bit activation codes .*accumulator/);
  });
});

describe('QONNX k-bit forms the importer rejects', () => {
  test('fractional activation zero point', () => {
    const graph = brevitasMlp(2, 5);
    graph.constants.half = { dims: [], data: [0.5] };
    graph.nodes[4] = node('Quant', ['relu1', 'a1_scale', 'half', 'bits'], 'a1', { signed: 0 });
    assertFormatError(graph, /^kbit\.onnx: Quant node 'a1': a k-bit activation Quant needs one integer zero point, found \[0\.5\]/);
  });

  test('weight zero points that differ per channel', () => {
    const graph = brevitasMlp(2, 6);
    graph.constants.w2_zero = { dims: [6], data: [0, 1, 0, 0, 0, 0] };
    graph.nodes[5] = node('Quant', ['w2', 'w2_scale', 'w2_zero', 'bits'], 'w2_q', { signed: 1 });
    assertFormatError(graph, /Quant node 'w2_q': weight zero points must be one integer for the whole tensor/);
  });

  test('Relu without a Quant after it', () => {
    const graph = brevitasMlp(2, 7);
    graph.nodes.splice(4, 1);
    graph.nodes[5] = node('MatMul', ['relu1', 'w2_q'], 'acc2');
    assertFormatError(graph, /Relu node 'relu1': a Relu is supported only between a MatMul or Gemm layer .* and a k-bit Quant activation/);
  });
});

describe('exported k-bit networks re-import', () => {
  for (const format of ['onnx', 'qonnx'] as const) {
    test(`${format}: identical scores and layer kinds after exportOnnx -> importOnnx`, () => {
      const network = randomKbitNetwork(21);
      const imported = importOnnx(exportOnnx(network, { format }), { source: `kbit.${format}` });
      const kinds = (layers: typeof network.layers) => layers.map((layer) => ('output' in layer ? `${layer.kind}:${layer.output.kind}` : layer.kind));
      assert.deepEqual(kinds(imported.layers), kinds(network.layers));

      const samples = randomSamples(new SeededRandom(22), 64, 784);
      const backend = new ReferenceBackend();
      assert.deepEqual(Array.from(runPacked(imported, backend, samples)), Array.from(runPacked(network, backend, samples)));
    });
  }
});

// model.summary() and qnn-info statistics against counts worked out by hand for small models.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { compileNetwork } from '../../sdk/compile/compile-model.js';
import { packedStats } from '../../sdk/inspect/packed-stats.js';
import { sequentialStats } from '../../sdk/inspect/summary.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense, QuantDense } from '../../sdk/layers/dense.js';
import { Flatten } from '../../sdk/layers/flatten.js';
import { QuantConv2D } from '../../sdk/layers/quant-conv2d.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { binaryMlp } from '../../sdk/models/binary-mlp.js';

/** Float sums of a few picojoule terms differ from the decimal in the last bits. */
function assertClose(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);
}

function mlp(): Sequential {
  return new Sequential([
    new QuantDense(4, { inputQuantizer: null, name: 'dense_in' }),
    new BatchNorm({ name: 'bn_in' }),
    new QuantDense(3, { name: 'dense_out' }),
    new BatchNorm({ name: 'bn_out' }),
  ]).build([6], 1);
}

describe('sequentialStats', () => {
  test('binarized MLP counts', () => {
    const stats = sequentialStats(mlp());
    const [dense0, bn0, dense1, bn1] = stats.layers;

    // 6 x 4 binary kernel on a float input: 24 float MACs at 4.6 pJ, plus 24 bits read in one 64-bit access (10 pJ).
    assert.deepEqual([dense0.oneBitParameters, dense0.float32Parameters, dense0.floatMacs, dense0.binaryMacs, dense0.inputBits], [24, 0, 24, 0, 32]);
    assert.deepEqual(dense0.outputShape, [4]);
    assert.equal(dense0.float32Bytes, 96);
    assert.equal(dense0.packedBytes, 3);
    assertClose(dense0.energyPicojoules, 24 * 4.6 + 10);
    assertClose(dense0.float32EnergyPicojoules, 24 * 4.6 + 12 * 10);

    // gamma, beta, running mean and running variance of 4 features: 16 float32 values, 512 bits in 8 reads.
    assert.deepEqual([bn0.float32Parameters, bn0.float32Bytes, bn0.packedBytes, bn0.floatMacs, bn0.inputBits], [16, 64, 64, 0, null]);
    assertClose(bn0.energyPicojoules, 80);

    // 4 x 3 binary kernel on binary input: 12 XNOR-popcount MACs at 0.1 pJ.
    assert.deepEqual([dense1.oneBitParameters, dense1.binaryMacs, dense1.floatMacs, dense1.inputBits], [12, 12, 0, 1]);
    assert.equal(dense1.packedBytes, 1.5);
    assertClose(dense1.energyPicojoules, 12 * 0.1 + 10);
    assert.equal(bn1.float32Parameters, 12);

    const t = stats.totals;
    assert.deepEqual([t.oneBitParameters, t.kBitParameters, t.float32Parameters], [36, 0, 28]);
    assert.deepEqual([t.float32Bytes, t.packedBytes], [256, 116.5]);
    assert.deepEqual([t.binaryMacs, t.kBitMacs, t.floatMacs], [12, 0, 24]);
    assertClose(t.energyPicojoules, 120.4 + 80 + 11.2 + 60);
  });

  test('convolution and k-bit counts', () => {
    const model = new Sequential([
      new QuantConv2D(2, 3, { padding: 'valid', inputQuantizer: null, name: 'conv' }),
      new Flatten({ name: 'flatten' }),
      new Dense(2, { kernelQuantizer: { kind: 'linear', bits: 2 }, inputQuantizer: { kind: 'linear', bits: 2 }, useBias: false, name: 'kbit' }),
    ]).build([5, 5, 1], 1);
    const [conv, flatten, kbit] = sequentialStats(model).layers;

    // 3 x 3 x 1 x 2 = 18 binary weights at 3 x 3 valid positions: 162 MACs, float because the input is float.
    assert.deepEqual(conv.outputShape, [3, 3, 2]);
    assert.deepEqual([conv.oneBitParameters, conv.floatMacs], [18, 162]);
    assert.deepEqual([flatten.outputShape, flatten.float32Parameters], [[18], 0]);

    // 18 x 2 two-bit weights (72 bits, 9 bytes, two 64-bit reads) and 36 MACs of 2 x 2 bit-planes.
    assert.deepEqual([kbit.kBitParameters, kbit.packedBytes, kbit.kBitMacs, kbit.binaryMacs], [36, 9, 36, 0]);
    assertClose(kbit.energyPicojoules, 36 * 4 * 0.1 + 2 * 10);
  });

  test('text table with totals row', () => {
    const text = mlp().summary();
    const lines = text.split('\n');
    assert.ok(lines[0].startsWith('+sequential stats---'));
    assert.match(text, /\| dense_in +QuantDense +32 +\(-1, 4\) +24 +0 +0 +0\.09 +0\.00 +0 +0 +24 +0\.12 \|/);
    assert.match(text, /\| Total +36 +0 +28 +0\.25 +0\.11 +12 +0 +24 +0\.27 \|/);
    assert.match(text, /\| Ratio of MACs that are 1-bit +0\.3333 \|/);
    assert.match(text, /\| Compression ratio of memory +0\.4551 \|/);
    assert.ok(text.includes('Horowitz (ISSCC 2014)'));
    // Every table line has the same width, so the columns line up.
    const tableLines = lines.slice(0, lines.findIndex((line) => line.startsWith('+sequential summary')));
    assert.equal(new Set(tableLines.map((line) => line.length)).size, 1);
  });
});

describe('packedStats', () => {
  test('compiled MLP counts', () => {
    const network = compileNetwork(binaryMlp({ inputs: 6, hidden: [4], classes: 3, seed: 2 }));
    const [first, last] = packedStats(network).layers;

    // 8-bit input times 1-bit weights: 24 MACs of 8 bit-planes each; 4 thresholds (32-bit) and 4 directions (1-bit).
    assert.equal(first.inputBits, 8);
    assert.deepEqual([first.kBitMacs, first.binaryMacs, first.oneBitParameters, first.float32Parameters], [24, 0, 28, 4]);
    assertClose(first.energyPicojoules, 24 * 8 * 0.1 + Math.ceil((24 + 4 * 32 + 4) / 64) * 10);

    assert.equal(last.inputBits, 1);
    assert.deepEqual([last.binaryMacs, last.oneBitParameters, last.outputShape], [12, 12, [3]]);
    // Batch-norm scale and shift per class, and no dense bias in a QuantDense.
    assert.equal(last.float32Parameters, 6);
  });
});

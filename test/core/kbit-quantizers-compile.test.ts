import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import type { Backend } from '../../sdk/backends/backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { compileNetwork } from '../../sdk/compile/compile-model.js';
import type { PackedDenseKbitLayer, PackedNetwork } from '../../sdk/compile/graph.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { inputCodeMap } from '../../sdk/compile/input-codes.js';
import { QnnError } from '../../sdk/errors.js';
import { decodeQnnNetwork, encodeQnn } from '../../sdk/format/qnn-file.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense, type Quantizer } from '../../sdk/layers/dense.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { type QuantizerSpec, applyQuantizer } from '../../sdk/quantizers/quantizer-spec.js';
import { Random } from '../../sdk/random.js';
import { Tensor } from '../../sdk/tensor/tensor.js';
import { fit } from '../../sdk/training/fit.js';
import { argmax } from '../../sdk/training/metrics.js';
import { SeededRandom } from '../helpers/random.js';

const FEATURES = 40;
const CLASSES = 3;
const INT32_MAX = 0x7fffffff;

function randomSamples(seed: number, count: number): { samples: Uint8Array; labels: Int32Array } {
  const random = new SeededRandom(seed);
  const samples = Uint8Array.from({ length: count * FEATURES }, () => random.int(0, 255));
  const labels = Int32Array.from({ length: count }, () => random.int(0, CLASSES - 1));
  return { samples, labels };
}

/** Returns the float32 model input uint8 / 256, which float32 represents exactly. */
function toModelInput(samples: Uint8Array): Float32Array {
  return Float32Array.from(samples, (v) => v / 256);
}

/** dense(16) -> BN -> dense(12) -> BN -> dense(3) -> BN, one kernel quantizer everywhere and one input quantizer after the first layer. */
function mlp(kernelQuantizer: Quantizer, inputQuantizer: Quantizer): Sequential {
  return new Sequential([
    new Dense(16, { kernelQuantizer, inputQuantizer: null, kernelClip: 1, name: 'dense_input' }),
    new BatchNorm({ name: 'bn_input' }),
    new Dense(12, { kernelQuantizer, inputQuantizer, kernelClip: 1, name: 'dense_hidden' }),
    new BatchNorm({ name: 'bn_hidden' }),
    new Dense(CLASSES, { kernelQuantizer, inputQuantizer, kernelClip: 1, useBias: false, name: 'dense_output' }),
    new BatchNorm({ name: 'bn_output' }),
  ]).build([FEATURES], 9);
}

function trainFewSteps(model: Sequential, samples: Uint8Array, labels: Int32Array): void {
  fit(model, toModelInput(samples), labels, { epochs: 2, batchSize: 16, optimizer: new Adam({ learningRate: 0.01 }), loss: 'squared_hinge', seed: 5 });
}

function kbitLayers(network: PackedNetwork): PackedDenseKbitLayer[] {
  return network.layers.map((layer) => {
    assert.equal(layer.kind, 'dense-kbit');
    return layer as PackedDenseKbitLayer;
  });
}

function assertSamePredictions(actual: Float32Array, expected: Float32Array, label: string): void {
  const count = expected.length / CLASSES;
  const expectedClasses = argmax(expected, count, CLASSES);
  const actualClasses = argmax(actual, count, CLASSES);
  for (let s = 0; s < count; s++) assert.equal(actualClasses[s], expectedClasses[s], `${label}: sample ${s} argmax`);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Scores with -0 read as +0, since the packed epilogue and the training graph may differ in the sign of a zero. */
function plain(scores: Float32Array): number[] {
  return Array.from(scores, (v) => v + 0);
}

describe('compileNetwork with ternary, log and DoReFa quantizers', () => {
  const backends: Backend[] = [new ReferenceBackend()];

  before(async () => {
    backends.push(await createWasmBackend());
  });

  // Every kind whose scales are powers of two gives bit-identical scores. So does a DoReFa 1-bit kernel, whose
  // scale is one float32, because model.predict runs on the reference backend, which sums products in float64.
  const exactVariants: { name: string; kernel: Quantizer; input: Quantizer; activationBits: number; maxWeightPlanes: number }[] = [
    { name: 'ternary kernel, ternary input', kernel: { kind: 'ternary' }, input: { kind: 'ternary' }, activationBits: 2, maxWeightPlanes: 2 },
    { name: 'ternary kernel, threshold 0.3', kernel: { kind: 'ternary', threshold: 0.3 }, input: { kind: 'ternary', threshold: 0.3 }, activationBits: 2, maxWeightPlanes: 2 },
    { name: 'log 2-bit kernel, log 1-bit input', kernel: { kind: 'log', bits: 2 }, input: { kind: 'log', bits: 1 }, activationBits: 3, maxWeightPlanes: 5 },
    { name: 'log 1-bit kernel, log 2-bit input', kernel: { kind: 'log', bits: 1 }, input: { kind: 'log', bits: 2 }, activationBits: 5, maxWeightPlanes: 3 },
    { name: 'DoReFa 1-bit kernel, sign input', kernel: { kind: 'dorefa', bits: 1 }, input: 'ste_sign', activationBits: 1, maxWeightPlanes: 1 },
    { name: 'DoReFa 1-bit kernel and input', kernel: { kind: 'dorefa', bits: 1 }, input: { kind: 'dorefa', bits: 1 }, activationBits: 1, maxWeightPlanes: 1 },
    { name: 'linear kernel, ternary input', kernel: { kind: 'linear', bits: 3 }, input: { kind: 'ternary' }, activationBits: 2, maxWeightPlanes: 3 },
    { name: 'sign kernel, log 1-bit input', kernel: 'ste_sign', input: { kind: 'log', bits: 1 }, activationBits: 3, maxWeightPlanes: 1 },
  ];

  for (const { name, kernel, input, activationBits, maxWeightPlanes } of exactVariants) {
    test(`${name}: bit-identical scores`, () => {
      const train = randomSamples(31, 64);
      const heldOut = randomSamples(32, 40);
      const model = mlp(kernel, input);
      trainFewSteps(model, train.samples, train.labels);
      const hiddenNorm = model.layers.find((layer) => layer.name === 'bn_hidden') as BatchNorm;
      assert.ok(hiddenNorm.runningMean.some((v) => v !== 0), 'training did not move the hidden running mean');

      const network = compileNetwork(model);
      const layers = kbitLayers(network);
      const inputKind = input === 'ste_sign' ? 'signs' : 'codes';
      assert.deepEqual(layers.map((l) => l.input), ['uint8', inputKind, inputKind]);
      assert.deepEqual(layers.map((l) => l.activationBits), [8, activationBits, activationBits]);
      for (const layer of layers) assert.ok(layer.weightBits <= maxWeightPlanes, `${layer.weightBits} weight planes, expected at most ${maxWeightPlanes}`);

      for (const backend of backends) {
        for (const { samples } of [train, heldOut]) {
          assert.deepEqual(plain(runPacked(network, backend, samples, 16)), plain(model.predict(toModelInput(samples))), `${name} on ${backend.name}`);
        }
      }
    });
  }

  // DoReFa with bits >= 2 scales by 1/(2^bits - 1), so the training graph rounds its products to float32.
  const dorefaVariants: { kernelBits: number; inputBits: number }[] = [
    { kernelBits: 2, inputBits: 2 },
    { kernelBits: 3, inputBits: 4 },
    { kernelBits: 2, inputBits: 1 },
  ];

  for (const { kernelBits, inputBits } of dorefaVariants) {
    test(`DoReFa ${kernelBits}-bit kernel, ${inputBits}-bit input: same predictions`, () => {
      const train = randomSamples(31, 64);
      const heldOut = randomSamples(33, 200);
      const model = mlp({ kind: 'dorefa', bits: kernelBits }, { kind: 'dorefa', bits: inputBits });
      trainFewSteps(model, train.samples, train.labels);
      const network = compileNetwork(model);
      assert.deepEqual(kbitLayers(network).map((l) => l.weightBits), [kernelBits, kernelBits, kernelBits]);

      for (const backend of backends) {
        const packed = runPacked(network, backend, heldOut.samples, 16);
        const expected = model.predict(toModelInput(heldOut.samples));
        assertSamePredictions(packed, expected, `DoReFa w${kernelBits}a${inputBits} on ${backend.name}`);
        // The training graph rounds each weight and activation to float32, so scores of a few units may differ
        // in the last bit (about 5e-7 on MNIST, see docs/results.md). A hidden code that flipped would move a
        // score by a whole code step times a weight, far above 1e-4.
        assert.ok(maxAbsDifference(packed, expected) <= 1e-4, `max score difference ${maxAbsDifference(packed, expected)}`);
      }
    });
  }

  test('binarized hidden layer before a ternary input', () => {
    const train = randomSamples(41, 64);
    const model = new Sequential([
      new Dense(16, { kernelQuantizer: 'ste_sign', inputQuantizer: null, kernelClip: 1, name: 'dense_input' }),
      new BatchNorm({ name: 'bn_input' }),
      new Dense(12, { kernelQuantizer: 'ste_sign', inputQuantizer: 'ste_sign', kernelClip: 1, name: 'dense_binary' }),
      new BatchNorm({ name: 'bn_binary' }),
      new Dense(CLASSES, { kernelQuantizer: { kind: 'ternary' }, inputQuantizer: { kind: 'ternary' }, kernelClip: 1, name: 'dense_output' }),
    ]).build([FEATURES], 4);
    trainFewSteps(model, train.samples, train.labels);

    const network = compileNetwork(model);
    const kinds = network.layers.map((l) => (l.kind === 'dense' || l.kind === 'dense-kbit' ? `${l.kind}:${l.output.kind}` : l.kind));
    assert.deepEqual(kinds, ['dense:signs', 'dense-kbit:codes', 'dense-kbit:scores']);
    for (const backend of backends) assert.deepEqual(plain(runPacked(network, backend, train.samples, 16)), plain(model.predict(toModelInput(train.samples))), backend.name);
  });

  test('negative and zero gamma with ternary codes', () => {
    const train = randomSamples(42, 64);
    const model = mlp({ kind: 'ternary' }, { kind: 'ternary' });
    trainFewSteps(model, train.samples, train.labels);
    const norm = model.layers.find((layer) => layer.name === 'bn_input') as BatchNorm;
    norm.gamma.data[0] = -0.8;
    norm.gamma.data[1] = 0;

    const network = compileNetwork(model);
    const first = kbitLayers(network)[0];
    assert.equal(first.output.kind, 'codes');
    if (first.output.kind !== 'codes') return;
    assert.deepEqual(Array.from(first.output.directions.subarray(0, 2)), [-1, 1]);
    for (const backend of backends) assert.deepEqual(plain(runPacked(network, backend, train.samples, 16)), plain(model.predict(toModelInput(train.samples))), backend.name);
  });

  test('log 2-bit input codes: duplicate and unreachable levels', () => {
    const train = randomSamples(43, 64);
    const model = mlp({ kind: 'log', bits: 1 }, { kind: 'log', bits: 2 });
    trainFewSteps(model, train.samples, train.labels);
    const first = kbitLayers(compileNetwork(model))[0];
    const output = first.output;
    assert.equal(output.kind, 'codes');
    if (output.kind !== 'codes') return;
    assert.equal(output.bits, 5);

    // Codes are 8 + q / 2^-3 with q in {0, ±1/8, ±1/4, ±1/2, ±1}: above 8 only 9, 10, 12 and 16 occur.
    // So levels 11 and 12 pass together, 13..16 together, and levels 17..31 never pass.
    const levels = 31;
    for (let unit = 0; unit < first.units; unit++) {
      const rising: boolean = output.directions[unit] === 1;
      const t: Int32Array = output.thresholds.subarray(unit * levels, (unit + 1) * levels);
      assert.equal(t[10], t[11], `unit ${unit}: levels 11 and 12`);
      for (let level = 13; level <= 15; level++) assert.equal(t[level], t[15], `unit ${unit}: level ${level + 1}`);
      for (let level = 16; level < levels; level++) assert.equal(t[level], rising ? INT32_MAX : -0x80000000, `unit ${unit}: level ${level + 1}`);
    }
  });
});

describe('input code maps against the training quantizers', () => {
  const specs: QuantizerSpec[] = [
    { kind: 'ternary' },
    { kind: 'ternary', threshold: 0.3 },
    { kind: 'log', bits: 1 },
    { kind: 'log', bits: 2, fsr: 1 },
    { kind: 'dorefa', bits: 1 },
    { kind: 'dorefa', bits: 2 },
    { kind: 'dorefa', bits: 5 },
    { kind: 'linear', bits: 3 },
  ];

  /** Random float32 values in [-3, 3] and, for each boundary b of any spec above, b and its float32 neighbors. */
  function probeValues(): Float32Array {
    const random = new SeededRandom(71);
    const values: number[] = Array.from({ length: 4000 }, () => random.next() * 6 - 3);
    const boundaries = [0, 0.3, 0.5, 1, 1 / 6, 0.5 / 3, 2.5 / 3, 1 / 62, 0.25, 0.125];
    for (let e = -5; e <= 2; e++) boundaries.push(2 ** (e + 0.5));
    for (const boundary of boundaries) {
      for (const sign of [1, -1]) {
        const b = Math.fround(sign * boundary);
        values.push(b, nextFloat32(b, 1), nextFloat32(b, -1));
      }
    }
    return Float32Array.from(values);
  }

  for (const spec of specs) {
    test(`${JSON.stringify(spec)} codes`, () => {
      const map = inputCodeMap(spec, 'probe:');
      const values = probeValues();
      const quantized = applyQuantizer(new Tensor(values, [values.length]), spec, 'input', false, new Random(1)).data;

      for (let i = 0; i < values.length; i++) {
        const code = map.code(values[i]);
        assert.ok(Number.isInteger(code), `v = ${values[i]}: code ${code} is not an integer`);
        assert.ok(code >= 0, `v = ${values[i]}: code ${code} below 0`);
        assert.ok(code <= map.maxCode, `v = ${values[i]}: code ${code} above ${map.maxCode}`);
        assert.equal(code, Math.round(quantized[i] / map.scale) - map.offset, `v = ${values[i]}: quantized ${quantized[i]}`);
      }
    });
  }
});

/** Returns the float32 next to x toward +Infinity (direction 1) or -Infinity (direction -1). */
function nextFloat32(x: number, direction: 1 | -1): number {
  const bits = new Float32Array([x]);
  const view = new Int32Array(bits.buffer);
  if (x === 0) view[0] = direction === 1 ? 1 : -0x7fffffff;
  else view[0] += x > 0 === (direction === 1) ? 1 : -1;
  return bits[0];
}

describe('k-bit quantizer layers by hand', () => {
  /** Builds a 1-unit hidden layer on 3 uint8 inputs, then a 2-unit sign-kernel score layer with kernel (0.3, -0.3) and no bias. */
  function tinyModel(kernelQuantizer: Quantizer, hiddenKernel: number[], nextInput: Quantizer): Sequential {
    const model = new Sequential([
      new Dense(1, { kernelQuantizer, inputQuantizer: null, name: 'tiny_hidden' }),
      new Dense(2, { kernelQuantizer: 'ste_sign', inputQuantizer: nextInput, useBias: false, name: 'tiny_scores' }),
    ]).build([3], 1);
    const [hidden, scores] = model.layers as Dense[];
    hidden.kernel.data.set(hiddenKernel);
    hidden.bias!.data.set([0]);
    scores.kernel.data.set([0.3, -0.3]);
    return model;
  }

  function codeOutput(layer: PackedDenseKbitLayer): { thresholds: number[]; directions: number[] } {
    assert.equal(layer.output.kind, 'codes');
    if (layer.output.kind !== 'codes') throw new Error('unreachable');
    return { thresholds: Array.from(layer.output.thresholds), directions: Array.from(layer.output.directions) };
  }

  test('ternary kernel and ternary codes', () => {
    const model = tinyModel({ kind: 'ternary' }, [0.7, -0.2, -0.9], { kind: 'ternary' });
    const [hidden, scores] = kbitLayers(compileNetwork(model));

    // t = (1, 0, -1) gives w' = 2t + 1 = (3, 1, -1) and v = (w' + 3) / 2 = (3, 2, 1):
    // plane 0 stores -1 where bit 0 of v is 0 (input 1), plane 1 where bit 1 is 0 (input 2).
    assert.equal(hidden.weightBits, 2);
    assert.deepEqual(Array.from(hidden.weights), [0b010, 0b100]);
    assert.equal(hidden.rowSumScale, -1);
    assert.deepEqual(Array.from(hidden.correction), [0]);

    // acc = sum u (w' - 1) = 2 (u0 - u2) and v = acc / 512. The code q + 1 reaches 1 at v >= -0.5
    // (acc >= -256) and 2 at v > 0.5 (acc >= 257). Code 3 does not exist, so its threshold is never passed.
    assert.deepEqual(codeOutput(hidden), { thresholds: [-256, 257, INT32_MAX], directions: [1] });

    // Ternary input x = u - 1 against w' = (1, -1): correction = -w'.
    assert.equal(scores.input, 'codes');
    assert.equal(scores.activationBits, 2);
    assert.deepEqual(Array.from(scores.correction), [-1, 1]);

    // u0 - u2 = 129, 128, -128, -129 give q = 1, 0, 0, -1 and scores (q, -q).
    const samples = Uint8Array.from([129, 9, 0, 128, 9, 0, 0, 9, 128, 0, 9, 129]);
    const expected = [1, -1, 0, 0, 0, 0, -1, 1];
    assert.deepEqual(plain(runPacked(compileNetwork(model), new ReferenceBackend(), samples)), expected);
    assert.deepEqual(plain(model.predict(toModelInput(samples))), expected);
  });

  test('log kernel and log codes', () => {
    const model = tinyModel({ kind: 'log', bits: 2 }, [1, -1, 0.25], { kind: 'log', bits: 1 });
    const [hidden, scores] = kbitLayers(compileNetwork(model));

    // q = (2^0, -2^0, 2^-2): exponents -2..0, so c = q / 2^-2 = (4, -4, 1), d = 2, 4 planes, w' = 2c + 1 = (9, -7, 3).
    // v = (w' + 15) / 2 = (12, 4, 9) = (1100, 0100, 1001) in binary: plane j stores -1 where bit j of v is 0.
    assert.equal(hidden.weightBits, 4);
    assert.deepEqual(Array.from(hidden.weights), [0b011, 0b111, 0b100, 0b010]);

    // acc = 2 sum u c = 8 u0 - 8 u1 + 2 u2 and v = acc * 2^-8 * 2^-3. The 1-bit log input has exponents -1..0
    // and codes 2 + q / 2^-1 in 0..4. Code >= 1 unless q = -1 (v <= -2^-0.5, acc <= -1449); >= 2 unless
    // v <= -2^-1.5 (acc <= -725); >= 3 from v >= 2^-1.5 (acc >= 725); 4 from v >= 2^-0.5 (acc >= 1449).
    // Codes 5..7 do not exist.
    assert.deepEqual(codeOutput(hidden), { thresholds: [-1448, -724, 725, 1449, INT32_MAX, INT32_MAX, INT32_MAX], directions: [1] });
    assert.equal(scores.activationBits, 3);

    // acc = 1600, 800, -800, 200, -2020 give q = 1, 0.5, -0.5, 0, -1 and scores (q, -q).
    const samples = Uint8Array.from([200, 0, 0, 100, 0, 0, 0, 100, 0, 0, 0, 100, 0, 255, 10]);
    const expected = [1, -1, 0.5, -0.5, -0.5, 0.5, 0, 0, -1, 1];
    assert.deepEqual(plain(runPacked(compileNetwork(model), new ReferenceBackend(), samples)), expected);
    assert.deepEqual(plain(model.predict(toModelInput(samples))), expected);
  });

  test('DoReFa 2-bit kernel and codes', () => {
    const model = tinyModel({ kind: 'dorefa', bits: 2 }, [0.9, -0.9, 0.1], { kind: 'dorefa', bits: 2 });
    const [hidden, scores] = kbitLayers(compileNetwork(model));

    // tanh scaled to [0, 1] is (1, 0, 0.57), so k = round(3 v) = (3, 0, 2) and w' = 2k - 3 = (3, -3, 1).
    // v' = (w' + 3) / 2 = (3, 0, 2): plane 0 stores -1 for inputs 1 and 2, plane 1 for input 1.
    assert.equal(hidden.weightBits, 2);
    assert.deepEqual(Array.from(hidden.weights), [0b110, 0b010]);
    assert.equal(hidden.rowSumScale, 0);
    assert.equal(hidden.output.kind, 'codes');

    // acc = 3 u0 - 3 u1 + u2 and v = float32(acc / 768). The code round(3 clip(v, 0, 1)) reaches 1 above
    // v = 1/6, and float32(128 / 768) lies above 1/6, so acc = 128 already rounds up. It reaches 2 at
    // v = 0.5 (acc = 384, the tie 1.5 rounds to even 2) and 3 above v = 5/6, which float32(640 / 768) is below.
    assert.deepEqual(codeOutput(hidden), { thresholds: [128, 384, 641], directions: [1] });

    // DoReFa input u / 3 against w' = ±1: no offset, scale 1/3.
    assert.deepEqual(Array.from(scores.correction), [0, 0]);
    assert.equal(scores.output.kind === 'scores' && scores.output.epilogue.inputScale, 1 / 3);

    // acc = 128, 127, 384, 765 give codes 1, 0, 2, 3.
    const samples = Uint8Array.from([42, 0, 2, 42, 0, 1, 128, 0, 0, 255, 0, 0]);
    const packed = runPacked(compileNetwork(model), new ReferenceBackend(), samples);
    assert.deepEqual(plain(packed), plain(model.predict(toModelInput(samples))));
    assert.deepEqual(plain(packed), [1, -1, 0, 0, 2, -2, 3, -3].map((v) => Math.fround(v / 3)));
  });

  test('DoReFa 1-bit kernel scale', () => {
    const model = new Sequential([new Dense(2, { kernelQuantizer: { kind: 'dorefa', bits: 1 }, inputQuantizer: null, name: 'tiny_dorefa' })]).build([3], 1);
    const dense = model.layers[0] as Dense;
    dense.kernel.data.set([0.5, -0.25, -0.25, 0.25, 0.25, -0.75]);
    dense.bias!.data.set([0.125, 0]);
    const [layer] = kbitLayers(compileNetwork(model));

    // w = sign(W) * mean|W| with mean|W| = 2.25 / 6 = 0.375: the kernel [inputs, units] gives
    // w' = (1, -1 | -1, 1 | 1, -1) and unit 0 stores -1 for input 1, unit 1 for inputs 0 and 2.
    assert.equal(layer.weightBits, 1);
    assert.deepEqual(Array.from(layer.weights), [0b010, 0b101]);
    assert.equal(layer.output.kind === 'scores' && layer.output.epilogue.inputScale, 0.375 / 256);

    // Unit 0: (u0 - u1 + u2) * 0.375 / 256 + 0.125. Unit 1: (-u0 + u1 - u2) * 0.375 / 256.
    const samples = Uint8Array.from([0, 1, 0, 200, 10, 7]);
    const expected = [0.125 - 0.375 / 256, 0.375 / 256, 0.125 + (197 * 0.375) / 256, (-197 * 0.375) / 256].map(Math.fround);
    assert.deepEqual(plain(runPacked(compileNetwork(model), new ReferenceBackend(), samples)), expected);
    assert.deepEqual(plain(model.predict(toModelInput(samples))), expected);
  });
});

describe('log kernel that quantizes to zero', () => {
  test('scores are the bias', () => {
    const model = new Sequential([new Dense(2, { kernelQuantizer: { kind: 'log', bits: 2 }, inputQuantizer: null, name: 'zero_log' })]).build([3], 1);
    const dense = model.layers[0] as Dense;
    // 0.01 rounds to exponent -7, below the 2-bit range -3..0, so every weight flushes to 0.
    dense.kernel.data.fill(0.01);
    dense.bias!.data.set([0.25, -0.5]);
    const [layer] = kbitLayers(compileNetwork(model));
    assert.equal(layer.weightBits, 2);

    const samples = Uint8Array.from([0, 0, 0, 255, 17, 3]);
    assert.deepEqual(plain(runPacked(compileNetwork(model), new ReferenceBackend(), samples)), [0.25, -0.5, 0.25, -0.5]);
    assert.deepEqual(plain(model.predict(toModelInput(samples))), [0.25, -0.5, 0.25, -0.5]);
  });
});

describe('k-bit quantizer compile rejections', () => {
  test('log 3-bit input needs 9-bit codes', () => {
    const model = new Sequential([
      new Dense(4, { kernelQuantizer: { kind: 'ternary' }, inputQuantizer: null, name: 'log_hidden' }),
      new Dense(CLASSES, { kernelQuantizer: 'ste_sign', inputQuantizer: { kind: 'log', bits: 3 }, name: 'log_scores' }),
    ]).build([FEATURES], 1);
    assert.throws(
      () => compileNetwork(model),
      (error: unknown) => error instanceof QnnError && /layer 'log_hidden': the next layer's inputQuantizer \{ kind: 'log', bits: 3 \} spans exponents -7\.\.0, so its integer codes need 9 bits/.test(error.message),
    );
  });

  test('float hidden input lists supported quantizers', () => {
    const model = new Sequential([
      new Dense(4, { kernelQuantizer: { kind: 'ternary' }, inputQuantizer: null, name: 'ternary_hidden' }),
      new Dense(CLASSES, { kernelQuantizer: { kind: 'ternary' }, inputQuantizer: null, name: 'float_input_scores' }),
    ]).build([FEATURES], 1);
    assert.throws(() => compileNetwork(model), /layer 'float_input_scores': inputQuantizer null is not supported by the packed engine; use .*\{ kind: 'ternary' \}, \{ kind: 'log', bits \} or \{ kind: 'dorefa', bits \}/);
  });
});

describe('.qnn round trip of quantizer layers', () => {
  test('ternary, log and DoReFa layers reload with the same scores', () => {
    const train = randomSamples(51, 64);
    const model = new Sequential([
      new Dense(16, { kernelQuantizer: { kind: 'log', bits: 2 }, inputQuantizer: null, kernelClip: 1, name: 'log_input' }),
      new BatchNorm({ name: 'bn_log' }),
      new Dense(12, { kernelQuantizer: { kind: 'ternary' }, inputQuantizer: { kind: 'dorefa', bits: 2 }, kernelClip: 1, name: 'ternary_hidden' }),
      new BatchNorm({ name: 'bn_ternary' }),
      new Dense(CLASSES, { kernelQuantizer: { kind: 'dorefa', bits: 2 }, inputQuantizer: { kind: 'log', bits: 1 }, kernelClip: 1, name: 'dorefa_output' }),
    ]).build([FEATURES], 6);
    trainFewSteps(model, train.samples, train.labels);

    const network = compileNetwork(model);
    const reloaded = decodeQnnNetwork(encodeQnn(network));
    assert.deepEqual(reloaded, network);
    const backend = new ReferenceBackend();
    assert.deepEqual(runPacked(reloaded, backend, train.samples, 16), runPacked(network, backend, train.samples, 16));
  });
});

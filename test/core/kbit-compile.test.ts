import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import type { Backend } from '../../sdk/backends/backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { compileNetwork } from '../../sdk/compile/compile-model.js';
import type { PackedDenseKbitLayer, PackedNetwork } from '../../sdk/compile/graph.js';
import { runPacked, runPackedAsync } from '../../sdk/compile/run-packed.js';
import { QnnError } from '../../sdk/errors.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense, type Quantizer } from '../../sdk/layers/dense.js';
import { Dropout } from '../../sdk/layers/dropout.js';
import { Flatten } from '../../sdk/layers/flatten.js';
import { QuantConv2D } from '../../sdk/layers/quant-conv2d.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { fit } from '../../sdk/training/fit.js';
import { argmax } from '../../sdk/training/metrics.js';
import { SeededRandom } from '../helpers/random.js';

const FEATURES = 40;
const CLASSES = 3;

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

/** 'ste_sign' for 1 bit, else the linear quantizer with the default step 2^(1 - bits). */
function quantizerOf(bits: number): Quantizer {
  return bits === 1 ? 'ste_sign' : { kind: 'linear', bits };
}

/** dense(16) -> BN -> dense(12) -> BN -> dropout -> dense(3) -> BN, k-bit weights everywhere, k-bit inputs after the first layer. */
function kbitMlp(weightBits: number, activationBits: number): Sequential {
  const kernelQuantizer = quantizerOf(weightBits);
  const inputQuantizer = quantizerOf(activationBits);
  return new Sequential([
    new Dense(16, { kernelQuantizer, inputQuantizer: null, kernelClip: 1, name: 'dense_input' }),
    new BatchNorm({ name: 'bn_input' }),
    new Dense(12, { kernelQuantizer, inputQuantizer, kernelClip: 1, name: 'dense_hidden' }),
    new BatchNorm({ name: 'bn_hidden' }),
    new Dropout(0.1, { name: 'dropout_hidden' }),
    new Dense(CLASSES, { kernelQuantizer, inputQuantizer, kernelClip: 1, useBias: false, name: 'dense_output' }),
    new BatchNorm({ name: 'bn_output' }),
  ]).build([FEATURES], 9);
}

function trainFewSteps(model: Sequential, samples: Uint8Array, labels: Int32Array): void {
  fit(model, toModelInput(samples), labels, { epochs: 2, batchSize: 16, optimizer: new Adam({ learningRate: 0.01 }), loss: 'squared_hinge', seed: 5 });
}

function batchNormNamed(model: Sequential, name: string): BatchNorm {
  const layer = model.layers.find((l) => l.name === name);
  assert.ok(layer instanceof BatchNorm, `model has no BatchNorm named ${name}`);
  return layer;
}

function kbitLayers(network: PackedNetwork): PackedDenseKbitLayer[] {
  return network.layers.map((layer) => {
    assert.equal(layer.kind, 'dense-kbit');
    return layer as PackedDenseKbitLayer;
  });
}

/** Asserts scores equal within 1e-5 of max(|score|, 1), the dense compile tolerance, and identical argmax per sample. */
function assertScoresMatch(actual: Float32Array, expected: Float32Array, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: score count`);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = 1e-5 * Math.max(Math.abs(expected[i]), 1);
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${label}: sample ${Math.floor(i / CLASSES)}, class ${i % CLASSES}: packed ${actual[i]}, predict ${expected[i]}`);
  }
  const count = expected.length / CLASSES;
  const expectedClasses = argmax(expected, count, CLASSES);
  const actualClasses = argmax(actual, count, CLASSES);
  for (let s = 0; s < count; s++) assert.equal(actualClasses[s], expectedClasses[s], `${label}: sample ${s} argmax`);
}

describe('compileNetwork on trained k-bit MLPs', () => {
  const backends: Backend[] = [new ReferenceBackend()];

  before(async () => {
    backends.push(await createWasmBackend());
  });

  const variants = [
    { weightBits: 1, activationBits: 2, hiddenOutput: 'codes' },
    { weightBits: 2, activationBits: 2, hiddenOutput: 'codes' },
    { weightBits: 4, activationBits: 4, hiddenOutput: 'codes' },
    { weightBits: 2, activationBits: 1, hiddenOutput: 'signs' },
  ] as const;

  for (const { weightBits, activationBits, hiddenOutput } of variants) {
    test(`weights ${weightBits} bits, activations ${activationBits} bits`, () => {
      const train = randomSamples(31, 64);
      const heldOut = randomSamples(32, 40);
      const model = kbitMlp(weightBits, activationBits);
      trainFewSteps(model, train.samples, train.labels);
      assert.ok(batchNormNamed(model, 'bn_hidden').runningMean.some((v) => v !== 0), 'training did not move the hidden running mean');

      const network = compileNetwork(model);
      const layers = kbitLayers(network);
      assert.deepEqual(layers.map((l) => l.input), ['uint8', activationBits === 1 ? 'signs' : 'codes', activationBits === 1 ? 'signs' : 'codes']);
      assert.deepEqual(layers.map((l) => l.output.kind), [hiddenOutput, hiddenOutput, 'scores']);
      assert.deepEqual(layers.map((l) => l.weightBits), [weightBits, weightBits, weightBits]);
      assert.deepEqual(layers.map((l) => l.activationBits), [8, activationBits, activationBits]);

      for (const backend of backends) {
        for (const { samples } of [train, heldOut]) {
          const label = `w${weightBits}a${activationBits} on ${backend.name}`;
          assertScoresMatch(runPacked(network, backend, samples, 16), model.predict(toModelInput(samples)), label);
        }
      }
    });
  }

  test('negative and zero gamma channels', () => {
    const train = randomSamples(41, 64);
    const model = kbitMlp(2, 2);
    trainFewSteps(model, train.samples, train.labels);
    const norm = batchNormNamed(model, 'bn_input');
    norm.gamma.data[0] = -0.8;
    norm.gamma.data[1] = 0;
    norm.gamma.data[2] = -2.5;

    const network = compileNetwork(model);
    const first = kbitLayers(network)[0];
    assert.equal(first.output.kind, 'codes');
    if (first.output.kind !== 'codes') return;
    assert.deepEqual(Array.from(first.output.directions.subarray(0, 4)), [-1, 1, -1, 1]);

    // A non-increasing code needs non-increasing thresholds.
    const levels = 3;
    for (let level = 1; level < levels; level++) assert.ok(first.output.thresholds[level] <= first.output.thresholds[level - 1], `channel 0 level ${level}`);

    for (const backend of backends) assertScoresMatch(runPacked(network, backend, train.samples, 16), model.predict(toModelInput(train.samples)), `negative gamma on ${backend.name}`);
  });
});

describe('runPackedAsync on a k-bit MLP', () => {
  test('same scores as runPacked', async () => {
    const train = randomSamples(51, 32);
    const model = kbitMlp(2, 2);
    trainFewSteps(model, train.samples, train.labels);
    const network = compileNetwork(model);
    const wasm = await createWasmBackend();

    const expected = runPacked(network, new ReferenceBackend(), train.samples, 8);
    assert.deepEqual(await runPackedAsync(network, wasm, train.samples, 8), expected);
  });
});

describe('k-bit thresholds of a tiny layer', () => {
  /**
   * dense(1), kernel 2-bit linear (step 0.5), bias 0, on 2 uint8 inputs, then a
   * 2-bit linear input quantizer (step 0.5) and a sign-kernel score layer of 2 units.
   */
  function tinyModel(): Sequential {
    const model = new Sequential([
      new Dense(1, { kernelQuantizer: { kind: 'linear', bits: 2 }, inputQuantizer: null, name: 'tiny_hidden' }),
      new Dense(2, { kernelQuantizer: 'ste_sign', inputQuantizer: { kind: 'linear', bits: 2 }, useBias: false, name: 'tiny_scores' }),
    ]).build([2], 1);
    const [hidden, scores] = model.layers as Dense[];
    hidden.kernel.data.set([0.5, -0.5]);
    hidden.bias!.data.set([0]);
    scores.kernel.data.set([0.3, -0.3]);
    return model;
  }

  test('thresholds and integer terms', () => {
    const [hidden, scores] = kbitLayers(compileNetwork(tinyModel()));

    // Codes c = (1, -1) give odd weights w' = (3, -1): v = (3, 1), so only plane 1 of input 1 stores -1.
    assert.deepEqual(Array.from(hidden.weights), [0, 2]);
    assert.equal(hidden.gemmScale, 1);
    assert.equal(hidden.rowSumScale, -1);
    assert.deepEqual(Array.from(hidden.correction), [0]);

    // acc = 2 (x0 - x1) and v = acc / 1024. The code u = round(v / 0.5) + 2 reaches 1 above v = -0.75,
    // 2 from v = -0.25 (the tie -0.5 rounds to even 0) and 3 above v = 0.25 (the tie 0.5 rounds to 0).
    assert.equal(hidden.output.kind, 'codes');
    if (hidden.output.kind !== 'codes') return;
    assert.deepEqual(Array.from(hidden.output.thresholds), [-767, -256, 257]);
    assert.deepEqual(Array.from(hidden.output.directions), [1]);

    // Signed codes c = u - 2 times w' = (1, -1): acc = w' u - 2 w'.
    assert.equal(scores.input, 'codes');
    assert.deepEqual(Array.from(scores.correction), [-2, 2]);
    assert.equal(scores.output.kind === 'scores' && scores.output.epilogue.inputScale, 0.5);
  });

  test('packed scores at the rounding ties', () => {
    const model = tinyModel();
    const network = compileNetwork(model);
    // x0 - x1 = -129, -128, 128, 129 give codes c = -1, 0, 0, 1 and scores (0.5 c, -0.5 c).
    const samples = Uint8Array.from([0, 129, 0, 128, 200, 72, 200, 71]);
    const expected = [-0.5, 0.5, 0, 0, 0, 0, 0.5, -0.5];

    const packed = runPacked(network, new ReferenceBackend(), samples);
    assert.deepEqual(Array.from(packed, (v) => v + 0), expected);
    assert.deepEqual(Array.from(model.predict(toModelInput(samples)), (v) => v + 0), expected);
  });
});

describe('k-bit compile rejections', () => {
  test('log kernel over 8 planes', () => {
    const model = new Sequential([
      new Dense(4, { kernelQuantizer: { kind: 'log', bits: 3 }, inputQuantizer: null, name: 'log_input' }),
      new Dense(CLASSES, { kernelQuantizer: 'ste_sign', inputQuantizer: { kind: 'linear', bits: 2 }, name: 'scores' }),
    ]).build([FEATURES], 1);
    // 0.01 quantizes to 2^-7 and 1 to 2^0, so the kernel spans 8 exponents and needs 7 + 2 = 9 planes.
    (model.layers[0] as Dense).kernel.data.set([0.01, 1]);
    assert.throws(() => compileNetwork(model), (error: unknown) => error instanceof QnnError && /layer 'log_input': its log-quantized kernel uses exponents -7\.\.0, which need 9 weight planes/.test(error.message));
  });

  test('step not a power of two', () => {
    const model = new Sequential([
      new Dense(4, { kernelQuantizer: { kind: 'linear', bits: 2, step: 0.3 }, inputQuantizer: null, name: 'odd_step' }),
      new Dense(CLASSES, { kernelQuantizer: 'ste_sign', inputQuantizer: 'ste_sign', name: 'scores' }),
    ]).build([FEATURES], 1);
    assert.throws(() => compileNetwork(model), /layer 'odd_step': kernelQuantizer step 0.3 is not a power of two/);
  });

  test('linear input after a convolution compiles', () => {
    const model = new Sequential([
      new QuantConv2D(2, 3, { inputQuantizer: null, name: 'conv_input' }),
      new BatchNorm({ name: 'bn_conv' }),
      new Flatten({ name: 'flatten' }),
      new Dense(CLASSES, { kernelQuantizer: 'ste_sign', inputQuantizer: { kind: 'linear', bits: 2 }, name: 'scores_after_conv' }),
    ]).build([6, 6, 1], 1);
    // The conv block now emits 2-bit codes (conv2d-kbit); test/core/conv-kbit-compile.test.ts checks such networks' scores.
    assert.deepEqual(compileNetwork(model).layers.map((layer) => layer.kind), ['conv2d-kbit', 'flatten', 'dense-kbit']);
  });

  test('accumulator beyond 2^24', () => {
    const model = new Sequential([
      new Dense(4, { kernelQuantizer: { kind: 'linear', bits: 8 }, inputQuantizer: null, name: 'wide_input' }),
      new Dense(CLASSES, { kernelQuantizer: 'ste_sign', inputQuantizer: 'ste_sign', name: 'scores' }),
    ]).build([300], 1);
    assert.throws(() => compileNetwork(model), /layer 'wide_input': its accumulator reaches 19584000, beyond 2\^24/);
  });
});

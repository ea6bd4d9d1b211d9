import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import {
  Adam,
  BatchNorm,
  Dense,
  Dropout,
  QnnError,
  QuantDense,
  ReferenceBackend,
  Sequential,
  argmax,
  compileModel,
  fit,
  runPacked,
} from '../../sdk/index.js';
import { SeededRandom } from '../helpers/random.js';

const FEATURES = 64;
const CLASSES = 4;

/** Generates seeded uint8 samples: noisy copies of one random prototype per class, with their class labels. */
function syntheticUint8(seed: number, count: number): { samples: Uint8Array; labels: Int32Array } {
  const random = new SeededRandom(seed);
  const prototypes = Array.from({ length: CLASSES }, () => Float64Array.from({ length: FEATURES }, () => 256 * random.next()));
  const samples = new Uint8Array(count * FEATURES);
  const labels = new Int32Array(count);

  for (let i = 0; i < count; i++) {
    const label = i % CLASSES;
    labels[i] = label;
    for (let f = 0; f < FEATURES; f++) {
      const value = prototypes[label][f] + 120 * random.next() - 60;
      samples[i * FEATURES + f] = Math.min(255, Math.max(0, Math.floor(value)));
    }
  }
  return { samples, labels };
}

/** Converts uint8 samples to the float32 model input uint8 / 256, which float32 represents exactly. */
function toModelInput(samples: Uint8Array): Float32Array {
  return Float32Array.from(samples, (v) => v / 256);
}

function buildBinarizedModel(): Sequential {
  return new Sequential([
    new QuantDense(32, { inputQuantizer: null, name: 'dense_input' }),
    new BatchNorm({ name: 'bn_input' }),
    new QuantDense(32, { name: 'dense_hidden' }),
    new BatchNorm({ name: 'bn_hidden' }),
    new Dropout(0.2, { name: 'dropout_hidden' }),
    new QuantDense(CLASSES, { name: 'dense_output' }),
    new BatchNorm({ name: 'bn_output' }),
  ]).build([FEATURES], 3);
}

function batchNormNamed(model: Sequential, name: string): BatchNorm {
  const layer = model.layers.find((l) => l.name === name);
  assert.ok(layer instanceof BatchNorm, `model has no BatchNorm named ${name}`);
  return layer;
}

/**
 * Asserts that the packed model's scores equal model.predict within 1e-5 of
 * max(|score|, 1), and that every sample gets the same argmax.
 */
function assertPackedMatchesPredict(model: Sequential, samples: Uint8Array): void {
  const count = samples.length / FEATURES;
  const expected = model.predict(toModelInput(samples));
  const actual = runPacked(compileModel(model), new ReferenceBackend(), samples);

  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = 1e-5 * Math.max(Math.abs(expected[i]), 1);
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tolerance,
      `sample ${Math.floor(i / CLASSES)}, class ${i % CLASSES}: packed ${actual[i]}, predict ${expected[i]}`,
    );
  }

  const expectedClasses = argmax(expected, count, CLASSES);
  const actualClasses = argmax(actual, count, CLASSES);
  for (let s = 0; s < count; s++) {
    assert.equal(actualClasses[s], expectedClasses[s], `sample ${s}: packed argmax ${actualClasses[s]}, predict argmax ${expectedClasses[s]}`);
  }
}

describe('compileModel on a trained binarized model', () => {
  const train = syntheticUint8(41, 256);
  const heldOut = syntheticUint8(42, 64);
  let model: Sequential;

  before(() => {
    model = buildBinarizedModel();
    fit(model, toModelInput(train.samples), train.labels, {
      epochs: 2,
      batchSize: 32,
      optimizer: new Adam({ learningRate: 0.01 }),
      loss: 'squared_hinge',
      seed: 5,
    });
  });

  test('training moved running statistics', () => {
    // With running mean 0 and variance 1 the folded thresholds would test only the initial state.
    for (const name of ['bn_input', 'bn_hidden', 'bn_output']) {
      const layer = batchNormNamed(model, name);
      assert.ok(layer.runningMean.some((v) => v !== 0), `${name} running mean is still 0`);
      assert.ok(layer.runningVariance.some((v) => v !== 1), `${name} running variance is still 1`);
    }
  });

  test('compiled graph layout', () => {
    const packed = compileModel(model);

    assert.deepEqual(packed.inputShape, [FEATURES]);
    assert.deepEqual(packed.layers.map((l) => l.input), ['uint8', 'signs', 'signs']);
    assert.deepEqual(packed.layers.map((l) => l.output.kind), ['signs', 'signs', 'scores']);
    assert.deepEqual(packed.layers.map((l) => [l.inputs, l.units]), [[FEATURES, 32], [32, 32], [32, CLASSES]]);
  });

  test('packed scores match predict', () => {
    assertPackedMatchesPredict(model, train.samples);
  });

  test('packed scores match on held-out', () => {
    assertPackedMatchesPredict(model, heldOut.samples);
  });

  test('negative and zero gamma match', () => {
    const inputNorm = batchNormNamed(model, 'bn_input');
    const hiddenNorm = batchNormNamed(model, 'bn_hidden');
    const outputNorm = batchNormNamed(model, 'bn_output');
    for (let c = 0; c < 12; c++) inputNorm.gamma.data[c] = -Math.abs(inputNorm.gamma.data[c]) - 0.1;
    for (let c = 0; c < 8; c++) hiddenNorm.gamma.data[c] = 0;
    hiddenNorm.beta.data.set([0.3, -0.3, 0, -0.2], 0);
    outputNorm.gamma.data[1] = -Math.abs(outputNorm.gamma.data[1]) - 0.1;

    const packed = compileModel(model);
    const firstOutput = packed.layers[0].output;
    assert.ok(firstOutput.kind === 'signs', 'the first layer must output signs');
    for (let c = 0; c < 12; c++) assert.equal(firstOutput.directions[c], -1, `bn_input channel ${c} has negative gamma`);

    assertPackedMatchesPredict(model, train.samples);
    assertPackedMatchesPredict(model, heldOut.samples);
  });
});

describe('compileModel rejects unsupported models', () => {
  /** Asserts that compileModel(model) throws a QnnError whose message names `layerName`. */
  function assertRejectsLayer(model: Sequential, layerName: string): void {
    assert.throws(() => compileModel(model), (error: unknown) => {
      assert.ok(error instanceof QnnError, `expected QnnError, got ${String(error)}`);
      assert.ok(error.message.includes(`'${layerName}'`), `message does not name ${layerName}: ${error.message}`);
      return true;
    });
  }

  test('first layer quantizing its input', () => {
    const model = new Sequential([
      new QuantDense(8, { name: 'first_quantized_input' }),
      new BatchNorm({ name: 'bn_first' }),
      new QuantDense(2, { name: 'last' }),
    ]).build([16], 1);

    assertRejectsLayer(model, 'first_quantized_input');
  });

  test('hidden layer with float kernel', () => {
    const model = new Sequential([
      new QuantDense(8, { inputQuantizer: null, name: 'first' }),
      new BatchNorm({ name: 'bn_first' }),
      new Dense(8, { inputQuantizer: 'ste_sign', kernelQuantizer: null, name: 'hidden_float_kernel' }),
      new BatchNorm({ name: 'bn_hidden' }),
      new QuantDense(2, { name: 'last' }),
    ]).build([16], 1);

    assertRejectsLayer(model, 'hidden_float_kernel');
  });

  test('hidden layer with float input', () => {
    const model = new Sequential([
      new QuantDense(8, { inputQuantizer: null, name: 'first' }),
      new BatchNorm({ name: 'bn_first' }),
      new QuantDense(2, { inputQuantizer: null, name: 'last_float_input' }),
    ]).build([16], 1);

    assertRejectsLayer(model, 'last_float_input');
  });

  test('batch norm before any dense', () => {
    const model = new Sequential([
      new BatchNorm({ name: 'bn_leading' }),
      new QuantDense(2, { inputQuantizer: null, name: 'last' }),
    ]).build([16], 1);

    assertRejectsLayer(model, 'bn_leading');
  });
});

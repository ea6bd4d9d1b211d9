import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import type { Backend } from '../../sdk/backends/backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { compileModel, compileNetwork } from '../../sdk/compile/compile-model.js';
import type { PackedConv2dLayer } from '../../sdk/compile/graph.js';
import { runPacked, runPackedAsync } from '../../sdk/compile/run-packed.js';
import { QnnError } from '../../sdk/errors.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { QuantDense } from '../../sdk/layers/dense.js';
import { Dropout } from '../../sdk/layers/dropout.js';
import { Flatten } from '../../sdk/layers/flatten.js';
import { GlobalAveragePooling2D } from '../../sdk/layers/global-average-pooling2d.js';
import type { Layer } from '../../sdk/layers/layer.js';
import { MaxPool2D } from '../../sdk/layers/max-pool2d.js';
import { QuantConv2D } from '../../sdk/layers/quant-conv2d.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { Random } from '../../sdk/random.js';
import { Tensor } from '../../sdk/tensor/tensor.js';
import { fit } from '../../sdk/training/fit.js';
import { argmax } from '../../sdk/training/metrics.js';
import { SeededRandom } from '../helpers/random.js';

const CLASSES = 3;

interface TinyConvNetOptions {
  inputShape: [number, number, number];
  padding: 'same' | 'valid';
  padValue: 1 | 0 | -1;
  /** Where the first block's MaxPool2D sits relative to its BatchNorm. */
  pool: 'before_norm' | 'after_norm';
  secondFilters: number;
  strides?: number;
}

/** conv(4, 3x3) -> pool/BN -> conv(secondFilters, 3x3) -> BN -> Flatten -> dense(8) -> BN -> dropout -> dense(3) -> BN. */
function tinyConvNet(options: TinyConvNetOptions): Sequential {
  const { padding, padValue } = options;
  const layers: Layer[] = [new QuantConv2D(4, 3, { padding, padValue, strides: options.strides ?? 1, inputQuantizer: null, name: 'conv_input' })];
  if (options.pool === 'before_norm') layers.push(new MaxPool2D(2, { name: 'pool_input' }), new BatchNorm({ name: 'bn_conv_input' }));
  else layers.push(new BatchNorm({ name: 'bn_conv_input' }), new MaxPool2D(2, { name: 'pool_input' }));
  layers.push(
    new QuantConv2D(options.secondFilters, 3, { padding, padValue, name: 'conv_hidden' }),
    new BatchNorm({ name: 'bn_conv_hidden' }),
    new Flatten({ name: 'flatten' }),
    new QuantDense(8, { name: 'dense_hidden' }),
    new BatchNorm({ name: 'bn_dense_hidden' }),
    new Dropout(0.1, { name: 'dropout_hidden' }),
    new QuantDense(CLASSES, { name: 'dense_output' }),
    new BatchNorm({ name: 'bn_output' }),
  );
  return new Sequential(layers).build(options.inputShape, 7);
}

function randomSamples(seed: number, count: number, features: number): { samples: Uint8Array; labels: Int32Array } {
  const random = new SeededRandom(seed);
  const samples = Uint8Array.from({ length: count * features }, () => random.int(0, 255));
  const labels = Int32Array.from({ length: count }, () => random.int(0, CLASSES - 1));
  return { samples, labels };
}

/** Returns the float32 model input uint8 * scale, which float32 represents exactly for scale 1/256. */
function toModelInput(samples: Uint8Array, scale = 1 / 256): Float32Array {
  return Float32Array.from(samples, (v) => v * scale);
}

function trainFewSteps(model: Sequential, samples: Uint8Array, labels: Int32Array): void {
  fit(model, toModelInput(samples), labels, { epochs: 2, batchSize: 16, optimizer: new Adam({ learningRate: 0.01 }), loss: 'squared_hinge', seed: 5 });
}

function batchNormNamed(model: Sequential, name: string): BatchNorm {
  const layer = model.layers.find((l) => l.name === name);
  assert.ok(layer instanceof BatchNorm, `model has no BatchNorm named ${name}`);
  return layer;
}

/** Asserts scores equal within 1e-5 of max(|score|, 1), as the dense compile test does, and identical argmax per sample. */
function assertScoresMatch(actual: Float32Array, expected: Float32Array, classes: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: score count`);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = 1e-5 * Math.max(Math.abs(expected[i]), 1);
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${label}: sample ${Math.floor(i / classes)}, class ${i % classes}: packed ${actual[i]}, predict ${expected[i]}`);
  }
  const count = expected.length / classes;
  const expectedClasses = argmax(expected, count, classes);
  const actualClasses = argmax(actual, count, classes);
  for (let s = 0; s < count; s++) assert.equal(actualClasses[s], expectedClasses[s], `${label}: sample ${s} argmax`);
}

describe('compileNetwork on trained tiny ConvNets', () => {
  const backends: Backend[] = [new ReferenceBackend()];

  before(async () => {
    backends.push(await createWasmBackend());
  });

  const variants: { name: string; options: TinyConvNetOptions }[] = [
    { name: 'same one padding, pool before norm', options: { inputShape: [8, 8, 1], padding: 'same', padValue: 1, pool: 'before_norm', secondFilters: 5 } },
    { name: 'same zero padding, pool after norm', options: { inputShape: [8, 8, 1], padding: 'same', padValue: 0, pool: 'after_norm', secondFilters: 5 } },
    { name: 'valid, 3 input channels', options: { inputShape: [9, 9, 3], padding: 'valid', padValue: 1, pool: 'before_norm', secondFilters: 4 } },
    { name: 'same minus-one padding, 33 filters', options: { inputShape: [8, 8, 1], padding: 'same', padValue: -1, pool: 'before_norm', secondFilters: 33 } },
    { name: 'same one padding, stride 2', options: { inputShape: [10, 10, 2], padding: 'same', padValue: 1, pool: 'after_norm', secondFilters: 5, strides: 2 } },
  ];

  for (const { name, options } of variants) {
    test(name, () => {
      const features = options.inputShape[0] * options.inputShape[1] * options.inputShape[2];
      const train = randomSamples(11, 64, features);
      const heldOut = randomSamples(12, 24, features);
      const model = tinyConvNet(options);
      trainFewSteps(model, train.samples, train.labels);
      assert.ok(batchNormNamed(model, 'bn_conv_hidden').runningMean.some((v) => v !== 0), 'training did not move the conv running mean');

      const network = compileNetwork(model);
      for (const backend of backends) {
        for (const { samples } of [train, heldOut]) {
          assertScoresMatch(runPacked(network, backend, samples, 10), model.predict(toModelInput(samples)), CLASSES, `${name} on ${backend.name}`);
        }
      }
    });
  }

  test('negative and zero gamma in conv blocks', () => {
    for (const pool of ['before_norm', 'after_norm'] as const) {
      const train = randomSamples(21, 64, 64);
      const model = tinyConvNet({ inputShape: [8, 8, 1], padding: 'same', padValue: 1, pool, secondFilters: 6 });
      trainFewSteps(model, train.samples, train.labels);

      const inputNorm = batchNormNamed(model, 'bn_conv_input');
      const hiddenNorm = batchNormNamed(model, 'bn_conv_hidden');
      for (const c of [0, 2]) inputNorm.gamma.data[c] = -Math.abs(inputNorm.gamma.data[c]) - 0.1;
      for (const c of [1, 3, 4]) hiddenNorm.gamma.data[c] = -Math.abs(hiddenNorm.gamma.data[c]) - 0.1;
      hiddenNorm.gamma.data[5] = 0;
      hiddenNorm.beta.data[5] = -0.3;

      const network = compileNetwork(model);
      const first = network.layers[0] as PackedConv2dLayer;
      assert.deepEqual(Array.from(first.output.directions), [-1, 1, -1, 1], `${pool}: directions of the first conv`);
      for (const backend of backends) {
        assertScoresMatch(runPacked(network, backend, train.samples), model.predict(toModelInput(train.samples)), CLASSES, `${pool} on ${backend.name}`);
      }
    }
  });

  test('runPackedAsync matches runPacked', async () => {
    const train = randomSamples(31, 32, 64);
    const model = tinyConvNet({ inputShape: [8, 8, 1], padding: 'same', padValue: 1, pool: 'before_norm', secondFilters: 5 });
    trainFewSteps(model, train.samples, train.labels);
    const network = compileNetwork(model);

    const sync = runPacked(network, backends[0], train.samples);
    assert.deepEqual(await runPackedAsync(network, backends[1], train.samples), sync);
  });
});

describe('compiled ConvNet layout', () => {
  test('layer kinds and shapes', () => {
    const model = tinyConvNet({ inputShape: [8, 8, 1], padding: 'same', padValue: 1, pool: 'after_norm', secondFilters: 5 });
    const network = compileNetwork(model);

    assert.deepEqual(network.inputShape, [8, 8, 1]);
    assert.deepEqual(network.layers.map((l) => l.kind), ['conv2d', 'maxPool2d', 'conv2d', 'flatten', 'dense', 'dense']);
    const [first, pool, hidden, flatten] = network.layers;
    // Narrows the union types; the kinds were asserted above.
    assert.ok(first.kind === 'conv2d');
    assert.ok(hidden.kind === 'conv2d');
    assert.ok(pool.kind === 'maxPool2d');
    assert.ok(flatten.kind === 'flatten');
    assert.equal(first.input, 'uint8');
    assert.equal(first.padValue, 256, 'a real pad value of 1.0 at input scale 1/256 is 256 uint8 units');
    assert.equal(first.weights.length, 4 * Math.ceil(9 / 32), 'uint8 conv weights are packed per filter in im2col order');
    assert.equal(hidden.input, 'signs');
    assert.equal(hidden.weights.length, 5 * 9 * 1, 'signs conv weights are packed per tap along channels');
    assert.deepEqual([flatten.height, flatten.width, flatten.channels], [4, 4, 5]);
  });

  test('compileModel rejects a ConvNet', () => {
    const model = tinyConvNet({ inputShape: [8, 8, 1], padding: 'same', padValue: 1, pool: 'after_norm', secondFilters: 5 });
    assert.throws(() => compileModel(model), /compile it with compileNetwork/);
  });

  test('leading flatten on an MLP', () => {
    const model = new Sequential([
      new Flatten({ name: 'flatten_input' }),
      new QuantDense(6, { inputQuantizer: null, name: 'dense_input' }),
      new BatchNorm({ name: 'bn_input' }),
      new QuantDense(CLASSES, { name: 'dense_output' }),
    ]).build([4, 4, 1], 3);
    const { samples } = randomSamples(41, 8, 16);
    const packed = compileModel(model);

    assert.deepEqual(packed.layers.map((l) => l.kind), ['dense', 'dense']);
    assertScoresMatch(runPacked(packed, new ReferenceBackend(), samples), model.predict(toModelInput(samples)), CLASSES, 'leading flatten');
  });
});

describe('compileNetwork rejects unsupported ConvNets', () => {
  function assertRejectsLayer(model: Sequential, layerName: string): void {
    assert.throws(() => compileNetwork(model), (error: unknown) => {
      assert.ok(error instanceof QnnError, `expected QnnError, got ${String(error)}`);
      assert.ok(error.message.includes(`'${layerName}'`), `message does not name ${layerName}: ${error.message}`);
      return true;
    });
  }

  test('global average pooling compiles; batch norm after it does not', () => {
    const model = new Sequential([
      new QuantConv2D(4, 3, { inputQuantizer: null, name: 'conv_input' }),
      new BatchNorm(),
      new GlobalAveragePooling2D({ name: 'global_pool' }),
      new QuantDense(CLASSES, { name: 'dense_output' }),
    ]).build([6, 6, 1], 1);
    assert.deepEqual(compileNetwork(model).layers.map((l) => l.kind), ['conv2d-kbit', 'globalAveragePool2d', 'dense']);

    const normAfterPool = new Sequential([
      new QuantConv2D(4, 3, { inputQuantizer: null, name: 'conv_input' }),
      new BatchNorm(),
      new GlobalAveragePooling2D({ name: 'global_pool' }),
      new BatchNorm({ name: 'bn_after_pool' }),
      new QuantDense(CLASSES, { name: 'dense_output' }),
    ]).build([6, 6, 1], 1);
    assertRejectsLayer(normAfterPool, 'bn_after_pool');
  });

  test('two pools in one block', () => {
    const model = new Sequential([
      new QuantConv2D(4, 3, { inputQuantizer: null, name: 'conv_input' }),
      new MaxPool2D(2, { name: 'pool_a' }),
      new BatchNorm(),
      new MaxPool2D(2, { name: 'pool_b' }),
      new Flatten(),
      new QuantDense(CLASSES, { name: 'dense_output' }),
    ]).build([8, 8, 1], 1);

    assertRejectsLayer(model, 'pool_b');
  });

  test('hidden conv with float input', () => {
    const model = new Sequential([
      new QuantConv2D(4, 3, { inputQuantizer: null, name: 'conv_input' }),
      new BatchNorm(),
      new QuantConv2D(4, 3, { inputQuantizer: null, name: 'conv_float_input' }),
      new BatchNorm(),
      new Flatten(),
      new QuantDense(CLASSES, { name: 'dense_output' }),
    ]).build([6, 6, 1], 1);

    assertRejectsLayer(model, 'conv_float_input');
  });

  test('k-bit conv kernel compiles', () => {
    const model = new Sequential([
      new QuantConv2D(4, 3, { inputQuantizer: null, name: 'conv_input' }),
      new BatchNorm(),
      new QuantConv2D(4, 3, { kernelQuantizer: { kind: 'linear', bits: 2 }, name: 'conv_two_bit' }),
      new BatchNorm(),
      new Flatten(),
      new QuantDense(CLASSES, { name: 'dense_output' }),
    ]).build([6, 6, 1], 1);

    // k-bit conv kernels compile to conv2d-kbit now (test/core/conv-kbit-compile.test.ts checks the scores).
    assert.deepEqual(compileNetwork(model).layers.map((l) => l.kind), ['conv2d', 'conv2d-kbit', 'flatten', 'dense']);
  });

  test('pad value off the input grid', () => {
    const model = new Sequential([
      new QuantConv2D(2, 3, { inputQuantizer: null, name: 'conv_input' }),
      new BatchNorm(),
      new Flatten(),
      new QuantDense(CLASSES, { name: 'dense_output' }),
    ]).build([4, 4, 1], 1);

    assert.throws(() => compileNetwork(model, { inputScale: 3 / 1000 }), /'conv_input'.*pad value 1 is not an integer number of input units/);
  });
});

/**
 * Padding of a binary convolution: a 1x3 image of +1 signs, a 1x3 kernel of
 * latent 0.2 (sign +1) and a per-channel scale of 0.5. Zero padding gives
 * [1.0, 1.5, 1.0], +1 padding [1.5, 1.5, 1.5] and -1 padding [0.5, 1.5, 0.5].
 */
describe('padding field case through both graphs', () => {
  const expectedValues = new Map<1 | 0 | -1, number[]>([
    [0, [1.0, 1.5, 1.0]],
    [1, [1.5, 1.5, 1.5]],
    [-1, [0.5, 1.5, 0.5]],
  ]);
  // Sign of (value - 1.25) and of (value - 0.75): the two channels tell all three paddings apart.
  const expectedSigns = new Map<1 | 0 | -1, number[]>([
    [0, [-1, 1, 1, 1, -1, 1]],
    [1, [1, 1, 1, 1, 1, 1]],
    [-1, [-1, -1, 1, 1, -1, -1]],
  ]);
  const denseSigns = [1, -1, 1, 1, -1, -1, 1, 1, -1, 1, 1, -1];

  /** conv 1x1 (identity on the +1 input) -> conv 1x3 with two channels -> BN scale 0.5, shifts -1.25 and -0.75 -> flatten -> dense(2). */
  function paddingModel(padValue: 1 | 0 | -1): Sequential {
    const model = new Sequential([
      new QuantConv2D(1, 1, { inputQuantizer: null, name: 'conv_identity' }),
      new QuantConv2D(2, [1, 3], { padValue, name: 'conv_padded' }),
      new BatchNorm({ epsilon: 1e-4, name: 'bn_padded' }),
      new Flatten(),
      new QuantDense(2, { name: 'scores' }),
    ]).build([1, 3, 1], 1);

    const [identity, padded, norm, , scores] = model.layers as [QuantConv2D, QuantConv2D, BatchNorm, Flatten, QuantDense];
    identity.kernel.data.fill(0.5);
    padded.kernel.data.fill(0.2);
    norm.gamma.data.fill(0.5);
    norm.beta.data.set([-1.25, -0.75]);
    norm.runningVariance.fill(1 - 1e-4);
    scores.kernel.data.set(denseSigns.map((s) => 0.3 * s));
    return model;
  }

  for (const padValue of [0, 1, -1] as const) {
    test(`pad value ${padValue}`, async () => {
      const model = paddingModel(padValue);
      const network = compileNetwork(model, { inputScale: 1 });
      const padded = network.layers[1] as PackedConv2dLayer;
      const signs = expectedSigns.get(padValue)!;
      const scores = [0, 1].map((u) => signs.reduce((sum, s, i) => sum + s * denseSigns[i * 2 + u], 0));

      // Training graph: BN(conv) values, then the scores the signs imply.
      const context = { training: false, random: new Random(0) };
      const ones = new Tensor(new Float32Array(3).fill(1), [1, 1, 3, 1]);
      const convValues = model.layers[1].forward(model.layers[0].forward(ones, context), context);
      const channel0 = Array.from(convValues.data).filter((_, i) => i % 2 === 0);
      assert.deepEqual(channel0.map((v) => v * 0.5), expectedValues.get(padValue));
      assert.deepEqual(Array.from(model.predict(new Float32Array(3).fill(1))), scores);

      // Packed engine: the same accumulators from binaryConv2d, and the same scores end to end.
      for (const backend of [new ReferenceBackend(), await createWasmBackend()]) {
        const shape = { batch: 1, height: 1, width: 3, channels: 1, outChannels: 2, kernelHeight: 1, kernelWidth: 3, strideHeight: 1, strideWidth: 1, padding: 'same' as const, padValue };
        const acc = backend.binaryConv2d(new Uint32Array(3), padded.weights, shape);
        assert.deepEqual(Array.from(acc).filter((_, i) => i % 2 === 0).map((v) => v * 0.5), expectedValues.get(padValue), backend.name);
        assert.deepEqual(Array.from(runPacked(network, backend, Uint8Array.of(1, 1, 1))), scores, backend.name);
      }
    });
  }
});

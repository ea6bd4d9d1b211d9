import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  Adam,
  argmax,
  BatchNorm,
  Dense,
  Dropout,
  QnnError,
  QuantDense,
  Sequential,
  Tensor,
  exponentialDecay,
  fit,
  type FitOptions,
} from '../../sdk/index.js';
import { SeededRandom } from '../helpers/random.js';
import type { Parameter } from '../../sdk/layers/layer.js';

const FEATURES = 16;
const CLASSES = 3;

/** Generates seeded samples in [0, 1) with labels from the largest of the first CLASSES features. */
function syntheticData(seed: number, count: number): { inputs: Float32Array; labels: Int32Array } {
  const random = new SeededRandom(seed);
  const inputs = Float32Array.from({ length: count * FEATURES }, () => random.next());
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let c = 1; c < CLASSES; c++) if (inputs[i * FEATURES + c] > inputs[i * FEATURES + best]) best = c;
    labels[i] = best;
  }
  return { inputs, labels };
}

/** Builds a binarized model whose training draws on every seeded source: data order, dropout and stochastic binarization. */
function buildModel(buildSeed: number): Sequential {
  return new Sequential([
    new QuantDense(24, { inputQuantizer: null, name: 'dense_input' }),
    new BatchNorm({ name: 'bn_input' }),
    new Dropout(0.25, { name: 'dropout_input' }),
    new QuantDense(24, { inputQuantizer: 'stochastic_binary', name: 'dense_hidden' }),
    new BatchNorm({ name: 'bn_hidden' }),
    new QuantDense(CLASSES, { name: 'dense_output' }),
    new BatchNorm({ name: 'bn_output' }),
  ]).build([FEATURES], buildSeed);
}

function fitOptions(seed: number, overrides: Partial<FitOptions> = {}): FitOptions {
  return { epochs: 2, batchSize: 16, optimizer: new Adam({ learningRate: 0.01 }), loss: 'squared_hinge', seed, ...overrides };
}

/** Copies every parameter and every batch-norm running statistic, keyed by name. */
function snapshotState(model: Sequential): Map<string, Float32Array> {
  const state = new Map<string, Float32Array>();
  for (const parameter of model.parameters()) state.set(parameter.name, Float32Array.from(parameter.value.data));
  for (const layer of model.layers) {
    if (!(layer instanceof BatchNorm)) continue;
    state.set(`${layer.name}/running_mean`, Float32Array.from(layer.runningMean));
    state.set(`${layer.name}/running_variance`, Float32Array.from(layer.runningVariance));
  }
  return state;
}

function isRunningStatistic(name: string): boolean {
  return name.endsWith('/running_mean') || name.endsWith('/running_variance');
}

/** Creates a one-tensor parameter with a preset gradient, for driving Adam by hand. */
function parameterWith(values: number[], grad: number[], learningRateScale: number, clip: number | null = null): Parameter {
  const value = new Tensor(Float32Array.from(values), [values.length], true);
  value.grad = Float32Array.from(grad);
  return { name: 'w', value, learningRateScale, clip };
}

/** Returns the error `run` throws, failing the test when it throws nothing. */
function captureError(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an error, but none was thrown');
}

describe('fit seeding', () => {
  const data = syntheticData(1, 96);

  test('fit same seed, identical state', () => {
    const first = buildModel(7);
    const second = buildModel(7);

    fit(first, data.inputs, data.labels, fitOptions(5));
    fit(second, data.inputs, data.labels, fitOptions(5));

    const firstState = snapshotState(first);
    const secondState = snapshotState(second);
    for (const [name, values] of firstState) {
      // deepStrictEqual compares float typed arrays byte for byte, so this is bit identity.
      assert.deepStrictEqual(secondState.get(name), values, `${name} differs between runs with the same seed`);
    }
  });

  test('fit other seed, different weights', () => {
    const first = buildModel(7);
    const second = buildModel(7);

    fit(first, data.inputs, data.labels, fitOptions(5));
    fit(second, data.inputs, data.labels, fitOptions(6));

    const firstKernel = snapshotState(first).get('dense_hidden/kernel');
    const secondKernel = snapshotState(second).get('dense_hidden/kernel');
    assert.notDeepStrictEqual(secondKernel, firstKernel);
  });

  test('build other seed, different weights', () => {
    const first = buildModel(7).parameters()[0].value.data;
    const second = buildModel(8).parameters()[0].value.data;

    assert.notDeepStrictEqual(second, first);
  });
});

describe('Adam', () => {
  // On the first step m_hat = g and v_hat = g^2, so the update is lr * g / (|g| + epsilon):
  // lr * learningRateScale in the direction of -g whenever |g| >> epsilon = 1e-8.
  const learningRate = 0.01;
  const grad = [1, -1, 1e-3, -250];
  const initial = [0.5, -0.25, 0, 0.125];

  test('Adam first step is learning rate', () => {
    const parameter = parameterWith(initial, grad, 1);

    new Adam({ learningRate }).apply([parameter]);

    for (let i = 0; i < grad.length; i++) {
      const expected = initial[i] - learningRate * Math.sign(grad[i]);
      assert.ok(Math.abs(parameter.value.data[i] - expected) <= 1e-6, `w[${i}] = ${parameter.value.data[i]}, expected ${expected}`);
    }
  });

  test('Adam learningRateScale 2 doubles step', () => {
    const single = parameterWith(initial, grad, 1);
    const double = parameterWith(initial, grad, 2);

    new Adam({ learningRate }).apply([single]);
    new Adam({ learningRate }).apply([double]);

    for (let i = 0; i < grad.length; i++) {
      const singleStep = single.value.data[i] - initial[i];
      const doubleStep = double.value.data[i] - initial[i];
      assert.ok(Math.abs(doubleStep + 2 * learningRate * Math.sign(grad[i])) <= 1e-6, `w[${i}] moved ${doubleStep}`);
      assert.ok(Math.abs(doubleStep / singleStep - 2) <= 1e-4, `w[${i}]: steps ${singleStep} and ${doubleStep} are not in ratio 2`);
    }
  });

  test('Adam zero gradient leaves weight', () => {
    const parameter = parameterWith([0.5, -0.5], [0, 1], 1);

    new Adam({ learningRate }).apply([parameter]);

    assert.equal(parameter.value.data[0], 0.5);
  });

  test('Adam clears gradients after step', () => {
    const parameter = parameterWith(initial, grad, 1);

    new Adam({ learningRate }).apply([parameter]);

    assert.equal(parameter.value.grad, null);
  });

  test('Adam clip stops at bound', () => {
    // Without the clip the steps would end at 1.05 and -1.05.
    const parameter = parameterWith([0.95, -0.95], [-1, 1], 1, 1);

    new Adam({ learningRate: 0.1 }).apply([parameter]);

    assert.deepEqual(Array.from(parameter.value.data), [1, -1]);
  });
});

describe('fit kernel clip', () => {
  test('fit keeps kernels in [-1, 1]', () => {
    // A learning rate of 0.5 times the Glorot scale (4.2 to 5.7 for these layers) steps far past the clip.
    const data = syntheticData(2, 64);
    const model = buildModel(9);

    fit(model, data.inputs, data.labels, fitOptions(3, { optimizer: new Adam({ learningRate: 0.5 }) }));

    let atBound = 0;
    for (const parameter of model.parameters()) {
      if (!parameter.name.endsWith('/kernel')) continue;
      for (const w of parameter.value.data) {
        assert.ok(w >= -1, `${parameter.name} has weight ${w} below -1`);
        assert.ok(w <= 1, `${parameter.name} has weight ${w} above 1`);
        if (Math.abs(w) === 1) atBound++;
      }
    }
    assert.ok(atBound > 0, 'no kernel weight reached the clip, so the clip was never exercised');
  });
});

describe('exponentialDecay', () => {
  // Over 4 epochs from 0.003 to 0.000003 the factor per epoch is (1e-3)^(1/3) = 0.1.
  const schedule = exponentialDecay(0.003, 0.000003, 4);
  const expected = [0.003, 0.0003, 0.00003, 0.000003];

  expected.forEach((rate, epoch) => {
    test(`exponentialDecay at epoch ${epoch}`, () => {
      assert.ok(Math.abs(schedule(epoch) - rate) <= 1e-12 * rate, `epoch ${epoch}: ${schedule(epoch)}, expected ${rate}`);
    });
  });

  test('exponentialDecay sets fit learning rate', () => {
    const data = syntheticData(3, 32);
    const reports = fit(buildModel(1), data.inputs, data.labels, fitOptions(1, { epochs: 4, learningRateSchedule: schedule }));

    reports.forEach((report, epoch) => {
      assert.ok(Math.abs(report.learningRate - expected[epoch]) <= 1e-12 * expected[epoch], `epoch ${epoch}: ${report.learningRate}`);
    });
  });
});

describe('fit input checks', () => {
  /** Builds a float model, so a NaN input reaches the loss instead of being binarized away. */
  function buildFloatModel(): Sequential {
    const firstLayer = new Dense(8, { name: 'dense_float_input' });
    const model = new Sequential([firstLayer, new BatchNorm({ name: 'bn_float' }), new Dense(CLASSES, { name: 'dense_float_output' })]).build([FEATURES], 11);
    (firstLayer.kernel.data as Float32Array).fill(1);
    return model;
  }

  /**
   * Trains `model` for one epoch on data whose sample 37 contains `poison`. Returns the
   * error (null when none was thrown), the number of batches that completed, the
   * state after the last completed batch and the final state.
   */
  function fitWithPoisonedSample(model: Sequential, poison: number): {
    error: Error | null;
    completedBatches: number;
    before: Map<string, Float32Array>;
    after: Map<string, Float32Array>;
  } {
    const data = syntheticData(4, 64);
    if (Number.isNaN(poison)) data.inputs[37 * FEATURES + 2] = poison;
    else data.inputs.fill(poison, 37 * FEATURES, 38 * FEATURES);
    let before = snapshotState(model);
    let completedBatches = 0;
    const onBatchEnd = (): void => {
      before = snapshotState(model);
      completedBatches++;
    };

    let error: Error | null = null;
    try {
      fit(model, data.inputs, data.labels, fitOptions(8, { epochs: 1, batchSize: 8, onBatchEnd }));
    } catch (caught) {
      assert.ok(caught instanceof Error, `expected an Error, got ${String(caught)}`);
      error = caught;
    }
    return { error, completedBatches, before, after: snapshotState(model) };
  }

  // A sample whose every feature is this large overflows float32 in the first
  // matmul of the float model (its first kernel is all ones), so the loss of its batch is not finite.
  const OVERFLOWING_INPUT = 3e38;

  test('fit non-finite loss throws', () => {
    const { error, completedBatches } = fitWithPoisonedSample(buildFloatModel(), OVERFLOWING_INPUT);

    assert.ok(error instanceof QnnError, `expected QnnError, got ${String(error)}`);
    assert.match(error.message, /loss became (NaN|Infinity)|gradient of .* is not finite/);
    assert.ok(completedBatches > 0, 'the bad batch came first, so this seed does not test a later batch');
  });

  test('fit NaN input names sample', () => {
    const { error, completedBatches } = fitWithPoisonedSample(buildFloatModel(), Number.NaN);

    assert.ok(error instanceof QnnError, `expected QnnError, got ${String(error)}`);
    assert.match(error.message, /sample 37, feature 2 is not finite/);
    assert.equal(completedBatches, 0);
  });

  test('fit bad batch keeps parameters', () => {
    const { before, after } = fitWithPoisonedSample(buildFloatModel(), OVERFLOWING_INPUT);

    for (const [name, values] of before) {
      if (isRunningStatistic(name)) continue;
      assert.deepStrictEqual(after.get(name), values, `${name} changed in the batch whose loss was not finite`);
    }
  });

  test('fit bad batch keeps running statistics', () => {
    // Batch norm updates its running statistics in the forward pass, before fit checks the loss.
    const { before, after } = fitWithPoisonedSample(buildFloatModel(), OVERFLOWING_INPUT);

    for (const [name, values] of before) {
      if (!isRunningStatistic(name)) continue;
      assert.deepStrictEqual(after.get(name), values, `${name} changed in the batch whose loss was not finite`);
    }
  });

  test('fit NaN input, binarized model', () => {
    // The sign quantizers map NaN to -1, so the loss stays finite while the
    // NaN flows back into the first kernel through batch norm's gradient.
    const model = buildModel(11);

    const { error, after } = fitWithPoisonedSample(model, Number.NaN);

    const weightsWithNaN = [...after].filter(([, values]) => values.some(Number.isNaN)).map(([name]) => name);
    assert.deepEqual(weightsWithNaN, [], 'NaN reached the model state');
    assert.ok(error instanceof QnnError, `expected QnnError for a NaN input, got ${String(error)}`);
  });

  test('fit labels count mismatch', () => {
    const data = syntheticData(5, 10);

    const error = captureError(() => fit(buildModel(1), data.inputs, data.labels.subarray(0, 9), fitOptions(1)));

    assert.ok(error instanceof QnnError, `expected QnnError, got ${error.name}`);
    assert.match(error.message, /\b10\b/, `message does not name the 10 samples: ${error.message}`);
    assert.match(error.message, /\b9\b/, `message does not name the 9 labels: ${error.message}`);
  });

  test('fit partial sample rejected', () => {
    const data = syntheticData(6, 4);

    const error = captureError(() => fit(buildModel(1), data.inputs.subarray(0, 3 * FEATURES + 5), data.labels.subarray(0, 3), fitOptions(1)));

    assert.ok(error instanceof QnnError, `expected QnnError, got ${error.name}`);
    assert.match(error.message, /\b53\b/, `message does not name the input length: ${error.message}`);
  });
});

describe('Sequential fit and evaluate', () => {
  test('fit method equals fit function', () => {
    const data = syntheticData(7, 32);
    const viaMethod = buildModel(5);
    const viaFunction = buildModel(5);

    viaMethod.fit(data.inputs, data.labels, fitOptions(4));
    fit(viaFunction, data.inputs, data.labels, fitOptions(4));

    assert.deepEqual(snapshotState(viaMethod), snapshotState(viaFunction));
  });

  test('evaluate error matches predictions', () => {
    const data = syntheticData(8, 40);
    const model = buildModel(6);
    model.fit(data.inputs, data.labels, fitOptions(4));

    const { error, accuracy, scores } = model.evaluate(data.inputs, data.labels);

    const predicted = argmax(model.predict(data.inputs), 40, CLASSES);
    const wrong = Array.from(predicted).filter((label, i) => label !== data.labels[i]).length;
    assert.equal(error, wrong / 40);
    assert.equal(accuracy, 1 - wrong / 40);
    assert.equal(scores.length, 40 * CLASSES);
  });

  test('fit names a missing or unknown loss', () => {
    const data = syntheticData(10, 10);
    const withoutLoss: Partial<FitOptions> = fitOptions(1);
    delete withoutLoss.loss;

    assert.throws(() => buildModel(1).fit(data.inputs, data.labels, withoutLoss as FitOptions), /fit: loss 'undefined' is unknown or missing; use one of .*softmax_cross_entropy/);
    assert.throws(() => buildModel(1).fit(data.inputs, data.labels, { ...fitOptions(1), loss: 'hinge' as FitOptions['loss'] }), /fit: loss 'hinge' is unknown/);
    assert.throws(() => buildModel(1).fit(data.inputs, data.labels, { ...fitOptions(1), loss: 'toString' as FitOptions['loss'] }), /fit: loss 'toString' is unknown/);
  });

  test('fit names a missing optimizer', () => {
    const data = syntheticData(11, 10);
    const withoutOptimizer: Partial<FitOptions> = fitOptions(1);
    delete withoutOptimizer.optimizer;

    assert.throws(() => buildModel(1).fit(data.inputs, data.labels, withoutOptimizer as FitOptions), /fit: optimizer is missing/);
  });

  test('evaluate rejects label count', () => {
    const data = syntheticData(9, 10);

    assert.throws(() => buildModel(1).evaluate(data.inputs, data.labels.subarray(0, 7)), /10 samples but 7 labels/);
  });
});

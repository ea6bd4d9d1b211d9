import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { QnnError } from '../../sdk/errors.js';
import type { Parameter } from '../../sdk/layers/layer.js';
import { LSTM } from '../../sdk/layers/lstm.js';
import { languageModel } from '../../sdk/models/language-model.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { Random } from '../../sdk/random.js';
import { Tensor } from '../../sdk/tensor/tensor.js';
import { bpttLayout, bpttWindows } from '../../sdk/training/bptt-batches.js';
import { clipGradientsByGlobalNorm, globalGradientNorm } from '../../sdk/training/clip-gradients.js';
import { evaluatePerplexity, fitLanguageModel } from '../../sdk/training/fit-language-model.js';

const inference = { training: false, random: new Random(0) };

describe('BPTT batching', () => {
  test('11 tokens, batch 2, 3 steps', () => {
    const tokens = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const layout = bpttLayout(tokens.length, 2, 3, 'test');
    // Streams [0..4] and [5..9]; token 10 is dropped; 2 * (5 - 1) = 8 predictions in windows of 3 and 1 steps.
    assert.deepEqual(layout, { batch: 2, streamLength: 5, predictedTokens: 8, windows: 2 });
    const windows = [...bpttWindows(tokens, layout, 3)];
    assert.equal(windows.length, 2);
    assert.deepEqual(Array.from(windows[0].inputs), [0, 1, 2, 5, 6, 7]);
    assert.deepEqual(Array.from(windows[0].targets), [1, 2, 3, 6, 7, 8]);
    assert.equal(windows[0].steps, 3);
    assert.deepEqual(Array.from(windows[1].inputs), [3, 8]);
    assert.deepEqual(Array.from(windows[1].targets), [4, 9]);
    assert.equal(windows[1].steps, 1);
  });

  test('rejects streams shorter than two tokens', () => {
    assert.throws(() => bpttLayout(5, 3, 2, 'fitLanguageModel'), /5 tokens give streams of 1 token\(s\) for batchSize 3/);
  });
});

describe('state carried across windows', () => {
  test('windows 3 + 2 equal one window of 5', () => {
    for (const quantizer of [null, { kind: 'linear' as const, bits: 3 }]) {
      const lstm = new LSTM(4, { weightQuantizer: quantizer, activationQuantizer: quantizer });
      lstm.build([5, 3], new Random(21));
      const random = new Random(22);
      const x = Float32Array.from({ length: 2 * 5 * 3 }, () => random.uniform(-1, 1));

      const whole = lstm.run(new Tensor(x, [2, 5, 3]), null, inference);
      const slice = (from: number, to: number): Tensor => {
        const out = new Float32Array(2 * (to - from) * 3);
        for (let b = 0; b < 2; b++) out.set(x.subarray((b * 5 + from) * 3, (b * 5 + to) * 3), b * (to - from) * 3);
        return new Tensor(out, [2, to - from, 3]);
      };
      const first = lstm.run(slice(0, 3), null, inference);
      const carried = { h: first.state.h.detach(), c: first.state.c!.detach() };
      const second = lstm.run(slice(3, 5), carried, inference);

      const joined: number[] = [];
      for (let b = 0; b < 2; b++) {
        joined.push(...first.output.data.subarray(b * 12, (b + 1) * 12), ...second.output.data.subarray(b * 8, (b + 1) * 8));
      }
      assert.deepEqual(joined, Array.from(whole.output.data), `outputs with quantizer ${JSON.stringify(quantizer)}`);
      assert.deepEqual(Array.from(second.state.c!.data), Array.from(whole.state.c!.data));
      // Without the carried state the second window differs, so the test can tell.
      const fresh = lstm.run(slice(3, 5), null, inference);
      assert.notDeepEqual(Array.from(fresh.output.data), Array.from(second.output.data));
    }
  });

  test('perplexity independent of bpttSteps', () => {
    const model = languageModel({ vocabularySize: 5, embeddingUnits: 3, hiddenUnits: 4, cell: 'gru', seed: 4 });
    const tokens = Int32Array.from({ length: 16 }, (_v, i) => (i * 3) % 5);
    const short = evaluatePerplexity(model, tokens, { batchSize: 2, bpttSteps: 2 });
    const long = evaluatePerplexity(model, tokens, { batchSize: 2, bpttSteps: 7 });
    assert.equal(short.tokens, 14);
    assert.ok(Math.abs(short.crossEntropy - long.crossEntropy) <= 1e-6, `${short.crossEntropy} vs ${long.crossEntropy}`);
  });
});

describe('gradient clipping by global norm', () => {
  const parameter = (values: number[]): Parameter => {
    const value = new Tensor(new Float32Array(values.length), [values.length], true);
    value.grad = Float32Array.from(values);
    return { name: 'p', value, learningRateScale: 1, clip: null };
  };

  test('scales [3] and [4, 0] (norm 5) to norm 1, keeping the direction', () => {
    const params = [parameter([3]), parameter([4, 0])];
    assert.equal(clipGradientsByGlobalNorm(params, 1), 5);
    assert.ok(Math.abs(params[0].value.grad![0] - 0.6) < 1e-7);
    assert.ok(Math.abs(params[1].value.grad![0] - 0.8) < 1e-7);
    assert.ok(Math.abs(globalGradientNorm(params) - 1) < 1e-6);
  });

  test('leaves gradients under the limit, and clipNorm 0, alone', () => {
    const params = [parameter([3]), parameter([4, 0])];
    assert.equal(clipGradientsByGlobalNorm(params, 6), 5);
    assert.equal(clipGradientsByGlobalNorm(params, 0), 5);
    assert.deepEqual(Array.from(params[1].value.grad!), [4, 0]);
  });
});

describe('fitLanguageModel and evaluatePerplexity', () => {
  test('a zero head predicts the uniform distribution: perplexity = vocabulary size', () => {
    const model = languageModel({ vocabularySize: 7, embeddingUnits: 3, hiddenUnits: 4, cell: 'lstm', seed: 1 });
    (model.head.kernel.data as Float32Array).fill(0);
    const result = evaluatePerplexity(model, Int32Array.from({ length: 20 }, (_v, i) => i % 7), { batchSize: 3, bpttSteps: 4 });
    assert.equal(result.tokens, 3 * 5);
    assert.ok(Math.abs(result.crossEntropy - Math.log(7)) < 1e-6);
    assert.ok(Math.abs(result.perplexity - 7) < 1e-5);
  });

  test('2-bit LSTM learns a repeating sequence', () => {
    const tokens = Int32Array.from({ length: 400 }, (_v, i) => [0, 1, 2, 3, 2, 1][i % 6]);
    const model = languageModel({
      vocabularySize: 6,
      embeddingUnits: 8,
      hiddenUnits: 16,
      cell: 'lstm',
      weightQuantizer: { kind: 'linear', bits: 2 },
      activationQuantizer: { kind: 'linear', bits: 2 },
      seed: 3,
    });
    const before = evaluatePerplexity(model, tokens, { batchSize: 4, bpttSteps: 10 });
    const norms: number[] = [];
    const reports = fitLanguageModel(model, tokens, {
      epochs: 6,
      batchSize: 4,
      bpttSteps: 10,
      optimizer: new Adam({ learningRate: 0.02 }),
      clipNorm: 1,
      seed: 3,
      onBatchEnd: (report) => norms.push(report.gradientNorm),
    });
    const after = evaluatePerplexity(model, tokens, { batchSize: 4, bpttSteps: 10 });
    assert.equal(reports.length, 6);
    assert.equal(norms.length, 6 * Math.ceil(99 / 10));
    assert.ok(before.perplexity > 4, `before ${before.perplexity}`);
    assert.ok(after.perplexity < 1.5, `after ${after.perplexity}`);
    assert.ok(Math.abs(reports[5].perplexity - Math.exp(reports[5].loss)) < 1e-9);
  });

  test('a non-finite loss stops training with an error naming epoch and batch', () => {
    const model = languageModel({ vocabularySize: 4, embeddingUnits: 2, hiddenUnits: 3, cell: 'gru', seed: 2 });
    (model.head.bias!.data as Float32Array)[0] = Number.NaN;
    assert.throws(
      () => fitLanguageModel(model, Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3]), { epochs: 1, batchSize: 2, bpttSteps: 2, optimizer: new Adam(), clipNorm: 1, seed: 1 }),
      (error: unknown) => error instanceof QnnError && /loss became NaN at epoch 1, batch 1/.test(error.message),
    );
  });

  test('rejects token ids outside the vocabulary, naming the position', () => {
    const model = languageModel({ vocabularySize: 4, embeddingUnits: 2, hiddenUnits: 3, cell: 'lstm', seed: 2 });
    assert.throws(() => evaluatePerplexity(model, Int32Array.from([0, 1, 9, 2]), { batchSize: 1, bpttSteps: 2 }), /token id 9 at position 2/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Embedding } from '../../sdk/layers/embedding.js';
import { GRU } from '../../sdk/layers/gru.js';
import { LSTM } from '../../sdk/layers/lstm.js';
import type { RecurrentLayer } from '../../sdk/layers/recurrent-layer.js';
import { mul } from '../../sdk/ops/elementwise.js';
import { sum } from '../../sdk/ops/reduce.js';
import { Random } from '../../sdk/random.js';
import { Tensor } from '../../sdk/tensor/tensor.js';

// Central differences on the float32 forward pass. A step of 1e-2 keeps the
// float32 rounding of the objective (about 1e-7, divided by 2 * step) near
// 1e-5; the truncation error (step^2 f''' / 6) of these smooth gates stays near 1e-4.
const STEP = 1e-2;
const RELATIVE_TOLERANCE = 1e-2;
const ABSOLUTE_TOLERANCE = 1e-3;

const context = { training: true, random: new Random(0) };
const BATCH = 2;
const STEPS = 2;
const FEATURES = 3;
const UNITS = 2;

function seeded(count: number, seed: number, low: number, high: number): Float32Array {
  const random = new Random(seed);
  return Float32Array.from({ length: count }, () => random.uniform(low, high));
}

/**
 * Objective L = sum over both steps of w ⊙ h_t (w a fixed random weighting)
 * plus the final cell weighted the same way, so every gradient path through
 * two steps and through the carried c is exercised.
 */
function objective(layer: RecurrentLayer, x: Tensor, h0: Tensor, c0: Tensor | null): Tensor {
  const { output, state } = layer.run(x, { h: h0, c: c0 }, context);
  const weights = new Tensor(seeded(BATCH * STEPS * UNITS, 99, -1, 1), [BATCH, STEPS, UNITS]);
  const loss = sum(mul(output, weights));
  if (state.c === null) return loss;
  const cellWeights = new Tensor(seeded(BATCH * UNITS, 98, -1, 1), [BATCH, UNITS]);
  const cellTerm = sum(mul(state.c, cellWeights));
  const total = new Float32Array([loss.data[0] + cellTerm.data[0]]);
  return Tensor.fromOp(total, [], [loss, cellTerm], (grad) => {
    loss.accumulateGrad(grad);
    cellTerm.accumulateGrad(grad);
  });
}

function checkFiniteDifferences(make: () => RecurrentLayer, withCell: boolean): void {
  const layer = make();
  layer.build([STEPS, FEATURES], new Random(5));
  // Biases away from 0 so that all gates are exercised off their midpoints.
  (layer.bias.data as Float32Array).set(seeded(layer.bias.size, 6, -0.5, 0.5));
  const x = new Tensor(seeded(BATCH * STEPS * FEATURES, 7, -1, 1), [BATCH, STEPS, FEATURES], true);
  const h0 = new Tensor(seeded(BATCH * UNITS, 8, -0.5, 0.5), [BATCH, UNITS], true);
  const c0 = withCell ? new Tensor(seeded(BATCH * UNITS, 9, -0.5, 0.5), [BATCH, UNITS], true) : null;

  objective(layer, x, h0, c0).backward();
  const tensors: Array<[string, Tensor]> = [
    ['kernel', layer.kernel],
    ['recurrent_kernel', layer.recurrentKernel],
    ['bias', layer.bias],
    ['x', x],
    ['h0', h0],
  ];
  if (c0 !== null) tensors.push(['c0', c0]);

  for (const [name, tensor] of tensors) {
    const analytic = Float32Array.from(tensor.grad!);
    const data = tensor.data as Float32Array;
    for (let i = 0; i < data.length; i++) {
      const saved = data[i];
      data[i] = saved + STEP;
      const plus = objective(layer, x, h0, c0).data[0];
      data[i] = saved - STEP;
      const minus = objective(layer, x, h0, c0).data[0];
      data[i] = saved;
      const numeric = (plus - minus) / (2 * STEP);
      const error = Math.abs(numeric - analytic[i]);
      assert.ok(error <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * Math.abs(numeric), `${name}[${i}]: analytic ${analytic[i]}, numeric ${numeric}`);
    }
    assert.ok(analytic.some((g) => Math.abs(g) > 1e-3), `${name}: the gradient should not be all zero`);
  }
}

describe('finite-difference gradients through two steps (float layers)', () => {
  test('LSTM: kernel, recurrent kernel, bias, input, initial h and initial c', () => {
    checkFiniteDifferences(() => new LSTM(UNITS), true);
  });

  test('GRU: kernel, recurrent kernel, bias, input and initial h', () => {
    checkFiniteDifferences(() => new GRU(UNITS), false);
  });
});

describe('straight-through gradients of the quantized LSTM', () => {
  // Finite differences do not apply to a step function, so this checks the
  // straight-through definition instead. With only the weights quantized, the
  // gradient of a latent weight inside the quantizer's range equals the float
  // LSTM's gradient at the quantized weight. Outside the range it is 0.
  test('latent kernel gradients equal the float gradients at q(W), masked to [-1, 0.5]', () => {
    const spec = { kind: 'linear' as const, bits: 2 };
    const quantized = new LSTM(UNITS, { weightQuantizer: spec });
    quantized.build([STEPS, FEATURES], new Random(11));
    const latent = quantized.kernel.data as Float32Array;
    latent[0] = 0.8; // above the largest level 0.5: no gradient
    latent[1] = -1.2; // below the smallest level -1: no gradient
    latent[2] = 0.3; // inside: rounds to 0.5

    const float = new LSTM(UNITS);
    float.build([STEPS, FEATURES], new Random(11));
    const levels = (v: number): number => Math.min(0.5, Math.max(-1, Math.round(v / 0.5) * 0.5));
    (float.kernel.data as Float32Array).set(Array.from(latent, levels));
    (float.recurrentKernel.data as Float32Array).set(Array.from(quantized.recurrentKernel.data, levels));
    (float.bias.data as Float32Array).set(quantized.bias.data);
    // No latent value here sits on a rounding tie, so Math.round agrees with round-half-to-even.
    for (const v of [...latent, ...quantized.recurrentKernel.data]) assert.notEqual(Math.abs(v / 0.5) % 1, 0.5);

    const x = new Tensor(seeded(BATCH * STEPS * FEATURES, 12, -1, 1), [BATCH, STEPS, FEATURES]);
    const zeros = (): Tensor => Tensor.zeros([BATCH, UNITS]);
    objective(quantized, x, zeros(), zeros()).backward();
    objective(float, x, zeros(), zeros()).backward();

    const qGrad = quantized.kernel.grad!;
    const fGrad = float.kernel.grad!;
    assert.equal(qGrad[0], 0);
    assert.equal(qGrad[1], 0);
    assert.notEqual(fGrad[0], 0);
    for (let i = 2; i < qGrad.length; i++) {
      const inside = latent[i] >= -1 && latent[i] <= 0.5;
      assert.ok(Math.abs(qGrad[i] - (inside ? fGrad[i] : 0)) <= 1e-6, `kernel[${i}]: ${qGrad[i]} vs ${fGrad[i]}`);
    }
  });
});

describe('Embedding', () => {
  test('looks up rows and scatter-adds gradients, summing repeated ids', () => {
    const embedding = new Embedding(4, 2);
    embedding.build([3], new Random(1));
    (embedding.table.data as Float32Array).set([0, 1, 10, 11, 20, 21, 30, 31]);
    const ids = new Tensor(Int32Array.from([2, 0, 2, 3]), [2, 2]);
    const out = embedding.forward(ids, context);
    assert.deepEqual(out.shape, [2, 2, 2]);
    assert.deepEqual(Array.from(out.data), [20, 21, 0, 1, 20, 21, 30, 31]);

    // Weighting the outputs by 1..8 makes the gradient of row 2 the sum of
    // positions 0 and 2: [1 + 5, 2 + 6]; row 1 is never looked up.
    const weights = new Tensor(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [2, 2, 2]);
    sum(mul(out, weights)).backward();
    assert.deepEqual(Array.from(embedding.table.grad!), [3, 4, 0, 0, 6, 8, 7, 8]);
  });

  test('rejects an id outside the vocabulary, naming it', () => {
    const embedding = new Embedding(4, 2);
    embedding.build([1], new Random(1));
    assert.throws(() => embedding.forward(new Tensor(Int32Array.from([1, 4]), [2]), context), /index 4 at position 1 is outside the table's 4 rows/);
  });
});

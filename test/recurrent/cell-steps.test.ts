import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { GRU, QuantGRU } from '../../sdk/layers/gru.js';
import { LSTM, QuantLSTM } from '../../sdk/layers/lstm.js';
import type { StepTrace } from '../../sdk/layers/recurrent-layer.js';
import { Random } from '../../sdk/random.js';
import { Tensor } from '../../sdk/tensor/tensor.js';

const context = { training: false, random: new Random(0) };
const sigma = (v: number): number => 1 / (1 + Math.exp(-v));

function assertClose(actual: ArrayLike<number>, expected: number[], what: string, tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

describe('one quantized LSTM step, 2 inputs, 2 units, 2-bit weights and activations (levels -1, -0.5, 0, 0.5)', () => {
  // Gate blocks i | f | g | o, two columns each. The latent values include
  // off-level ones: 0.3 -> 0.5, 0.7 -> 0.5 (clipped), 0.25 -> 0 (tie to even),
  // -1.3 -> -1 (clipped), 0.9 -> 0.5 (clipped), -0.75 -> -1 (tie to even).
  const latentKernel = [
    [0.3, -0.2, 0.7, 0.5, -0.6, 0.1, 0.25, -1.3],
    [-0.5, 0.9, -0.8, 0, 0.4, -0.75, 0.2, 0.6],
  ];
  const latentRecurrent = [
    [0.5, -0.5, 0, 0.5, 1, -1, 0.5, 0],
    [-1, 0, 0.5, -0.5, 0, 0.5, -0.5, 0.5],
  ];
  const bias = [0.1, -0.1, 1, 1, 0, 0.2, 1, 0.5];
  const x = [0.6, -0.3];
  const h0 = [0.5, -1];
  const c0 = [1.5, -2];

  // By hand: q(W) row 0 = [0.5, 0, 0.5, 0.5, -0.5, 0, 0, -1], row 1 = [-0.5, 0.5, -1, 0, 0.5, -1, 0, 0.5];
  // q(U) row 0 = [0.5, -0.5, 0, 0.5, 0.5, -1, 0.5, 0], row 1 = [-1, 0, 0.5, -0.5, 0, 0.5, -0.5, 0.5];
  // q(x) = [0.5, -0.5]; h0 is on the levels already.
  // q(x)·q(W) = [0.5, -0.25, 0.75, 0.25, -0.5, 0.5, 0, -0.75]
  // h0·q(U)   = [1.25, -0.25, -0.5, 0.75, 0.25, -1, 0.75, -0.5]
  // z = sum + b = [1.85, -0.6, 1.25, 2, -0.25, -0.3, 1.75, -0.75]
  const z = [1.85, -0.6, 1.25, 2, -0.25, -0.3, 1.75, -0.75];
  const i = [sigma(1.85), sigma(-0.6)];
  const f = [sigma(1.25), sigma(2)];
  const g = [Math.tanh(-0.25), Math.tanh(-0.3)];
  const o = [sigma(1.75), sigma(-0.75)];
  const c = [f[0] * c0[0] + i[0] * g[0], f[1] * c0[1] + i[1] * g[1]];
  const hidden = [o[0] * Math.tanh(c[0]), o[1] * Math.tanh(c[1])];
  // hidden = [0.6319, -0.3058]; / 0.5 = [1.264, -0.612] -> codes [1, -1] -> h = [0.5, -0.5]
  const h = [0.5, -0.5];

  function run(): StepTrace {
    const lstm = new QuantLSTM(2, { name: 'hand_lstm' });
    lstm.build([1, 2], new Random(1));
    (lstm.kernel.data as Float32Array).set(latentKernel.flat());
    (lstm.recurrentKernel.data as Float32Array).set(latentRecurrent.flat());
    (lstm.bias.data as Float32Array).set(bias);
    const trace: StepTrace[] = [];
    const result = lstm.run(new Tensor(Float32Array.from(x), [1, 1, 2]), { h: new Tensor(Float32Array.from(h0), [1, 2]), c: new Tensor(Float32Array.from(c0), [1, 2]) }, context, trace);
    assertClose(result.state.h.data, h, 'returned h');
    assertClose(result.state.c!.data, c, 'returned c');
    assertClose(result.output.data, h, 'output sequence');
    return trace[0];
  }

  test('pre-activations and each gate match the formula', () => {
    const trace = run();
    assertClose(trace.z.data, z, 'z');
    assertClose(trace.i.data, i, 'i');
    assertClose(trace.f.data, f, 'f');
    assertClose(trace.g.data, g, 'g');
    assertClose(trace.o.data, o, 'o');
  });

  test('cell, hidden state before quantization and the 2-bit hidden state', () => {
    const trace = run();
    assertClose(trace.c.data, c, 'c');
    assertClose(trace.hidden.data, hidden, 'o * tanh(c)');
    assertClose(trace.h.data, h, 'q(h)');
  });

  test('the float LSTM starts with forget-gate bias 1 and zero elsewhere', () => {
    const lstm = new LSTM(3);
    lstm.build([4, 5], new Random(2));
    assert.deepEqual(Array.from(lstm.bias.data), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(lstm.kernel.shape, [5, 12]);
    assert.deepEqual(lstm.recurrentKernel.shape, [3, 12]);
  });
});

describe('one quantized GRU step, 2 inputs, 2 units, 2-bit weights and activations', () => {
  // Gate blocks z | r | n; every latent weight is on a level except 0.6 -> 0.5 and -0.9 -> -1.
  const latentKernel = [
    [0.6, -0.5, 0, 0.5, -1, 0.5],
    [0, 0.5, -0.5, -0.9, 0.5, 0],
  ];
  const latentRecurrent = [
    [-0.5, 0, 0.5, 0.5, 0, -1],
    [0.5, 0.5, 0, -0.5, -1, 0.5],
  ];
  const bias = [0.1, 0, -0.2, 0.3, 0.5, -0.5];
  const x = [0.6, -0.3];
  const h0 = [0.5, -1];

  // q(x) = [0.5, -0.5]; q(x)·q(W) = [0.25, -0.5, 0.25, 0.75, -0.75, 0.25], so
  // xp = [0.35, -0.5, 0.05, 1.05, -0.25, -0.25]; hp = h0·q(U) = [-0.75, -0.5, 0.25, 0.75, 1, -1].
  const xp = [0.35, -0.5, 0.05, 1.05, -0.25, -0.25];
  const hp = [-0.75, -0.5, 0.25, 0.75, 1, -1];
  const zGate = [sigma(-0.4), sigma(-1)];
  const r = [sigma(0.3), sigma(1.8)];
  const n = [Math.tanh(-0.25 + r[0] * 1), Math.tanh(-0.25 + r[1] * -1)];
  const hidden = [(1 - zGate[0]) * n[0] + zGate[0] * h0[0], (1 - zGate[1]) * n[1] + zGate[1] * h0[1]];
  // hidden = [0.388, -0.856]; / 0.5 = [0.777, -1.713] -> codes [1, -2] -> h = [0.5, -1]
  const h = [0.5, -1];

  test('each gate, the candidate and the 2-bit hidden state match the formula', () => {
    const gru = new QuantGRU(2, { name: 'hand_gru' });
    gru.build([1, 2], new Random(1));
    (gru.kernel.data as Float32Array).set(latentKernel.flat());
    (gru.recurrentKernel.data as Float32Array).set(latentRecurrent.flat());
    (gru.bias.data as Float32Array).set(bias);
    const trace: StepTrace[] = [];
    const result = gru.run(new Tensor(Float32Array.from(x), [1, 1, 2]), { h: new Tensor(Float32Array.from(h0), [1, 2]), c: null }, context, trace);

    assertClose(trace[0].xp.data, xp, 'xp');
    assertClose(trace[0].hp.data, hp, 'hp');
    assertClose(trace[0].z.data, zGate, 'z');
    assertClose(trace[0].r.data, r, 'r');
    assertClose(trace[0].n.data, n, 'n');
    assertClose(trace[0].hidden.data, hidden, 'hidden');
    assertClose(result.state.h.data, h, 'q(h)');
    assert.equal(result.state.c, null);
  });

  test('float GRU initial bias and last-step output', () => {
    const gru = new GRU(2, { returnSequences: false });
    gru.build([3, 2], new Random(3));
    assert.deepEqual(Array.from(gru.bias.data), [0, 0, 0, 0, 0, 0]);
    const out = gru.forward(new Tensor(new Float32Array(2 * 3 * 2).fill(0.5), [2, 3, 2]), context);
    assert.deepEqual(out.shape, [2, 2]);
    assert.deepEqual(gru.outputShape([3, 2]), [2]);
  });
});

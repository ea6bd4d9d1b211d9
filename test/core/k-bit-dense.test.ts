import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { QnnError } from '../../sdk/errors.js';
import { Dense, QuantDense, quantize } from '../../sdk/layers/dense.js';
import type { ForwardContext } from '../../sdk/layers/layer.js';
import { type Quantizer, quantizerStorageBits } from '../../sdk/quantizers/quantizer-spec.js';
import { Random } from '../../sdk/random.js';
import { Tensor } from '../../sdk/tensor/tensor.js';

const training: ForwardContext = { training: true, random: new Random(1) };

/** Builds a bias-free dense layer on `kernel` ([inputs][units]) with the given quantizers. */
function denseWithKernel(kernel: number[][], kernelQuantizer: Quantizer, inputQuantizer: Quantizer): Dense {
  const layer = new Dense(kernel[0].length, { useBias: false, kernelQuantizer, inputQuantizer, name: 'k_bit' });
  layer.build([kernel.length], new Random(1));
  layer.kernel.data.set(kernel.flat());
  return layer;
}

function assertClose(actual: ArrayLike<number>, expected: number[], message: string): void {
  assert.equal(actual.length, expected.length, `${message}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-6, `${message}[${i}]: ${actual[i]} is not ${expected[i]}`);
  }
}

describe('dense layer with k-bit quantizers', () => {
  test('linear 2-bit kernel and input', () => {
    // Step 0.5, levels {-1, -0.5, 0, 0.5}. Kernel: 0.3 -> 0.5, -0.8 -> -1, 0.7 -> 0.5 (beyond max 0.5, no
    // gradient), 0.1 -> 0, -0.2 -> 0, 0.4 -> 0.5. Input: 0.25 is the tie 0.5 steps -> 0 (half to even),
    // -0.6 -> -0.5, 0.9 -> 0.5 (beyond max, no gradient).
    const layer = denseWithKernel([[0.3, -0.8], [0.7, 0.1], [-0.2, 0.4]], { kind: 'linear', bits: 2 }, { kind: 'linear', bits: 2 });
    const x = new Tensor(Float32Array.of(0.25, -0.6, 0.9), [1, 3], true);

    const y = layer.forward(x, training);
    assertClose(y.data, [-0.25, 0.25], 'output');

    y.backward(Float32Array.of(1, 2));
    // dq(W) = q(x)ᵀ · g = [[0, 0], [-0.5, -1], [0.5, 1]], then masked where W is outside [-1, 0.5].
    assertClose(layer.kernel.grad!, [0, 0, 0, -1, 0.5, 1], 'kernel gradient');
    // dq(x) = g · q(W)ᵀ = [-1.5, 0.5, 1], then masked where x is outside [-1, 0.5].
    assertClose(x.grad!, [-1.5, 0.5, 0], 'input gradient');
  });

  test('log kernel and DoReFa input', () => {
    // Log, 2 bits, fsr 0: 0.3 -> 2^-2, -0.7 -> -2^-1, 1.5 -> 2^1 capped to 2^0 (and no gradient, |x| > 1).
    // DoReFa activations, 2 bits: 0.5 -> 1.5 steps, tie -> 2/3; -0.2 -> 0 (no gradient); 0.9 -> 1.
    const layer = denseWithKernel([[0.3], [-0.7], [1.5]], { kind: 'log', bits: 2 }, { kind: 'dorefa', bits: 2 });
    const x = new Tensor(Float32Array.of(0.5, -0.2, 0.9), [1, 3], true);

    const y = layer.forward(x, training);
    assertClose(y.data, [(2 / 3) * 0.25 + 1], 'output');

    y.backward(Float32Array.of(2));
    assertClose(layer.kernel.grad!, [4 / 3, 0, 0], 'kernel gradient');
    assertClose(x.grad!, [0.5, 0, 2], 'input gradient');
  });

  test('DoReFa kernel uses the weight quantizer', () => {
    // tanh(0.5, -1, 0.2) = 0.4621, -0.7616, 0.1974; v = t / (2 * 0.7616) + 0.5 = 0.8034, 0, 0.6296;
    // 2-bit levels of v: 2/3, 0, 2/3; q = 2v - 1 = 1/3, -1, 1/3. The activation quantizer would give 2/3, 0, 1/3.
    const layer = denseWithKernel([[0.5], [-1], [0.2]], { kind: 'dorefa', bits: 2 }, null);
    const y = layer.forward(new Tensor(Float32Array.of(1, 1, 1), [1, 3]), training);
    assertClose(y.data, [1 / 3 - 1 + 1 / 3], 'output');
  });

  test('ternary kernel with threshold', () => {
    // |w| = threshold maps to 0, so 0.25 -> 0, 0.3 -> 1, -0.5 -> -1 (0.25 and 0.5 are exact in float32).
    const layer = denseWithKernel([[0.25], [0.3], [-0.5]], { kind: 'ternary', threshold: 0.25 }, null);
    const y = layer.forward(new Tensor(Float32Array.of(2, 3, 4), [1, 3]), training);
    assertClose(y.data, [3 - 4], 'output');
  });

  test('string names keep the sign', () => {
    const layer = new QuantDense(1, { name: 'binary' });
    layer.build([2], new Random(1));
    layer.kernel.data.set([0.2, -0.1]);
    const y = layer.forward(new Tensor(Float32Array.of(-0.3, 0), [1, 2]), training);
    // sign(-0.3) * sign(0.2) + sign(0) * sign(-0.1) = -1 + (1 * -1).
    assertClose(y.data, [-2], 'output');
  });

  test('invalid bit width names layer and option', () => {
    assert.throws(
      () => new Dense(4, { kernelQuantizer: { kind: 'linear', bits: 9 }, name: 'wide' }),
      (error: Error) => error instanceof QnnError && /^wide: kernelQuantizer bits must be an integer from 1 to 8, got 9$/.test(error.message),
    );
    assert.throws(() => new Dense(4, { inputQuantizer: { kind: 'log', bits: 0 }, name: 'narrow' }), /narrow: inputQuantizer bits must be an integer from 1 to 8, got 0/);
    assert.throws(() => new Dense(4, { kernelQuantizer: { kind: 'ternary', threshold: -1 }, name: 't' }), /t: kernelQuantizer ternary threshold must be a finite number >= 0, got -1/);
    assert.throws(() => new Dense(4, { kernelQuantizer: { kind: 'cubic', bits: 2 } as unknown as Quantizer, name: 'c' }), /c: kernelQuantizer kind 'cubic' is unknown/);
  });

  test('DoReFa without a role is rejected', () => {
    assert.throws(() => quantize(new Tensor(Float32Array.of(0.5), [1]), { kind: 'dorefa', bits: 2 }, training), /DoReFa quantizer needs role/);
  });

  test('storage bits per quantizer', () => {
    assert.equal(quantizerStorageBits(null), 32);
    assert.equal(quantizerStorageBits('ste_sign'), 1);
    assert.equal(quantizerStorageBits('stochastic_binary'), 1);
    assert.equal(quantizerStorageBits({ kind: 'ternary' }), 2);
    assert.equal(quantizerStorageBits({ kind: 'linear', bits: 3 }), 3);
    assert.equal(quantizerStorageBits({ kind: 'dorefa', bits: 4 }), 4);
    assert.equal(quantizerStorageBits({ kind: 'log', bits: 3 }), 4);
  });
});

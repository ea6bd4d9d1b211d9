import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { getBackend, setBackend } from '../../sdk/backends/active-backend.js';
import type { Backend } from '../../sdk/backends/backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { compileLanguageModel, compileRecurrentCell } from '../../sdk/compile/compile-recurrent.js';
import { codeGemm, runPackedLanguageModel } from '../../sdk/compile/run-recurrent.js';
import { QnnError } from '../../sdk/errors.js';
import { LSTM } from '../../sdk/layers/lstm.js';
import { type RecurrentCellKind, languageModel } from '../../sdk/models/language-model.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { Random } from '../../sdk/random.js';
import { fitLanguageModel } from '../../sdk/training/fit-language-model.js';
import { argmax } from '../../sdk/training/metrics.js';

const backend = new ReferenceBackend();
const inference = { training: false, random: new Random(0) };

describe('codeGemm', () => {
  test('equals the plain integer product of signed activation codes and signed weight codes', () => {
    const bits = 3;
    const spec = { kind: 'linear' as const, bits };
    const lstm = new LSTM(5, { weightQuantizer: spec, activationQuantizer: spec });
    lstm.build([1, 37], new Random(8));
    // Latent weights over the whole range, so every code from -4 to 3 occurs.
    const latent = lstm.kernel.data as Float32Array;
    const random = new Random(9);
    for (let i = 0; i < latent.length; i++) latent[i] = random.uniform(-1.2, 1.2);
    const cell = compileRecurrentCell(lstm);
    const step = 2 ** (1 - bits);
    const rows = 3;
    const codes = Int32Array.from({ length: rows * 37 }, () => Math.floor(random.uniform(-4, 4)));

    const acc = codeGemm(backend, codes, bits, cell.inputKernel, bits, rows);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < 20; o++) {
        let expected = 0;
        for (let i = 0; i < 37; i++) {
          const weightCode = Math.min(3, Math.max(-4, Math.round(latent[i * 20 + o] / step)));
          expected += codes[r * 37 + i] * weightCode;
        }
        assert.equal(acc[r * 20 + o], expected, `row ${r}, column ${o}`);
      }
    }
  });
});

describe('packed recurrent language model against the training graph in inference mode', () => {
  const cases: Array<{ cell: RecurrentCellKind; bits: number }> = [
    { cell: 'lstm', bits: 2 },
    { cell: 'lstm', bits: 4 },
    { cell: 'gru', bits: 2 },
    { cell: 'gru', bits: 3 },
  ];

  for (const { cell, bits } of cases) {
    test(`${cell}, ${bits}-bit: same next tokens and scores`, (t) => {
      compareGraphs(t, cell, bits, backend);
    });
  }

  test('lstm, 2-bit, with both graphs on the WASM SIMD backend', async (t) => {
    const wasm = await createWasmBackend({ simd: true });
    const previous = getBackend();
    setBackend(wasm);
    try {
      compareGraphs(t, 'lstm', 2, wasm);
    } finally {
      setBackend(previous);
    }
  });

  test('refuses a float recurrent layer and a non-power-of-two step, naming the field', () => {
    const float = languageModel({ vocabularySize: 4, embeddingUnits: 2, hiddenUnits: 3, cell: 'lstm', seed: 1 });
    assert.throws(() => compileLanguageModel(float), (e: unknown) => e instanceof QnnError && /weightQuantizer null is not supported/.test(e.message));
    const odd = languageModel({
      vocabularySize: 4,
      embeddingUnits: 2,
      hiddenUnits: 3,
      cell: 'gru',
      weightQuantizer: { kind: 'linear', bits: 2, step: 0.3 },
      activationQuantizer: { kind: 'linear', bits: 2 },
      seed: 1,
    });
    assert.throws(() => compileLanguageModel(odd), /weightQuantizer step 0.3 is not a power of two/);
  });
});

/**
 * Trains a small model briefly, compiles it and runs both graphs over two
 * consecutive windows, comparing predicted tokens, carried hidden codes and scores.
 */
function compareGraphs(t: { diagnostic: (message: string) => void }, cell: RecurrentCellKind, bits: number, packedBackend: Backend): void {
  const vocabularySize = 11;
  const spec = { kind: 'linear' as const, bits };
  const model = languageModel({ vocabularySize, embeddingUnits: 9, hiddenUnits: 33, cell, weightQuantizer: spec, activationQuantizer: spec, seed: bits });
  const tokens = Int32Array.from({ length: 240 }, (_v, i) => (i * i + 3 * i) % vocabularySize);
  // A short training run, so the weights are not just their initial draw.
  fitLanguageModel(model, tokens, { epochs: 1, batchSize: 4, bpttSteps: 12, optimizer: new Adam({ learningRate: 0.02 }), clipNorm: 1, seed: 1 });

  const packed = compileLanguageModel(model);
  const batch = 3;
  const steps = 10;
  const probe = tokens.subarray(0, batch * steps * 2);
  let trainingState = null;
  let packedState = null;
  let maxDifference = 0;
  // Two consecutive windows, so the carried state is compared too.
  for (let w = 0; w < 2; w++) {
    const window = Int32Array.from({ length: batch * steps }, (_v, n) => probe[Math.floor(n / steps) * steps * 2 + w * steps + (n % steps)]);
    const expected = model.forward(window, batch, steps, trainingState, inference);
    const actual = runPackedLanguageModel(packed, window, batch, steps, packedState, packedBackend);
    trainingState = expected.state;
    packedState = actual.state;

    const expectedTokens = argmax(expected.logits.data, batch * steps, vocabularySize);
    const actualTokens = argmax(actual.logits, batch * steps, vocabularySize);
    assert.deepEqual(Array.from(actualTokens), Array.from(expectedTokens), `window ${w}: predicted next tokens`);
    for (let i = 0; i < actual.logits.length; i++) maxDifference = Math.max(maxDifference, Math.abs(actual.logits[i] - expected.logits.data[i]));
    const step = 2 ** (1 - bits);
    assert.deepEqual(Array.from(actual.state.h, (code) => code * step), Array.from(expected.state.h.data), `window ${w}: hidden codes`);
  }
  // The gate sums are exact in both graphs and the float32 steps run in the
  // same order, so the scores agree bit for bit; 1e-5 leaves room for a
  // backend whose float GEMM for the head sums in another order.
  t.diagnostic(`max score difference ${maxDifference}`);
  assert.ok(maxDifference <= 1e-5, `max score difference ${maxDifference}`);
}

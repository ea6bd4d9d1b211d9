// Runs the packed recurrent WebGPU conformance cases (conformance/recurrent-cases.ts) under node:test on the device
// of acquireTestDevice, plus checks of runPackedLanguageModelAsync on the synchronous reference backend, which need no GPU.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { WebGpuBackend } from '../../gpu/webgpu-backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { compileLanguageModel } from '../../sdk/compile/compile-recurrent.js';
import { runPackedLanguageModel, runPackedLanguageModelAsync } from '../../sdk/compile/run-recurrent.js';
import { ShapeError } from '../../sdk/errors.js';
import { languageModel } from '../../sdk/models/language-model.js';
import { recurrentCases } from './conformance/recurrent-cases.js';
import { acquireTestDevice } from './webgpu-device.js';

const device = await acquireTestDevice();

if (device.unavailable !== undefined && process.env.CI) {
  it('webgpu adapter is available in CI', () => {
    assert.fail(device.unavailable);
  });
}

describe('webgpu packed recurrent language model conformance', { skip: device.unavailable }, () => {
  const gpu = (): WebGpuBackend => device.kernels!;

  after(() => device.kernels?.destroy());

  for (const testCase of recurrentCases) {
    it(testCase.name, () => testCase.run(gpu()));
  }
});

describe('runPackedLanguageModelAsync on a synchronous backend', () => {
  const reference = new ReferenceBackend();

  for (const cell of ['lstm', 'gru'] as const) {
    it(`${cell}: matches synchronous run bit for bit`, async () => {
      const spec = { kind: 'linear' as const, bits: 3 };
      const model = languageModel({ vocabularySize: 7, embeddingUnits: 5, hiddenUnits: 13, cell, weightQuantizer: spec, activationQuantizer: spec, seed: 4 });
      const packed = compileLanguageModel(model);
      const tokens = Int32Array.from({ length: 2 * 6 }, (_v, i) => (5 * i + 1) % 7);

      const first = runPackedLanguageModel(packed, tokens, 2, 6, null, reference);
      const firstAsync = await runPackedLanguageModelAsync(packed, tokens, 2, 6, null, reference);
      assert.deepEqual(Array.from(firstAsync.logits), Array.from(first.logits), 'window 0 logits');
      assert.deepEqual(Array.from(firstAsync.state.h), Array.from(first.state.h), 'window 0 hidden codes');

      // A second window from the carried state, so a state the async walk mishandled would show here.
      const second = runPackedLanguageModel(packed, tokens, 2, 6, first.state, reference);
      const secondAsync = await runPackedLanguageModelAsync(packed, tokens, 2, 6, firstAsync.state, reference);
      assert.deepEqual(Array.from(secondAsync.logits), Array.from(second.logits), 'window 1 logits');
      assert.deepEqual(Array.from(secondAsync.state.h), Array.from(second.state.h), 'window 1 hidden codes');
      assert.deepEqual(Array.from(secondAsync.state.c ?? []), Array.from(second.state.c ?? []), 'window 1 cell state');
      assert.ok(second.state.h.some((code) => code !== 0), 'the hidden codes are not all zero, so the state comparison has content');
    });
  }

  it('rejects tokens not forming [batch, steps]', async () => {
    const spec = { kind: 'linear' as const, bits: 2 };
    const packed = compileLanguageModel(languageModel({ vocabularySize: 4, embeddingUnits: 2, hiddenUnits: 3, cell: 'gru', weightQuantizer: spec, activationQuantizer: spec, seed: 1 }));

    await assert.rejects(
      runPackedLanguageModelAsync(packed, new Int32Array(5), 2, 3, null, reference),
      (e: unknown) => e instanceof ShapeError && /runPackedLanguageModelAsync: 5 tokens do not form \[batch 2, steps 3\]/.test(e.message),
    );
  });
});

// The packed recurrent language model on WebGPU (runPackedLanguageModelAsync) against the reference backend
// (runPackedLanguageModel): briefly trained 2-bit and 4-bit LSTMs and a 3-bit GRU, two consecutive windows
// with carried state. Runtime-agnostic, so the same cases run in Node, Deno and Chromium: no node: imports, no process.
import type { WebGpuBackend } from '../../../gpu/webgpu-backend.js';
import { ReferenceBackend } from '../../../sdk/backends/reference-backend.js';
import { compileLanguageModel } from '../../../sdk/compile/compile-recurrent.js';
import { type PackedRecurrentState, runPackedLanguageModel, runPackedLanguageModelAsync } from '../../../sdk/compile/run-recurrent.js';
import { type RecurrentCellKind, languageModel } from '../../../sdk/models/language-model.js';
import { Adam } from '../../../sdk/optimizers/adam.js';
import { fitLanguageModel } from '../../../sdk/training/fit-language-model.js';
import { argmax } from '../../../sdk/training/metrics.js';
import { type ConformanceCase, expectEqual } from './conformance-case.js';

const reference = new ReferenceBackend();

/** Largest allowed logit difference: the gate arithmetic is bit-identical, only the head's float GEMM may sum in another order. */
const LOGIT_TOLERANCE = 1e-5;

const VOCABULARY = 11;
const BATCH = 3;
const STEPS = 10;

/** Trains a small language model for one short epoch, so its weights are not just their initial draw, and compiles it. */
function trainedModel(cell: RecurrentCellKind, bits: number): { packed: ReturnType<typeof compileLanguageModel>; tokens: Int32Array } {
  const spec = { kind: 'linear' as const, bits };
  const model = languageModel({ vocabularySize: VOCABULARY, embeddingUnits: 9, hiddenUnits: 33, cell, weightQuantizer: spec, activationQuantizer: spec, seed: bits });
  const tokens = Int32Array.from({ length: 240 }, (_v, i) => (i * i + 3 * i) % VOCABULARY);
  fitLanguageModel(model, tokens, { epochs: 1, batchSize: 4, bpttSteps: 12, optimizer: new Adam({ learningRate: 0.02 }), clipNorm: 1, seed: 1 });
  return { packed: compileLanguageModel(model), tokens };
}

/** Window `w` of BATCH streams of STEPS tokens, cut so that window 1 continues window 0 in every stream. */
function window(tokens: Int32Array, w: number): Int32Array {
  return Int32Array.from({ length: BATCH * STEPS }, (_v, n) => tokens[Math.floor(n / STEPS) * STEPS * 2 + w * STEPS + (n % STEPS)]);
}

async function compareWithReference(backend: WebGpuBackend, cell: RecurrentCellKind, bits: number): Promise<void> {
  const { packed, tokens } = trainedModel(cell, bits);
  let referenceState: PackedRecurrentState | null = null;
  let gpuState: PackedRecurrentState | null = null;

  for (let w = 0; w < 2; w++) {
    const input = window(tokens, w);
    const expected = runPackedLanguageModel(packed, input, BATCH, STEPS, referenceState, reference);
    const actual = await runPackedLanguageModelAsync(packed, input, BATCH, STEPS, gpuState, backend);
    referenceState = expected.state;
    gpuState = actual.state;

    // The recurrent GEMMs are exact integer kernels and the gates run the same float32 steps, so the carried state is bit-identical.
    expectEqual(actual.state.h, expected.state.h, `${cell} ${bits}-bit, window ${w}: hidden codes`);
    if (expected.state.c !== null) expectEqual(actual.state.c ?? [], expected.state.c, `${cell} ${bits}-bit, window ${w}: cell state`);

    if (actual.logits.length !== expected.logits.length) {
      throw new Error(`${cell} ${bits}-bit, window ${w}: got ${actual.logits.length} logits, expected ${expected.logits.length}`);
    }
    let maxDifference = 0;
    for (let i = 0; i < expected.logits.length; i++) maxDifference = Math.max(maxDifference, Math.abs(actual.logits[i] - expected.logits[i]));
    // A NaN difference fails this comparison too.
    if (!(maxDifference <= LOGIT_TOLERANCE)) {
      throw new Error(`${cell} ${bits}-bit, window ${w}: max logit difference ${maxDifference} is over the tolerance ${LOGIT_TOLERANCE}`);
    }
    const rows = BATCH * STEPS;
    expectEqual(argmax(actual.logits, rows, VOCABULARY), argmax(expected.logits, rows, VOCABULARY), `${cell} ${bits}-bit, window ${w}: predicted next tokens`);
  }
}

export const recurrentCases: ConformanceCase[] = [
  { name: 'packed recurrent lm: lstm 2-bit, two windows', run: (backend) => compareWithReference(backend, 'lstm', 2) },
  { name: 'packed recurrent lm: lstm 4-bit, two windows', run: (backend) => compareWithReference(backend, 'lstm', 4) },
  { name: 'packed recurrent lm: gru 3-bit, two windows', run: (backend) => compareWithReference(backend, 'gru', 3) },
];

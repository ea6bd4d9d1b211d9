// Measures a small character-level language model on a fixed English text and
// checks the packed cell on its validation part. Not a test: run it by hand,
//   node dist/test/recurrent/char-lm-run.js [text file] [epochs]
// It prints one JSON line per model.
import { readFileSync } from 'node:fs';

import { setBackend } from '../../sdk/backends/active-backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { compileLanguageModel } from '../../sdk/compile/compile-recurrent.js';
import { runPackedLanguageModel } from '../../sdk/compile/run-recurrent.js';
import { type LanguageModel, type RecurrentCellKind, languageModel } from '../../sdk/models/language-model.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import type { Quantizer } from '../../sdk/quantizers/quantizer-spec.js';
import { Random } from '../../sdk/random.js';
import { evaluatePerplexity, fitLanguageModel } from '../../sdk/training/fit-language-model.js';
import { argmax } from '../../sdk/training/metrics.js';

const file = process.argv[2] ?? 'node_modules/protobufjs/README.md';
const epochs = Number(process.argv[3] ?? 3);
const text = readFileSync(file, 'latin1');
const alphabet = [...new Set(text)].sort();
const ids = Int32Array.from(text, (ch) => alphabet.indexOf(ch));
const split = Math.floor(ids.length * 0.9);
const train = ids.subarray(0, split);
const validation = ids.subarray(split);

const wasm = await createWasmBackend({ simd: true });
setBackend(wasm);

const runs: Array<{ cell: RecurrentCellKind; bits: number | null }> = [
  { cell: 'lstm', bits: null },
  { cell: 'lstm', bits: 4 },
  { cell: 'lstm', bits: 2 },
  { cell: 'gru', bits: 2 },
];

for (const { cell, bits } of runs) {
  const quantizer: Quantizer = bits === null ? null : { kind: 'linear', bits };
  const model = languageModel({ vocabularySize: alphabet.length, embeddingUnits: 32, hiddenUnits: 64, cell, weightQuantizer: quantizer, activationQuantizer: quantizer, seed: 1 });
  const started = performance.now();
  const reports = fitLanguageModel(model, train, { epochs, batchSize: 16, bpttSteps: 35, optimizer: new Adam({ learningRate: 5e-3 }), clipNorm: 5, seed: 1 });
  const seconds = (performance.now() - started) / 1000;
  const result = evaluatePerplexity(model, validation, { batchSize: 4, bpttSteps: 35 });
  console.log(
    JSON.stringify({
      file,
      characters: text.length,
      vocabulary: alphabet.length,
      cell,
      bits,
      epochs,
      trainPerplexity: reports.map((r) => Number(r.perplexity.toFixed(3))),
      validationPerplexity: Number(result.perplexity.toFixed(3)),
      validationBitsPerCharacter: Number((result.crossEntropy / Math.LN2).toFixed(3)),
      trainingSeconds: Number(seconds.toFixed(1)),
      tokensPerSecond: Math.round((train.length * epochs) / seconds),
      packed: bits === null ? null : comparePacked(model),
    }),
  );
}

/** Runs the validation text through both graphs in windows of 35 steps and compares the next-token argmax at every position. */
function comparePacked(model: LanguageModel): { positions: number; sameArgmax: number; maxScoreDifference: number } {
  const packed = compileLanguageModel(model);
  const context = { training: false, random: new Random(0) };
  const steps = 35;
  let trainingState = null;
  let packedState = null;
  let positions = 0;
  let same = 0;
  let maxScoreDifference = 0;
  for (let start = 0; start + steps <= validation.length; start += steps) {
    const window = validation.slice(start, start + steps);
    const expected = model.forward(window, 1, steps, trainingState, context);
    const actual = runPackedLanguageModel(packed, window, 1, steps, packedState, wasm);
    trainingState = expected.state;
    packedState = actual.state;
    const a = argmax(expected.logits.data, steps, model.vocabularySize);
    const b = argmax(actual.logits, steps, model.vocabularySize);
    for (let t = 0; t < steps; t++) if (a[t] === b[t]) same++;
    positions += steps;
    for (let i = 0; i < actual.logits.length; i++) maxScoreDifference = Math.max(maxScoreDifference, Math.abs(actual.logits[i] - expected.logits.data[i]));
  }
  return { positions, sameArgmax: same, maxScoreDifference };
}

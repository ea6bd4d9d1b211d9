import { compileLanguageModel } from '../compile/compile-recurrent.js';
import { runPackedLanguageModel } from '../compile/run-recurrent.js';
import type { LanguageModel } from '../models/language-model.js';
import { Random } from '../random.js';
import { argmax } from '../training/metrics.js';

/** Agreement between the packed recurrent cell's next-token predictions and the training graph's in inference mode. */
export interface PackedLanguageModelCheck {
  positions: number;
  /** Fraction of positions where both graphs predict the same next token. */
  predictionMatch: number;
  maxScoreDifference: number;
}

/**
 * Compiles `model` and runs both graphs over up to `maxWindows` consecutive
 * windows of `batch` parallel streams cut from `tokens`, carrying each graph's
 * own state from window to window, as evaluation does.
 */
export function checkPackedLanguageModel(model: LanguageModel, tokens: Int32Array, batch: number, steps: number, maxWindows: number): PackedLanguageModelCheck {
  const packed = compileLanguageModel(model);
  const windows = Math.min(maxWindows, Math.floor(tokens.length / (batch * steps)));
  const streamLength = windows * steps;
  const inference = { training: false, random: new Random(0) };
  const vocabularySize = model.vocabularySize;

  let trainingState = null;
  let packedState = null;
  let matches = 0;
  let maxScoreDifference = 0;
  for (let w = 0; w < windows; w++) {
    const window = Int32Array.from({ length: batch * steps }, (_v, n) => tokens[Math.floor(n / steps) * streamLength + w * steps + (n % steps)]);
    const expected = model.forward(window, batch, steps, trainingState, inference);
    const actual = runPackedLanguageModel(packed, window, batch, steps, packedState);
    trainingState = expected.state;
    packedState = actual.state;

    const expectedTokens = argmax(expected.logits.data, batch * steps, vocabularySize);
    const actualTokens = argmax(actual.logits, batch * steps, vocabularySize);
    for (let i = 0; i < expectedTokens.length; i++) if (expectedTokens[i] === actualTokens[i]) matches++;
    for (let i = 0; i < actual.logits.length; i++) maxScoreDifference = Math.max(maxScoreDifference, Math.abs(actual.logits[i] - expected.logits.data[i]));
  }

  const positions = windows * batch * steps;
  return { positions, predictionMatch: positions === 0 ? 0 : matches / positions, maxScoreDifference };
}

import { QnnError } from '../errors.js';

/** One truncated-BPTT window: inputs and their next tokens, both [batch, steps] row-major. */
export interface BpttWindow {
  inputs: Int32Array;
  targets: Int32Array;
  batch: number;
  steps: number;
}

/** Layout of a token stream cut into parallel streams and windows. */
export interface BpttLayout {
  batch: number;
  /** Tokens per parallel stream; the last tokens of the input that do not fill a stream are dropped. */
  streamLength: number;
  /** Number of predicted tokens: batch * (streamLength - 1). */
  predictedTokens: number;
  windows: number;
}

/**
 * Computes the usual language-model batching (the Penn Treebank setup of
 * Zaremba et al., arXiv 1409.2329). The token stream is cut into `batch` contiguous streams of equal length, stream b
 * holding tokens [b * L, (b + 1) * L). Window w covers steps
 * [w * bpttSteps, (w + 1) * bpttSteps) of every stream, so window w + 1
 * continues exactly where window w stopped and the state can be carried.
 */
export function bpttLayout(tokenCount: number, batch: number, bpttSteps: number, where: string): BpttLayout {
  if (!Number.isInteger(batch) || batch <= 0) throw new QnnError(`${where}: batchSize must be a positive integer, got ${batch}`);
  if (!Number.isInteger(bpttSteps) || bpttSteps <= 0) throw new QnnError(`${where}: bpttSteps must be a positive integer, got ${bpttSteps}`);

  const streamLength = Math.floor(tokenCount / batch);
  if (streamLength < 2) {
    throw new QnnError(`${where}: ${tokenCount} tokens give streams of ${streamLength} token(s) for batchSize ${batch}; each stream needs at least 2, so use more text or a smaller batchSize`);
  }
  return { batch, streamLength, predictedTokens: batch * (streamLength - 1), windows: Math.ceil((streamLength - 1) / bpttSteps) };
}

/** Yields the windows of `layout` in stream order; the last one is shorter when bpttSteps does not divide streamLength - 1. */
export function* bpttWindows(tokens: Int32Array, layout: BpttLayout, bpttSteps: number): Generator<BpttWindow> {
  const { batch, streamLength } = layout;
  for (let start = 0; start < streamLength - 1; start += bpttSteps) {
    const steps = Math.min(bpttSteps, streamLength - 1 - start);
    const inputs = new Int32Array(batch * steps);
    const targets = new Int32Array(batch * steps);
    for (let b = 0; b < batch; b++) {
      const base = b * streamLength + start;
      inputs.set(tokens.subarray(base, base + steps), b * steps);
      targets.set(tokens.subarray(base + 1, base + 1 + steps), b * steps);
    }
    yield { inputs, targets, batch, steps };
  }
}

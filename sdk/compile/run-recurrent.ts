import { getBackend } from '../backends/active-backend.js';
import type { AsyncBackend } from '../backends/async-backend.js';
import type { Backend } from '../backends/backend.js';
import type { PackedGateKernel, PackedLanguageModel, PackedRecurrentCell } from './compile-recurrent.js';
import {
  type PackedLanguageModelOutput,
  type PackedRecurrentState,
  type RecurrentWalk,
  walkCodeGemm,
  walkLanguageModel,
  walkStep,
} from './recurrent-steps.js';
import type { KernelCall } from './run-packed.js';

export { packedInitialState, type PackedLanguageModelOutput, type PackedRecurrentState } from './recurrent-steps.js';

/** Multiplies signed k-bit codes by signed k-bit weight codes with one bitplaneGemmBits call on `backend`, as walkCodeGemm describes. */
export function codeGemm(backend: Backend, codes: Int32Array, activationBits: number, kernel: PackedGateKernel, weightBits: number, rows: number): Int32Array {
  return drive(walkCodeGemm(codes, activationBits, kernel, weightBits, rows), backend);
}

/**
 * Runs a packed language model on tokens [batch, steps] from `state` (zeros
 * when null). It reproduces the training graph in inference mode, with the
 * same activation codes and the same float32 gate arithmetic in the same
 * order. The head is one float GEMM over all rows on the backend.
 */
export function runPackedLanguageModel(
  model: PackedLanguageModel,
  tokens: Int32Array,
  batch: number,
  steps: number,
  state: PackedRecurrentState | null = null,
  backend: Backend = getBackend(),
): PackedLanguageModelOutput {
  return drive(walkLanguageModel(model, tokens, batch, steps, state, 'runPackedLanguageModel'), backend);
}

/**
 * runPackedLanguageModel for a backend whose kernels return promises, such as
 * WebGPU. The step sequence is the same walk, so the float32 arithmetic
 * outside the kernels matches the synchronous run operation for operation.
 */
export async function runPackedLanguageModelAsync(
  model: PackedLanguageModel,
  tokens: Int32Array,
  batch: number,
  steps: number,
  state: PackedRecurrentState | null,
  backend: AsyncBackend | Backend,
): Promise<PackedLanguageModelOutput> {
  const walk = walkLanguageModel(model, tokens, batch, steps, state, 'runPackedLanguageModelAsync');
  let step = walk.next();
  while (!step.done) step = walk.next(await call(backend, step.value));
  return step.value;
}

/** Computes one step of the packed cell, rounding to float32 exactly where the training graph's ops do. */
export function stepCell(backend: Backend, cell: PackedRecurrentCell, xp: Float32Array, state: PackedRecurrentState, batch: number): PackedRecurrentState {
  return drive(walkStep(cell, xp, state, batch), backend);
}

function drive<T>(walk: RecurrentWalk<T>, backend: Backend): T {
  let step = walk.next();
  while (!step.done) step = walk.next(call(backend, step.value));
  return step.value;
}

function call(backend: AsyncBackend | Backend, request: KernelCall): unknown {
  const kernel = backend[request.kernel] as (...args: unknown[]) => unknown;
  return kernel.apply(backend, request.args);
}

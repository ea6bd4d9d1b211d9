import { QnnError } from '../errors.js';
import type { Random } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { dorefaActivations, dorefaWeights } from './dorefa.js';
import { MAX_BITS, MIN_BITS, linearQuant } from './linear-quant.js';
import { logQuant } from './log-quant.js';
import { steSign } from './ste-sign.js';
import { stochasticBinarize } from './stochastic-binarize.js';
import { ternarize } from './ternary.js';

/**
 * A k-bit quantizer with its parameters. Every kind passes the gradient
 * straight through inside its representable range and zeroes it outside.
 * - linear: signed fixed point with `bits` bits (two's complement codes) and
 *   spacing `step`, default 2^(1 - bits), so the levels cover [-1, 1 - step].
 * - log: sign(x) * 2^e with e in [fsr - 2^bits + 1, fsr], `bits` bits of
 *   exponent plus a sign bit; default fsr = 0, so the largest magnitude is 1.
 * - dorefa: DoReFa-Net's quantizer. On a kernel it is the tanh-normalized
 *   weight quantizer with levels in [-1, 1]; on a layer input it is the
 *   activation quantizer, clip(x, 0, 1) rounded to 2^bits - 1 steps.
 * - ternary: {-1, 0, +1} with |x| <= threshold (default 0.5) mapped to 0.
 */
export type QuantizerSpec =
  | { kind: 'linear'; bits: number; step?: number }
  | { kind: 'log'; bits: number; fsr?: number }
  | { kind: 'dorefa'; bits: number }
  | { kind: 'ternary'; threshold?: number };

/**
 * Quantizer of a dense layer's kernel or input: a binarizer by name, a k-bit
 * spec, or null for float. 'ste_sign' is the deterministic sign and
 * 'stochastic_binary' the stochastic one of BinaryNet (the sign at inference).
 */
export type Quantizer = 'ste_sign' | 'stochastic_binary' | QuantizerSpec | null;

/** Target of a quantizer, which matters for DoReFa because it quantizes weights and activations differently. */
export type QuantizerRole = 'kernel' | 'input';

/**
 * Throws a QnnError naming the layer and option unless `quantizer` is a known
 * name, null, or a spec with valid parameters (bits an integer from 1 to 8).
 */
export function checkQuantizer(layer: string, option: string, quantizer: Quantizer): void {
  if (quantizer === null || quantizer === 'ste_sign' || quantizer === 'stochastic_binary') return;
  const where = `${layer}: ${option}`;
  if (typeof quantizer !== 'object') {
    throw new QnnError(`${where} '${String(quantizer)}' is unknown; use 'ste_sign', 'stochastic_binary', null or a spec such as { kind: 'linear', bits: 2 }`);
  }

  switch (quantizer.kind) {
    case 'linear':
      checkSpecBits(where, quantizer.bits);
      if (quantizer.step !== undefined && !(Number.isFinite(quantizer.step) && quantizer.step > 0)) {
        throw new QnnError(`${where} linear step must be a finite number > 0, got ${quantizer.step}`);
      }
      return;
    case 'log':
      checkSpecBits(where, quantizer.bits);
      if (quantizer.fsr !== undefined && !(Number.isInteger(quantizer.fsr) && quantizer.fsr >= -126 && quantizer.fsr <= 127)) {
        throw new QnnError(`${where} log fsr must be an integer from -126 to 127, got ${quantizer.fsr}`);
      }
      return;
    case 'dorefa':
      checkSpecBits(where, quantizer.bits);
      return;
    case 'ternary':
      if (quantizer.threshold !== undefined && !(Number.isFinite(quantizer.threshold) && quantizer.threshold >= 0)) {
        throw new QnnError(`${where} ternary threshold must be a finite number >= 0, got ${quantizer.threshold}`);
      }
      return;
    default:
      throw new QnnError(`${where} kind '${(quantizer as { kind: unknown }).kind}' is unknown; expected 'linear', 'log', 'dorefa' or 'ternary'`);
  }
}

function checkSpecBits(where: string, bits: number): void {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new QnnError(`${where} bits must be an integer from ${MIN_BITS} to ${MAX_BITS}, got ${bits}`);
  }
}

/**
 * Applies `quantizer` to x with its straight-through gradient. Stochastic
 * binarization draws from `random` in training and is the sign otherwise.
 */
export function applyQuantizer(x: Tensor, quantizer: Quantizer, role: QuantizerRole, training: boolean, random: Random): Tensor {
  if (quantizer === null) return x;
  if (quantizer === 'ste_sign') return steSign(x);
  if (quantizer === 'stochastic_binary') return training ? stochasticBinarize(x, random) : steSign(x);

  switch (quantizer.kind) {
    case 'linear':
      return linearQuant(x, quantizer.bits, quantizer.step ?? 2 ** (1 - quantizer.bits));
    case 'log':
      return logQuant(x, quantizer.bits, quantizer.fsr ?? 0);
    case 'dorefa':
      return role === 'kernel' ? dorefaWeights(x, quantizer.bits) : dorefaActivations(x, quantizer.bits);
    case 'ternary':
      return ternarize(x, quantizer.threshold ?? 0.5);
  }
}

/** True for the quantizers whose output is exactly ±1 (the two binarizers). */
export function isBinaryQuantizer(quantizer: Quantizer): boolean {
  return quantizer === 'ste_sign' || quantizer === 'stochastic_binary';
}

/**
 * Bits per value that the quantizer's output needs in storage: 1 for the
 * binarizers, 2 for ternary, `bits` for linear and DoReFa, `bits` + 1 for log
 * (the sign is stored apart from the exponent), and 32 for float (null).
 */
export function quantizerStorageBits(quantizer: Quantizer): number {
  if (quantizer === null) return 32;
  if (quantizer === 'ste_sign' || quantizer === 'stochastic_binary') return 1;
  if (quantizer.kind === 'ternary') return 2;
  return quantizer.kind === 'log' ? quantizer.bits + 1 : quantizer.bits;
}

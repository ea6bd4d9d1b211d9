import { QnnError } from '../errors.js';
import { dorefaWeights } from '../quantizers/dorefa.js';
import { logQuant } from '../quantizers/log-quant.js';
import { roundHalfToEven } from '../quantizers/rounding.js';
import { ternarize } from '../quantizers/ternary.js';
import { Tensor } from '../tensor/tensor.js';
import { type KernelCoding, type QuantizedLayer, kernelCoding, oddWeight } from './kbit-operands.js';

/** Most sign planes per weight that bitplaneGemmBits and the .qnn record take. */
const MAX_WEIGHT_PLANES = 8;

/** A Dense or QuantConv2D layer: its quantizers and its latent kernel, read as [reduction, units] row-major. */
export interface KernelLayer extends QuantizedLayer {
  kernel: Tensor;
}

/** A kernel in integer form: its coding and one odd weight w' per latent weight, in the kernel's [inputs, units] layout. */
export interface CodedKernel {
  coding: KernelCoding;
  oddWeights: Int32Array;
}

/**
 * Quantizes the layer's latent kernel as the training graph's forward pass
 * does and writes each value as (w' + offset) * scale with w' odd:
 * - binarizers and linear specs: as kernelCoding and oddWeight give them.
 * - ternary t in {-1, 0, 1}: w' = 2t + 1, offset -1, scale 1/2, 2 planes.
 * - log q in {0, ±2^e}: with e_lo..e_hi the exponents the kernel uses,
 *   c = q / 2^e_lo in [-2^d, 2^d] (d = e_hi - e_lo), w' = 2c + 1, offset -1,
 *   scale 2^(e_lo - 1), d + 2 planes.
 * - dorefa, bits >= 2, q = (2k - n) / n with n = 2^bits - 1: w' = 2k - n,
 *   offset 0, scale 1/n, `bits` planes.
 * - dorefa, bits = 1, q = ±mean|W|: w' = ±1, offset 0, scale the float32 mean.
 * The odd form is what packWeightPlanes stores, and the offset is folded into
 * the accumulator's correction terms.
 */
export function codeKernel(dense: KernelLayer): CodedKernel {
  const quantizer = dense.kernelQuantizer;
  const latent = dense.kernel.data;

  if (quantizer === null || typeof quantizer !== 'object' || quantizer.kind === 'linear') {
    const coding = kernelCoding(dense);
    return { coding, oddWeights: Int32Array.from(latent, (value) => oddWeight(value, dense)) };
  }

  // The same functions as Dense.forward, so the integers come from the very values training multiplies by.
  const kernel = new Tensor(latent, dense.kernel.shape);
  switch (quantizer.kind) {
    case 'ternary': {
      const ternary = ternarize(kernel, quantizer.threshold ?? 0.5).data;
      return { coding: { bits: 2, offset: -1, scale: 0.5, maxWeight: 2 }, oddWeights: Int32Array.from(ternary, (t) => 2 * t + 1) };
    }
    case 'log':
      return codeLogKernel(dense.name, logQuant(kernel, quantizer.bits, quantizer.fsr ?? 0).data);
    case 'dorefa':
      return codeDorefaKernel(quantizer.bits, dorefaWeights(kernel, quantizer.bits).data);
  }
}

function codeLogKernel(layer: string, quantized: ArrayLike<number>): CodedKernel {
  let lowest = Infinity;
  let highest = -Infinity;
  for (let i = 0; i < quantized.length; i++) {
    if (quantized[i] === 0) continue;
    const exponent = Math.log2(Math.abs(quantized[i]));
    lowest = Math.min(lowest, exponent);
    highest = Math.max(highest, exponent);
  }
  // An all-zero kernel needs one level only: w' = 1 with offset -1.
  if (lowest === Infinity) lowest = highest = 0;

  const planes = highest - lowest + 2;
  if (planes > MAX_WEIGHT_PLANES) {
    throw new QnnError(
      `cannot compile layer '${layer}': its log-quantized kernel uses exponents ${lowest}..${highest}, which need ${planes} weight planes, ` +
        `more than the ${MAX_WEIGHT_PLANES} the packed engine takes; use a log kernelQuantizer with bits <= 2, whose 4 exponents always fit`,
    );
  }

  const unit = 2 ** lowest;
  return {
    coding: { bits: planes, offset: -1, scale: unit / 2, maxWeight: 2 ** (highest - lowest + 1) },
    oddWeights: Int32Array.from(quantized, (q) => (2 * q) / unit + 1),
  };
}

function codeDorefaKernel(bits: number, quantized: ArrayLike<number>): CodedKernel {
  if (bits === 1) {
    // Every weight is ±mean|W| rounded to float32, so that one float32 is the scale.
    const scale = quantized.length === 0 ? 0 : Math.abs(quantized[0]);
    return { coding: { bits: 1, offset: 0, scale, maxWeight: 1 }, oddWeights: Int32Array.from(quantized, (q) => (q < 0 ? -1 : 1)) };
  }

  // q is 2 k / n - 1 rounded to float32, so (q + 1) n / 2 is within far less than 1/2 of the level k.
  const levels = 2 ** bits - 1;
  return {
    coding: { bits, offset: 0, scale: 1 / levels, maxWeight: levels },
    oddWeights: Int32Array.from(quantized, (q) => 2 * roundHalfToEven(((q + 1) * levels) / 2) - levels),
  };
}

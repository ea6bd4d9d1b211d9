import { QnnError } from '../errors.js';
import { type Quantizer, isBinaryQuantizer } from '../quantizers/quantizer-spec.js';

/** The fields of a dense or convolution layer that the packed compiler checks: a name and two quantizers. */
export interface BinarizedLayer {
  name: string;
  kernelQuantizer: Quantizer;
  inputQuantizer: Quantizer;
}

/**
 * Throws a QnnError naming the layer unless its kernel is binarized, the first
 * layer takes the uint8 input unquantized and every later layer binarizes its
 * input. Convolution layers take 1-bit operands only, so every k-bit spec is
 * rejected there. Dense blocks with a linear spec never reach this check,
 * because compile-kbit.ts compiles them, and other k-bit specs are rejected here.
 */
export function checkBinarizedLayer(layer: BinarizedLayer, first: boolean): void {
  if (!isBinaryQuantizer(layer.kernelQuantizer)) {
    throw new QnnError(`cannot compile layer '${layer.name}': its kernel is not binarized (kernelQuantizer is ${describeQuantizer(layer.kernelQuantizer)})`);
  }
  if (first && layer.inputQuantizer !== null) {
    throw new QnnError(`cannot compile layer '${layer.name}': the first layer must take the uint8 input unquantized (inputQuantizer: null)`);
  }
  if (!first && !isBinaryQuantizer(layer.inputQuantizer)) {
    throw new QnnError(
      `cannot compile layer '${layer.name}': hidden layers must binarize their input (inputQuantizer 'ste_sign'), ` +
        `found ${describeQuantizer(layer.inputQuantizer)}`,
    );
  }
}

function describeQuantizer(quantizer: Quantizer): string {
  if (quantizer === null) return 'null';
  return typeof quantizer === 'object' ? JSON.stringify(quantizer) : `'${quantizer}'`;
}

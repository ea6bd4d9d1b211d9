/**
 * QONNX Trunc on k-bit activation codes. Trunc drops low bits of a quantized
 * integer, a non-decreasing map of the code before it, so it folds into the
 * level thresholds of the dense-kbit layer that produced the codes: the new
 * code reaches level L exactly where the old code reaches the first old level
 * that Trunc maps to L or above.
 */
import { FileFormatError } from '../errors.js';
import type { CodeOutput } from '../compile/graph.js';
import type { OnnxNode } from './onnx-schema.js';
import { type GraphIndex, quantRange, quantRounding, roundHalfEven } from './onnx-graph.js';
import { describeNode, intAttribute } from './onnx-tensor.js';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** Activation codes u with real value (u + offset) * scale. */
export interface CodeState {
  codeBits: number;
  codeOffset: number;
  scale: number;
}

/** The parameters of one Trunc node, version 1 (5 inputs) or version 2 (6 or 7 inputs). */
interface TruncParams {
  scale: number;
  zero: number;
  inputBits: number;
  outputScale: number;
  outputBits: number;
  /** Version 2 clips to the output range before the final rounding; version 1 does not clip. */
  clip: { min: number; max: number } | null;
  round: (v: number) => number;
}

function fail(node: OnnxNode, message: string, source: string): never {
  throw new FileFormatError(`${describeNode(node)}: ${message}`, source);
}

function scalar(index: GraphIndex, node: OnnxNode, position: number, role: string): number {
  const value = index.requireConstant((node.input ?? [])[position] ?? '', node, role);
  if (value.data.length !== 1) fail(node, `its ${role} must be one value for the whole tensor, found ${value.data.length} values`, index.source);
  return value.data[0];
}

function readTrunc(index: GraphIndex, node: OnnxNode): TruncParams {
  const source = index.source;
  const count = (node.input ?? []).length;
  if (count < 5 || count > 7) fail(node, `Trunc needs 5 inputs (version 1) or 6 to 7 inputs (version 2), found ${count}`, source);
  const scale = scalar(index, node, 1, 'scale');
  const zero = scalar(index, node, 2, 'zeropt');
  const inputBits = scalar(index, node, 3, 'in_bitwidth');
  const round = quantRounding(node, source, 'FLOOR');
  if (!(scale > 0) || !Number.isFinite(scale)) fail(node, `scale ${scale} must be positive and finite`, source);

  if (count === 5) {
    // Version 1: the output keeps the input scale; the integer shrinks by 2^(in - out).
    const outputBits = scalar(index, node, 4, 'out_bitwidth');
    return { scale, zero, inputBits, outputScale: scale * 2 ** (inputBits - outputBits), outputBits, clip: null, round };
  }
  // Version 2 as QONNX executes it: inputs 4 and (last) are out_scale and out_bitwidth; an out_zeropt in between is not read.
  const outputScale = scalar(index, node, 4, 'out_scale');
  const outputBits = scalar(index, node, count - 1, 'out_bitwidth');
  if (!(outputScale > 0) || !Number.isFinite(outputScale)) fail(node, `out_scale ${outputScale} must be positive and finite`, source);
  const signed = intAttribute(node, 'signed', 1, source) !== 0;
  const narrow = intAttribute(node, 'narrow', 0, source) !== 0;
  return { scale, zero, inputBits, outputScale, outputBits, clip: quantRange(outputBits, signed, narrow), round };
}

/** Returns the integer t that Trunc outputs for input x, evaluated as QONNX does (float32 input, exact power-of-two division). */
function truncInteger(x: number, params: TruncParams, version: 1 | 2): number {
  const q = roundHalfEven(Math.fround(Math.fround(x / params.scale) + params.zero));
  const truncScale = version === 1 ? 2 ** (params.inputBits - params.outputBits) : 2 ** roundHalfEven(Math.log2(params.outputScale / params.scale));
  let y = q / truncScale;
  if (params.clip !== null) y = Math.min(Math.max(y, params.clip.min), params.clip.max);
  return params.round(y);
}

/**
 * Folds a Trunc after k-bit codes into the CodeOutput that made them.
 * Returns the new CodeOutput and the code state after the Trunc.
 */
export function foldTrunc(index: GraphIndex, node: OnnxNode, codes: CodeState, previous: CodeOutput): { output: CodeOutput; codes: CodeState } {
  const source = index.source;
  const params = readTrunc(index, node);
  const version = params.clip === null ? 1 : 2;
  const truncScale = version === 1 ? 2 ** (params.inputBits - params.outputBits) : 2 ** roundHalfEven(Math.log2(params.outputScale / params.scale));
  if (!Number.isInteger(params.inputBits) || !Number.isInteger(params.outputBits) || params.outputBits < 1 || params.outputBits > params.inputBits) {
    fail(node, `bit widths in ${params.inputBits} -> out ${params.outputBits} must be integers with 1 <= out <= in`, source);
  }
  const outputZero = version === 1 ? params.zero : params.zero / truncScale;
  if (!Number.isInteger(outputZero)) fail(node, `the output zero point ${outputZero} is not an integer, so the truncated codes have no integer value for the next layer`, source);
  const unit = version === 1 ? params.scale : params.outputScale;

  // Trunc of every code the layer before can output; t must not decrease with u.
  const count = 2 ** codes.codeBits;
  const truncated = Array.from({ length: count }, (_, u) => truncInteger(Math.fround((u + codes.codeOffset) * codes.scale), params, version));
  if (truncated.some((t, u) => u > 0 && t < truncated[u - 1])) fail(node, 'the truncated values do not grow with the input codes', source);
  const low = truncated[0];
  const span = truncated[count - 1] - low;
  const bits = Math.max(1, Math.ceil(Math.log2(span + 1)));
  if (bits > 8) fail(node, `the truncated codes span ${span + 1} values, more than the 256 of an 8-bit code`, source);

  const oldLevels = 2 ** previous.bits - 1;
  const levels = 2 ** bits - 1;
  const units = previous.directions.length;
  const thresholds = new Int32Array(units * levels);
  for (let level = 1; level <= levels; level++) {
    // First old code whose truncated value reaches the new level: 0 means always, none means never.
    const first = truncated.findIndex((t) => t - low >= level);
    for (let c = 0; c < units; c++) {
      const rising = previous.directions[c] === 1;
      let threshold: number;
      if (first === 0) threshold = rising ? INT32_MIN : INT32_MAX;
      else if (first < 0) threshold = rising ? INT32_MAX : INT32_MIN;
      else threshold = previous.thresholds[c * oldLevels + first - 1];
      thresholds[c * levels + level - 1] = threshold;
    }
  }
  return {
    output: { kind: 'codes', bits, thresholds, directions: previous.directions },
    codes: { codeBits: bits, codeOffset: low - outputZero, scale: unit },
  };
}

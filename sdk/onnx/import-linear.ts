/**
 * Per-operator readers of the ONNX importer: linear layers (MatMul, Gemm,
 * Conv with Pad), the element-wise constants and batch norm that follow them,
 * quantizer scales and window attributes. Each reader checks its node and
 * throws a FileFormatError naming it.
 */
import { convGeometry } from '../layers/im2col.js';
import { FileFormatError } from '../errors.js';
import type { CodeOutput, PackedConv2dLayer, PackedDenseKbitLayer, PackedDenseLayer, PoolWindow, ScoreOutput, SignOutput } from '../compile/graph.js';
import type { OnnxNode } from './onnx-schema.js';
import type { GraphIndex } from './onnx-graph.js';
import { type ConstTensor, describeNode, floatAttribute, intAttribute, intsAttribute, stringAttribute } from './onnx-tensor.js';
import type { ChainStep } from './affine-chain.js';
import { packKernelSigns } from './unpack-weights.js';
import { wordsPerRow } from '../backends/backend.js';
import { type KbitWeights, kbitWeightQuant, readKbitWeights } from './import-kbit.js';

/** The activation tensor the walk is at, with its layout and per-sample shape. */
export interface Tensor {
  name: string;
  layout: 'flat' | 'nchw' | 'nhwc';
  height: number;
  width: number;
  channels: number;
}

/** A linear layer whose integer accumulator is read, waiting for its activation or the graph output. */
export interface PendingLayer {
  kind: 'dense' | 'conv';
  units: number;
  /** Largest reachable |accumulator|. */
  bound: number;
  /** Element-wise steps from the integer accumulator to the real pre-activation value. */
  steps: ChainStep[];
  /** Max-pooling moved onto the accumulators (conv only). */
  pool: PoolWindow | null;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  /** True after a Relu, which the activation Quant that follows folds in. */
  relu: boolean;
  /** The k-bit form of a dense layer, or null for a binary layer on default-coded signs or uint8. */
  kbit?: KbitRecord | null;
  finish(output: SignOutput | ScoreOutput | CodeOutput): PackedDenseLayer | PackedConv2dLayer | PackedDenseKbitLayer;
}

/** State of the chain walk shared by the readers. */
export interface LinearState {
  tensor: Tensor;
  /** Encoding of the activations: raw input integers, signs, or unsigned k-bit codes u with integer value u + codeOffset. */
  activation: 'uint8' | 'signs' | 'codes';
  /** Bits of the codes (used when activation is 'codes'). */
  codeBits: number;
  /** The activation's integer value is multiplier * u + offset, u its code (pixel, (s + 1) / 2 for a sign s, or k-bit code). */
  multiplier: number;
  offset: number;
  /** Real value of one activation unit (pixel step or sign magnitude). */
  scale: number;
  pending: PendingLayer | null;
  /** A constant Pad waiting for the Conv after it: pads (top, left, bottom, right) and the pad value. */
  pad: { pads: number[]; value: number } | null;
  /** Output of the ReduceSum that sums the activation beside the next MatMul, until an Add folds it in. */
  rowSum: string | null;
  /** Shape whose NCHW flattening order the next dense layer's weight rows must be permuted from. */
  permutation: { height: number; width: number; channels: number } | null;
}

const UINT8_MAX = 255;

export class LinearReader {
  private readonly source: string;

  constructor(private readonly index: GraphIndex) {
    this.source = index.source;
  }

  private fail(node: OnnxNode, message: string): never {
    throw new FileFormatError(`${describeNode(node)}: ${message}`, this.source);
  }

  transposeLayout(node: OnnxNode, tensor: Tensor): Tensor['layout'] {
    const perm = intsAttribute(node, 'perm', null, this.source)?.join(',');
    if (tensor.layout === 'nhwc' && perm === '0,3,1,2') return 'nchw';
    if (tensor.layout === 'nchw' && perm === '0,2,3,1') return 'nhwc';
    return this.fail(node, `Transpose with perm [${perm ?? 'reversed'}] on a ${tensor.layout} tensor is not supported; only NHWC <-> NCHW transposes are`);
  }

  /** Accepts only the 8-bit unsigned identity quantizer on the raw input (scale 1, zero point 0). */
  inputQuant(node: OnnxNode, state: LinearState): void {
    const inputs = node.input ?? [];
    const scale = this.index.requireConstant(inputs[1] ?? '', node, 'scale');
    const zeroPoint = this.index.requireConstant(inputs[2] ?? '', node, 'zero point');
    const bits = this.index.requireConstant(inputs[3] ?? '', node, 'bitwidth');
    const signed = intAttribute(node, 'signed', 1, this.source);
    const identity = state.activation === 'uint8' && state.pending === null && scale.data.every((v) => v === 1) && zeroPoint.data.every((v) => v === 0) && bits.data[0] === 8 && signed === 0;
    if (!identity) {
      // Limitation: a quantizer on the raw input would change the uint8 pixels the packed network reads, so only the identity is accepted.
      this.fail(node, `only an 8-bit unsigned Quant with scale 1 and zero point 0 on the raw input is supported (found bitwidth ${bits.data[0]}, signed ${signed}); k-bit activation Quant nodes are imported only after a MatMul or Gemm layer`);
    }
  }

  /** Returns the positive scalar scale of a BipolarQuant activation. */
  bipolarScale(node: OnnxNode): number {
    const scale = this.index.requireConstant((node.input ?? [])[1] ?? '', node, 'scale');
    if (scale.data.length !== 1 || !(scale.data[0] > 0) || !Number.isFinite(scale.data[0])) {
      this.fail(node, 'a BipolarQuant activation needs one positive scale for the whole tensor');
    }
    return scale.data[0];
  }

  /**
   * Splits a constant weight tensor into signs and one positive magnitude per output channel.
   * `channelOf(i)` returns the output channel of flat element i.
   */
  private binaryWeights(node: OnnxNode, weights: ConstTensor, channels: number, channelOf: (i: number) => number): Float32Array {
    const magnitude = new Float64Array(channels).fill(Number.NaN);
    for (let i = 0; i < weights.data.length; i++) {
      const value = Math.abs(weights.data[i]);
      const channel = channelOf(i);
      if (Number.isNaN(magnitude[channel])) magnitude[channel] = value;
      if (value !== magnitude[channel] || !(value > 0) || !Number.isFinite(value)) {
        this.fail(node, `weights are not binary: output channel ${channel} has magnitudes ${magnitude[channel]} and ${value}; a convolution needs +-a per output channel (BipolarQuant weights) because k-bit weights are imported only for MatMul and Gemm`);
      }
    }
    return Float32Array.from(magnitude);
  }

  /** Returns the first chain step: activation scale times weight magnitude, or none when every product is 1. */
  private scaleSteps(state: LinearState, magnitudes: Float32Array): ChainStep[] {
    const values = magnitudes.map((magnitude) => Math.fround(state.scale * magnitude));
    return values.every((value) => value === 1) ? [] : [{ op: 'mul', values }];
  }

  dense(node: OnnxNode, state: LinearState): PendingLayer {
    if (state.tensor.layout !== 'flat') this.fail(node, `its input must be flat [N, features], found a ${state.tensor.layout} image tensor; add Flatten first`);
    const inputs = node.input ?? [];
    let weights = this.index.requireConstant(inputs[1] ?? '', node, 'weights');
    const steps: ChainStep[] = [];

    let transposed = false;
    if (node.opType === 'Gemm') {
      if (intAttribute(node, 'transA', 0, this.source) !== 0) this.fail(node, 'transA must be 0');
      transposed = intAttribute(node, 'transB', 0, this.source) !== 0;
    }
    if (weights.dims.length !== 2) this.fail(node, `weights must be a matrix, found dims [${weights.dims.join(', ')}]`);
    const [rows, cols] = transposed ? [weights.dims[1], weights.dims[0]] : weights.dims;
    const features = state.tensor.channels;
    if (rows !== features) this.fail(node, `weights have ${rows} input rows but the activation has ${features} features`);
    if (transposed) weights = { dims: [rows, cols], data: transposeMatrix(weights.data, cols, rows) };
    if (state.permutation !== null) weights = { dims: [rows, cols], data: permuteRows(weights.data, cols, state.permutation) };

    const quant = kbitWeightQuant(this.index, inputs[1] ?? '');
    const magnitudes = quant === null ? binaryMagnitudes(weights.data, cols) : null;
    const plainBinary = magnitudes !== null && defaultCoding(state);
    let kbit: KbitWeights | null = null;
    if (quant !== null) {
      const permutation = state.permutation;
      const rowOrder = permutation === null ? (row: number) => row : nchwRowOf(permutation);
      kbit = readKbitWeights(this.index, quant, node, { rows, cols, transposed }, rowOrder);
    } else if (magnitudes !== null) {
      kbit = signWeights(weights.data, rows, cols, magnitudes);
    } else {
      kbit = this.integerWeights(node, weights.data, rows, cols);
    }
    steps.push(...this.scaleSteps(state, Float32Array.from(kbit.scales)));
    state.permutation = null;
    if (node.opType === 'Gemm') {
      const alpha = floatAttribute(node, 'alpha', 1, this.source);
      const beta = floatAttribute(node, 'beta', 1, this.source);
      if (alpha !== 1) steps.push({ op: 'mul', values: new Float32Array(cols).fill(alpha) });
      if (inputs[2] !== undefined && inputs[2] !== '') {
        const bias = this.channelConstant(node, this.index.requireConstant(inputs[2], node, 'bias C'), cols, 'flat');
        steps.push({ op: 'add', values: bias.map((value) => Math.fround(value * beta)) });
      }
    }

    const record: KbitRecord = { weights: kbit, input: state.activation, bits: state.codeBits, multiplier: state.multiplier, offset: state.offset, inputs: rows, scale: state.scale };
    const binaryBound = (record.input === 'uint8' ? UINT8_MAX : 1) * rows;
    const bound = plainBinary ? binaryBound : kbitBound(record);
    if (bound >= 2 ** 24) this.fail(node, `its accumulator reaches ${bound}, beyond 2^24, where float32 sums stop being exact integers; use fewer bits or inputs`);
    const pending: PendingLayer = {
      kind: 'dense',
      units: cols,
      bound,
      steps,
      pool: null,
      outHeight: 1,
      outWidth: 1,
      outChannels: cols,
      relu: false,
      kbit: plainBinary ? null : record,
      finish: (output) => {
        if (pending.kbit === null && output.kind !== 'codes') return { kind: 'dense', input: record.input as 'uint8' | 'signs', inputs: rows, units: cols, weights: kbit.planes, output };
        return kbitLayer(pending.kbit ?? record, cols, output);
      },
    };
    return pending;
  }

  /**
   * Reads plain integer weights, as the exporter writes k-bit layers: odd
   * integers are the odd weights w' themselves; other integers q in [lo, hi]
   * become w' = 2 (q - lo) - (2^bits - 1) with offset 2 lo + 2^bits - 1 and unit 1/2.
   */
  private integerWeights(node: OnnxNode, data: Float64Array, rows: number, cols: number): KbitWeights {
    if (data.some((value) => !Number.isInteger(value))) {
      const channel = data.findIndex((value) => !Number.isInteger(value)) % cols;
      this.fail(node, `weights are neither binary (+-a per output channel), Quant k-bit weights, nor integers (output channel ${channel}); quantize them with a QONNX Quant node`);
    }
    let low = Infinity;
    let high = -Infinity;
    for (const value of data) [low, high] = [Math.min(low, value), Math.max(high, value)];
    const odd = data.every((value) => Math.abs(value % 2) === 1);
    const bits = odd ? Math.max(1, Math.ceil(Math.log2(Math.max(Math.abs(low), Math.abs(high)) + 1))) : Math.max(1, Math.ceil(Math.log2(high - low + 1)));
    if (bits > 8) this.fail(node, `integer weights span [${low}, ${high}], more than the 8 bit planes a k-bit layer holds`);

    const top = 2 ** bits - 1;
    const odds = odd ? data : data.map((value) => 2 * (value - low) - top);
    const weights = planesOf(odds, rows, cols, bits);
    return { ...weights, bits, offset: odd ? 0 : 2 * low + top, scales: new Float64Array(cols).fill(odd ? 1 : 0.5) };
  }

  pad(node: OnnxNode, state: LinearState): LinearState['pad'] {
    const inputs = node.input ?? [];
    if (stringAttribute(node, 'mode', 'constant', this.source) !== 'constant') this.fail(node, 'only constant padding is supported');
    if (state.tensor.layout !== 'nchw' || state.pad !== null) this.fail(node, 'Pad is supported only on an NCHW image right before a Conv');
    const pads = this.index.requireConstant(inputs[1] ?? '', node, 'pads').data;
    const value = inputs[2] === undefined || inputs[2] === '' ? 0 : this.index.requireConstant(inputs[2], node, 'constant_value').data[0];
    if (pads.length !== 8 || pads[0] !== 0 || pads[1] !== 0 || pads[4] !== 0 || pads[5] !== 0 || pads.some((pad) => pad < 0 || pad > 64)) {
      this.fail(node, `pads must be [0, 0, top, left, 0, 0, bottom, right] with small non-negative values, found [${Array.from(pads).join(', ')}]`);
    }
    return { pads: [pads[2], pads[3], pads[6], pads[7]], value };
  }

  conv(node: OnnxNode, state: LinearState): PendingLayer {
    const tensor = state.tensor;
    if (tensor.layout !== 'nchw') this.fail(node, `its input must be an NCHW image, found a ${tensor.layout} tensor`);
    // Limitation: the packed convolution reads only the uint8 input or signs, not k-bit codes.
    if (!defaultCoding(state)) this.fail(node, 'a convolution on k-bit activation codes or shifted inputs is not supported; only dense layers take them');
    const inputs = node.input ?? [];
    const weights = this.index.requireConstant(inputs[1] ?? '', node, 'weights');
    if (weights.dims.length !== 4 || weights.dims[1] !== tensor.channels) {
      this.fail(node, `weights must be [O, ${tensor.channels}, KH, KW], found [${weights.dims.join(', ')}]`);
    }
    const [outChannels, channels, kernelHeight, kernelWidth] = weights.dims;
    if (intAttribute(node, 'group', 1, this.source) !== 1) this.fail(node, 'grouped convolution is not supported');
    if ((intsAttribute(node, 'dilations', [1, 1], this.source) ?? []).some((d) => d !== 1)) this.fail(node, 'dilated convolution is not supported');
    const [strideHeight, strideWidth] = intsAttribute(node, 'strides', [1, 1], this.source) ?? [1, 1];
    if (!(strideHeight >= 1 && strideWidth >= 1)) this.fail(node, 'strides must be positive');

    const { padding, padValue } = this.convPadding(node, state, { kernelHeight, kernelWidth, strideHeight, strideWidth });
    const base = { height: tensor.height, width: tensor.width, channels, outChannels, kernelHeight, kernelWidth, strideHeight, strideWidth, padding };
    const { outHeight, outWidth } = convGeometry({ ...base, batch: 1 });
    if (outHeight < 1 || outWidth < 1) this.fail(node, `the ${kernelHeight}x${kernelWidth} kernel leaves no output on the ${tensor.height}x${tensor.width} input`);

    const perChannel = kernelHeight * kernelWidth * channels;
    const magnitudes = this.binaryWeights(node, weights, outChannels, (i) => Math.floor(i / perChannel));
    const steps = this.scaleSteps(state, magnitudes);
    if (inputs[2] !== undefined && inputs[2] !== '') {
      steps.push({ op: 'add', values: this.channelConstant(node, this.index.requireConstant(inputs[2], node, 'bias'), outChannels, 'flat') });
    }

    const inputKind = state.activation as 'uint8' | 'signs';
    const packed = packKernelSigns(Float32Array.from(weights.data), base, inputKind);
    const magnitude = Math.max(inputKind === 'uint8' ? UINT8_MAX : 1, Math.abs(padValue));
    const pending: PendingLayer = {
      kind: 'conv',
      units: outChannels,
      bound: magnitude * perChannel,
      steps,
      pool: null,
      outHeight,
      outWidth,
      outChannels,
      relu: false,
      finish: (output) => ({ kind: 'conv2d', input: inputKind, ...base, padValue, weights: packed, pool: pending.pool, output: output as SignOutput }),
    };
    return pending;
  }

  /** Maps Conv pads (and a Pad node before it) to the packed 'same' / 'valid' padding and its value in activation units. */
  private convPadding(node: OnnxNode, state: LinearState, window: { kernelHeight: number; kernelWidth: number; strideHeight: number; strideWidth: number }): { padding: 'same' | 'valid'; padValue: number } {
    const autoPad = stringAttribute(node, 'auto_pad', 'NOTSET', this.source);
    let pads = intsAttribute(node, 'pads', [0, 0, 0, 0], this.source) ?? [0, 0, 0, 0];
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') this.fail(node, `auto_pad '${autoPad}' is not supported; write explicit pads`);
    if (pads.length !== 4) this.fail(node, 'pads must have 4 values');
    pads = [pads[0], pads[1], pads[2], pads[3]];
    let value = 0;
    if (state.pad !== null) {
      if (pads.some((pad) => pad !== 0)) this.fail(node, 'a Conv after a Pad node must not pad again');
      pads = state.pad.pads;
      value = state.pad.value;
      state.pad = null;
    }
    if (pads.every((pad) => pad === 0)) return { padding: 'valid', padValue: 0 };

    const tensor = state.tensor;
    const same = convGeometry({ batch: 1, height: tensor.height, width: tensor.width, channels: tensor.channels, ...window, padding: 'same' });
    const bottom = Math.max(0, (same.outHeight - 1) * window.strideHeight + window.kernelHeight - tensor.height - same.padTop);
    const right = Math.max(0, (same.outWidth - 1) * window.strideWidth + window.kernelWidth - tensor.width - same.padLeft);
    // ONNX pads are [top, left, bottom, right].
    if (pads[0] !== same.padTop || pads[1] !== same.padLeft || pads[2] !== bottom || pads[3] !== right) {
      this.fail(node, `pads [${pads.join(', ')}] are neither 'valid' (all 0) nor TensorFlow 'same' ([${same.padTop}, ${same.padLeft}, ${bottom}, ${right}])`);
    }

    const units = value / state.scale;
    const allowed = state.activation === 'signs' ? units === 1 || units === 0 || units === -1 : Number.isInteger(units) && Math.abs(units) < 2 ** 16;
    if (!allowed) this.fail(node, `pad value ${value} is ${units} activation units; sign inputs need 1, 0 or -1 and raw inputs an integer`);
    return { padding: 'same', padValue: units };
  }

  /**
   * Reads a per-channel constant of a flat [N, C] tensor (shape [C]) or an
   * NCHW tensor (shape [C, 1, 1]), leading 1s allowed, or a scalar.
   */
  channelConstant(node: OnnxNode, value: ConstTensor, channels: number, layout: Tensor['layout']): Float32Array {
    if (value.data.length === 1) return new Float32Array(channels).fill(value.data[0]);

    const dims = [...value.dims];
    const expected = layout === 'flat' ? [channels] : [channels, 1, 1];
    while (dims.length > expected.length && dims[0] === 1) dims.shift();
    if (dims.join(',') !== expected.join(',')) {
      this.fail(node, `a constant of shape [${value.dims.join(', ')}] is not per channel; expected a scalar or shape [${expected.join(', ')}] for ${channels} channels`);
    }
    return Float32Array.from(value.data);
  }

  /** Appends x op c (c constant per channel) to the pending layer's chain, or scales the activations when no layer is pending. */
  elementwise(node: OnnxNode, state: LinearState): void {
    const inputs = node.input ?? [];
    const op = node.opType ?? '';
    const activationFirst = inputs[0] === state.tensor.name;
    const constantName = activationFirst ? inputs[1] : inputs[0];
    const value = this.index.requireConstant(constantName ?? '', node, 'second operand');
    const pending = state.pending;

    if (pending === null) {
      const scalar = value.data.length === 1 ? value.data[0] : Number.NaN;
      if ((op === 'Mul' || (op === 'Div' && activationFirst)) && scalar > 0 && Number.isFinite(scalar)) {
        state.scale = op === 'Mul' ? state.scale * scalar : state.scale / scalar;
        return;
      }
      // A scalar shift that is a whole number of activation units keeps the input integer, as in the exporter's (s + 1) / 2.
      const units = scalar / state.scale;
      if ((op === 'Add' || (op === 'Sub' && activationFirst)) && Number.isInteger(units) && Math.abs(units) <= 2 ** 16) {
        state.offset += op === 'Add' ? units : -units;
        return;
      }
      this.fail(node, `an element-wise ${op} on activations is supported only as a positive scalar Mul or Div, or a scalar Add or Sub of whole activation units, before a linear layer`);
    }

    const values = this.channelConstant(node, value, pending.units, pending.kind === 'dense' ? 'flat' : 'nchw');
    if (op === 'Div' && values.some((v) => v === 0)) this.fail(node, 'division by zero');
    if (op === 'Div' && !activationFirst) this.fail(node, 'dividing a constant by the activation is not supported');
    const kind: ChainStep['op'] = op === 'Mul' ? 'mul' : op === 'Div' ? 'div' : op === 'Add' ? 'add' : op === 'Sub' || op === 'GreaterOrEqual' ? (activationFirst ? 'sub' : 'rsub') : this.fail(node, `unexpected operator ${op}`);
    pending.steps.push({ op: kind, values });
  }

  /** Appends inference-mode batch norm as x * a + b with a = gamma / sqrt(var + epsilon), b = beta - mean * a. */
  batchNorm(node: OnnxNode, state: LinearState): void {
    const pending = state.pending;
    if (pending === null) this.fail(node, 'BatchNormalization must follow a MatMul, Gemm or Conv layer');
    const inputs = node.input ?? [];
    const [gamma, beta, mean, variance] = ['scale', 'B', 'input_mean', 'input_var'].map((role, i) => {
      const value = this.index.requireConstant(inputs[i + 1] ?? '', node, role);
      return value.data.length === 1 ? new Float32Array(pending.units).fill(value.data[0]) : this.channelConstant(node, { dims: [value.data.length], data: value.data }, pending.units, 'flat');
    });
    const epsilon = floatAttribute(node, 'epsilon', 1e-5, this.source);
    const scale = new Float32Array(pending.units);
    const shift = new Float32Array(pending.units);
    for (let c = 0; c < pending.units; c++) {
      scale[c] = gamma[c] / Math.sqrt(variance[c] + epsilon);
      shift[c] = beta[c] - mean[c] * scale[c];
    }
    pending.steps.push({ op: 'mul', values: scale }, { op: 'add', values: shift });
  }

  poolWindow(node: OnnxNode): PoolWindow {
    const kernel = intsAttribute(node, 'kernel_shape', null, this.source);
    if (kernel === null || kernel.length !== 2 || kernel.some((size) => size < 1 || size > 64)) this.fail(node, 'kernel_shape must be two sizes in 1..64');
    const strides = intsAttribute(node, 'strides', [1, 1], this.source) ?? [1, 1];
    if (strides.length !== 2 || strides.some((stride) => stride < 1 || stride > 64)) this.fail(node, 'strides must be two values in 1..64');
    const pads = intsAttribute(node, 'pads', [0, 0, 0, 0], this.source) ?? [];
    const autoPad = stringAttribute(node, 'auto_pad', 'NOTSET', this.source);
    if (pads.some((pad) => pad !== 0) || (autoPad !== 'NOTSET' && autoPad !== 'VALID') || intAttribute(node, 'ceil_mode', 0, this.source) !== 0) {
      this.fail(node, 'only unpadded (VALID) max pooling with ceil_mode 0 is supported');
    }
    if ((intsAttribute(node, 'dilations', [1, 1], this.source) ?? []).some((d) => d !== 1)) this.fail(node, 'dilated pooling is not supported');
    return { poolHeight: kernel[0], poolWidth: kernel[1], strideHeight: strides[0], strideWidth: strides[1] };
  }

  /** Checks that a Flatten keeps the batch axis (axis 1) or a Reshape targets [N, -1]. */
  checkFlatten(node: OnnxNode, state: LinearState): void {
    const { height, width, channels } = state.tensor;
    if (node.opType === 'Flatten') {
      if (intAttribute(node, 'axis', 1, this.source) !== 1) this.fail(node, 'only Flatten with axis 1 is supported');
      return;
    }
    const shape = this.index.requireConstant((node.input ?? [])[1] ?? '', node, 'shape').data;
    const features = height * width * channels;
    const flat = shape.length === 2 && (shape[0] === -1 || shape[0] === 0 || shape[0] === 1) && (shape[1] === -1 || shape[1] === features);
    if (!flat) this.fail(node, `only a Reshape to [N, ${features}] (or [-1, ${features}], [N, -1]) is supported, found [${Array.from(shape).join(', ')}]`);
  }
}

function transposeMatrix(data: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** The operands of a k-bit dense layer: the real input is scale * (multiplier * u + offset), u a code of `bits` bits. */
export interface KbitRecord {
  weights: KbitWeights;
  input: LinearState['activation'];
  bits: number;
  multiplier: number;
  offset: number;
  inputs: number;
  scale: number;
}

/** Returns the default integer coding of an activation kind: u, 2u - 1 for signs. */
export function kindCoding(kind: LinearState['activation']): { multiplier: number; offset: number } {
  return kind === 'signs' ? { multiplier: 2, offset: -1 } : { multiplier: 1, offset: 0 };
}

/** True when the state's coding is the one a binary dense layer reads (uint8 pixels or signs +-1). */
function defaultCoding(state: LinearState): boolean {
  if (state.activation === 'codes') return false;
  const coding = kindCoding(state.activation);
  return state.multiplier === coding.multiplier && state.offset === coding.offset;
}

/** Largest |acc| of a k-bit layer: K * max|x| * max|w' + t|. */
export function kbitBound(record: KbitRecord): number {
  const top = record.input === 'uint8' ? UINT8_MAX : 2 ** record.bits - 1;
  const maxInput = Math.max(Math.abs(record.offset), Math.abs(record.multiplier * top + record.offset));
  return record.inputs * maxInput * (2 ** record.weights.bits - 1 + Math.abs(record.weights.offset));
}

/**
 * Builds a dense-kbit layer. With the input x = p u + o and the weight w' + t,
 * sum x (w' + t) = p sum u w' + p t sum u + o (W_unit + t K), the accumulator
 * of PackedDenseKbitLayer (see compile-kbit.ts).
 */
function kbitLayer(record: KbitRecord, units: number, output: SignOutput | ScoreOutput | CodeOutput): PackedDenseKbitLayer {
  const { weights, multiplier, offset, inputs } = record;
  let activationBits = record.bits;
  if (record.input === 'uint8') activationBits = 8;
  if (record.input === 'signs') activationBits = 1;
  return {
    kind: 'dense-kbit',
    input: record.input,
    inputs,
    units,
    activationBits,
    weightBits: weights.bits,
    weights: weights.planes,
    gemmScale: multiplier,
    rowSumScale: multiplier * weights.offset,
    correction: Int32Array.from(weights.sums, (sum) => offset * (sum + weights.offset * inputs)),
    output,
  };
}

/** Returns the one positive magnitude of each output column of a [rows, cols] matrix, or null when some column has two. */
function binaryMagnitudes(data: Float64Array, cols: number): Float32Array | null {
  const magnitude = new Float64Array(cols).fill(Number.NaN);
  for (let i = 0; i < data.length; i++) {
    const value = Math.abs(data[i]);
    const channel = i % cols;
    if (Number.isNaN(magnitude[channel])) magnitude[channel] = value;
    if (value !== magnitude[channel] || !(value > 0) || !Number.isFinite(value)) return null;
  }
  return Float32Array.from(magnitude);
}

/** Sign weights +-a as a one-plane k-bit operand. */
function signWeights(data: Float64Array, rows: number, cols: number, magnitudes: Float32Array): KbitWeights {
  const signs = data.map((value) => (value < 0 ? -1 : 1));
  return { ...planesOf(signs, rows, cols, 1), bits: 1, offset: 0, scales: Float64Array.from(magnitudes) };
}

/** Packs the odd weights w' of a [rows, cols] matrix as sign planes. Plane j stores -1 where bit j of (w' + 2^bits - 1) / 2 is 0. */
function planesOf(odds: Float64Array, rows: number, cols: number, bits: number): { planes: Uint32Array; sums: Float64Array } {
  const words = wordsPerRow(rows);
  const planes = new Uint32Array(cols * bits * words);
  const sums = new Float64Array(cols);
  const top = 2 ** bits - 1;
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      const odd = odds[row * cols + col];
      sums[col] += odd;
      const level = (odd + top) / 2;
      for (let plane = 0; plane < bits; plane++) {
        if (((level >>> plane) & 1) === 0) planes[(col * bits + plane) * words + (row >>> 5)] |= 1 << (row & 31);
      }
    }
  }
  return { planes, sums };
}

/** Maps a packed NHWC row (y, x, c) to the ONNX NCHW flatten row (c, y, x) it reads. */
function nchwRowOf(shape: { height: number; width: number; channels: number }): (row: number) => number {
  const { height, width, channels } = shape;
  return (row) => {
    const c = row % channels;
    const pixel = (row - c) / channels;
    return c * height * width + pixel;
  };
}

/** Reorders weight rows from ONNX's NCHW flatten order (c, y, x) to the packed NHWC order (y, x, c). */
function permuteRows(data: Float64Array, cols: number, shape: { height: number; width: number; channels: number }): Float64Array {
  const { height, width, channels } = shape;
  const out = new Float64Array(data.length);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const from = (c * height + y) * width + x;
        const to = (y * width + x) * channels + c;
        out.set(data.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

/**
 * Decoding and indexing of an untrusted ONNX model: protobuf errors become
 * FileFormatErrors, node and initializer counts are bounded, and constant
 * subgraphs (weights behind BipolarQuant / Quant, Constant nodes) are
 * evaluated on demand with the QONNX quantizer semantics.
 */
import { FileFormatError } from '../errors.js';
import { decodeOnnxModel } from './onnx-schema.js';
import type { OnnxGraph, OnnxModel, OnnxNode, OnnxTensor } from './onnx-schema.js';
import { type ConstTensor, decodeTensor, describeNode, intAttribute, intsAttribute, stringAttribute, tensorAttribute } from './onnx-tensor.js';

/** Most nodes one graph may have; real binarized networks have a few hundred at most. */
export const MAX_NODES = 10_000;

/** Domains whose quantization operators the importer understands (Brevitas exports to onnx.brevitas). */
const QUANT_DOMAINS = new Set(['qonnx.custom_op.general', 'onnx.brevitas', 'finn.custom_op.general']);

/** Decodes ONNX bytes, turning every protobuf failure into a FileFormatError. */
export function decodeModelBytes(bytes: Uint8Array, source: string): OnnxModel {
  let model: OnnxModel;
  try {
    model = decodeOnnxModel(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new FileFormatError(`not a valid ONNX protobuf file (${reason})`, source);
  }
  if (model.graph === undefined) throw new FileFormatError('the ONNX model has no graph', source);
  return model;
}

/** An indexed graph: producers and consumers of every tensor, and lazily decoded constants. */
export class GraphIndex {
  readonly nodes: OnnxNode[];
  private readonly initializers = new Map<string, OnnxTensor>();
  private readonly producers = new Map<string, OnnxNode>();
  private readonly consumers = new Map<string, OnnxNode[]>();
  private readonly constants = new Map<string, ConstTensor | null>();

  constructor(
    readonly graph: OnnxGraph,
    readonly source: string,
  ) {
    this.nodes = graph.node ?? [];
    if (this.nodes.length > MAX_NODES) throw new FileFormatError(`the graph has ${this.nodes.length} nodes, more than the ${MAX_NODES} the importer accepts`, source);
    if ((graph.initializer?.length ?? 0) > MAX_NODES) throw new FileFormatError(`the graph has more than ${MAX_NODES} initializers`, source);

    for (const tensor of graph.initializer ?? []) this.initializers.set(tensor.name ?? '', tensor);
    for (const node of this.nodes) {
      for (const output of node.output ?? []) {
        if (this.producers.has(output)) throw new FileFormatError(`tensor '${output}' is produced by more than one node`, source);
        this.producers.set(output, node);
      }
      for (const input of node.input ?? []) {
        if (input === '') continue;
        const list = this.consumers.get(input) ?? [];
        if (list.includes(node)) continue;
        list.push(node);
        this.consumers.set(input, list);
      }
    }
  }

  consumersOf(tensor: string): OnnxNode[] {
    return this.consumers.get(tensor) ?? [];
  }

  /** Returns the node that produces `tensor`, or undefined for graph inputs and initializers. */
  producerOf(tensor: string): OnnxNode | undefined {
    return this.producers.get(tensor);
  }

  isInitializer(name: string): boolean {
    return this.initializers.has(name);
  }

  /** Returns the value of a constant tensor (initializer, Constant node or a foldable op on constants), or null when it depends on the graph input. */
  constant(name: string): ConstTensor | null {
    const cached = this.constants.get(name);
    if (cached !== undefined) return cached;

    // Marks the name before recursing, so a cycle of nodes ends as "not constant" instead of overflowing the stack.
    this.constants.set(name, null);
    const value = this.evaluateConstant(name);
    this.constants.set(name, value);
    return value;
  }

  /** Returns the constant `name`, or throws a FileFormatError that names the node that needs it. */
  requireConstant(name: string, node: OnnxNode, role: string): ConstTensor {
    const value = name === '' ? null : this.constant(name);
    if (value === null) throw new FileFormatError(`${describeNode(node)}: its ${role} '${name}' must be a constant (an initializer or computed from initializers only)`, this.source);
    return value;
  }

  private evaluateConstant(name: string): ConstTensor | null {
    const initializer = this.initializers.get(name);
    if (initializer !== undefined) return decodeTensor(initializer, this.source);

    const node = this.producers.get(name);
    if (node === undefined) return null;
    const op = node.opType ?? '';
    if (op === 'Constant') {
      const tensor = tensorAttribute(node, 'value');
      if (tensor === undefined) throw new FileFormatError(`${describeNode(node)}: only Constant nodes with a 'value' tensor are supported`, this.source);
      return decodeTensor(tensor, this.source);
    }

    const inputs = (node.input ?? []).map((input) => (input === '' ? null : this.constant(input)));
    if (inputs.length === 0 || inputs.some((input) => input === null)) return null;
    const values = inputs as ConstTensor[];
    if (op === 'Identity') return values[0];
    if (op === 'Transpose') return transpose(values[0], intsAttribute(node, 'perm', null, this.source), node, this.source);
    if (op === 'BipolarQuant' && QUANT_DOMAINS.has(node.domain ?? '')) return bipolarQuant(values, node, this.source);
    if ((op === 'Quant' || op === 'IntQuant') && QUANT_DOMAINS.has(node.domain ?? '')) return intQuant(values, node, this.source);
    return null;
  }
}

/** Output dims of numpy-style broadcasting of `a` and `b`, or null when they do not broadcast. */
function broadcastDims(a: number[], b: number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    dims.push(Math.max(x, y));
  }
  return dims;
}

/** Returns, for every element of `dims`, the flat index of the element of `operand` that broadcasts onto it. */
function broadcastIndices(operand: number[], dims: number[]): Int32Array {
  const count = dims.reduce((a, b) => a * b, 1);
  const indices = new Int32Array(count);
  const offset = dims.length - operand.length;
  const strides = new Array<number>(dims.length).fill(0);
  let stride = 1;
  for (let i = operand.length - 1; i >= 0; i--) {
    strides[i + offset] = operand[i] === 1 ? 0 : stride;
    stride *= operand[i];
  }

  for (let flat = 0; flat < count; flat++) {
    let rest = flat;
    let index = 0;
    for (let axis = dims.length - 1; axis >= 0; axis--) {
      index += (rest % dims[axis]) * strides[axis];
      rest = Math.floor(rest / dims[axis]);
    }
    indices[flat] = index;
  }
  return indices;
}

/** Broadcasts `operand` to `dims` (numpy rules), or throws naming the node. */
export function broadcastTo(operand: ConstTensor, dims: number[], node: OnnxNode, source: string): Float64Array {
  const result = broadcastDims(operand.dims, dims);
  if (result === null || result.join(',') !== dims.join(',')) {
    throw new FileFormatError(`${describeNode(node)}: a constant of shape [${operand.dims.join(', ')}] does not broadcast to [${dims.join(', ')}]`, source);
  }
  const indices = broadcastIndices(operand.dims, dims);
  return Float64Array.from(indices, (index) => operand.data[index]);
}

function transpose(value: ConstTensor, perm: number[] | null, node: OnnxNode, source: string): ConstTensor {
  const rank = value.dims.length;
  const order = perm ?? [...value.dims.keys()].reverse();
  if (order.length !== rank || [...order].sort((a, b) => a - b).some((axis, i) => axis !== i)) {
    throw new FileFormatError(`${describeNode(node)}: perm [${order.join(', ')}] is not a permutation of ${rank} axes`, source);
  }
  const dims = order.map((axis) => value.dims[axis]);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1] * value.dims[i + 1];

  const data = new Float64Array(value.data.length);
  for (let flat = 0; flat < data.length; flat++) {
    let rest = flat;
    let index = 0;
    for (let axis = rank - 1; axis >= 0; axis--) {
      index += (rest % dims[axis]) * inStrides[order[axis]];
      rest = Math.floor(rest / dims[axis]);
    }
    data[flat] = value.data[index];
  }
  return { dims, data };
}

/** QONNX BipolarQuant: +1 where x >= 0, else -1, times the scale, in float32. */
function bipolarQuant(values: ConstTensor[], node: OnnxNode, source: string): ConstTensor {
  const [x, scale] = values;
  if (scale === undefined) throw new FileFormatError(`${describeNode(node)}: BipolarQuant needs inputs X and scale`, source);
  const scales = broadcastTo(scale, x.dims, node, source);
  const data = x.data.map((value, i) => Math.fround((value >= 0 ? 1 : -1) * scales[i]));
  return { dims: x.dims, data };
}

/** Rounds half to even, the ROUND mode of QONNX Quant (numpy.round). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Integer range [min, max] of a QONNX Quant with the given bitwidth, signed and narrow attributes. */
export function quantRange(bits: number, signed: boolean, narrow: boolean): { min: number; max: number } {
  const min = signed ? -(2 ** (bits - 1)) + (narrow ? 1 : 0) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1 - (narrow ? 1 : 0);
  return { min, max };
}

/** Returns the rounding function of a QONNX rounding_mode, or throws naming the node. */
export function quantRounding(node: OnnxNode, source: string, fallback = 'ROUND'): (v: number) => number {
  const mode = stringAttribute(node, 'rounding_mode', fallback, source).toUpperCase();
  const rounding: Record<string, (v: number) => number> = { ROUND: roundHalfEven, HALF_EVEN: roundHalfEven, CEIL: Math.ceil, FLOOR: Math.floor };
  const round = rounding[mode];
  if (round === undefined) throw new FileFormatError(`${describeNode(node)}: rounding_mode '${mode}' is not supported; use ROUND, CEIL or FLOOR`, source);
  return round;
}

/** QONNX Quant / IntQuant: clip(x / scale + zero_point) to the integer range, round, then (q - zero_point) * scale, in float32. */
function intQuant(values: ConstTensor[], node: OnnxNode, source: string): ConstTensor {
  const [x, scale, zeroPoint, bitwidth] = values;
  if (bitwidth === undefined) throw new FileFormatError(`${describeNode(node)}: Quant needs inputs X, scale, zeropt and bitwidth`, source);
  const bits = bitwidth.data[0];
  if (bitwidth.data.length !== 1 || !Number.isInteger(bits) || bits < 1 || bits > 32) {
    throw new FileFormatError(`${describeNode(node)}: bitwidth must be one integer in 1..32, got [${Array.from(bitwidth.data.slice(0, 4)).join(', ')}]`, source);
  }
  const signed = intAttribute(node, 'signed', 1, source) !== 0;
  const narrow = intAttribute(node, 'narrow', 0, source) !== 0;
  const round = quantRounding(node, source);
  const { min, max } = quantRange(bits, signed, narrow);
  const scales = broadcastTo(scale, x.dims, node, source);
  const zeros = broadcastTo(zeroPoint, x.dims, node, source);
  const data = new Float64Array(x.data.length);
  for (let i = 0; i < data.length; i++) {
    const scaled = Math.fround(Math.fround(x.data[i] / scales[i]) + zeros[i]);
    const q = round(Math.min(Math.max(scaled, min), max));
    data[i] = Math.fround(Math.fround(q - zeros[i]) * scales[i]);
  }
  return { dims: x.dims, data };
}

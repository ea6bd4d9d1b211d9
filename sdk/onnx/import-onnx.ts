/**
 * Import of ONNX / QONNX files into the packed graph. The graph must be one
 * chain from the input to the scores, with weights and quantizer constants
 * hanging off it. Supported links: MatMul / Gemm / Conv with binary weights
 * (BipolarQuant, or any constant whose output channels are +-a), element-wise
 * constants and BatchNormalization after them, and BipolarQuant or Sign (or the
 * GreaterOrEqual + Where pair of the plain exporter) as activation.
 * Everything else is rejected with a FileFormatError that names the node.
 */
import { FileFormatError, QnnError } from '../errors.js';
import { findNetworkProblem } from '../format/qnn-network-checks.js';
import type { PackedLayer, PackedNetwork } from '../compile/graph.js';
import type { OnnxNode, OnnxValueInfo } from './onnx-schema.js';
import { GraphIndex, decodeModelBytes } from './onnx-graph.js';
import { describeNode } from './onnx-tensor.js';
import { type ChainStep, chainDirection, chainToEpilogue, foldChainThresholds } from './affine-chain.js';
import { type LinearState, LinearReader, type Tensor } from './import-linear.js';

export interface ImportOnnxOptions {
  /** Name of the file or URL the bytes came from, used in error messages. */
  source?: string;
}

/** Reads an ONNX or QONNX model and returns the equivalent packed network. */
export function importOnnx(bytes: Uint8Array, options: ImportOnnxOptions = {}): PackedNetwork {
  const source = options.source ?? '<memory>';
  const model = decodeModelBytes(bytes, source);
  const index = new GraphIndex(model.graph!, source);

  let network: PackedNetwork;
  try {
    network = new ChainWalker(index).walk();
  } catch (error) {
    if (error instanceof FileFormatError) throw error;
    if (error instanceof QnnError) throw new FileFormatError(error.message, source);
    throw error;
  }

  const problem = findNetworkProblem(network);
  if (problem !== null) throw new FileFormatError(`the imported graph does not form a valid packed network: ${problem.message}`, source);
  return network;
}

/** Follows the activation tensor from the graph input to the graph output, one node at a time. */
class ChainWalker {
  private readonly source: string;
  private readonly layers: PackedLayer[] = [];
  private readonly linear: LinearReader;

  constructor(private readonly index: GraphIndex) {
    this.source = index.source;
    this.linear = new LinearReader(index);
  }

  walk(): PackedNetwork {
    const graph = this.index.graph;
    const input = (graph.input ?? []).find((value) => !this.index.isInitializer(value.name ?? ''));
    if (input === undefined) throw new FileFormatError('the graph has no input', this.source);
    if ((graph.output ?? []).length !== 1) throw new FileFormatError(`the graph must have exactly one output (the class scores), found ${(graph.output ?? []).length}`, this.source);
    const outputName = graph.output![0].name ?? '';

    const tensor = this.inputTensor(input);
    const inputShape = tensor.layout === 'flat' ? [tensor.channels] : [tensor.height, tensor.width, tensor.channels];
    const state: LinearState = { tensor, activation: 'uint8', scale: 1, pending: null, pad: null, permutation: null };

    for (let steps = 0; ; steps++) {
      if (steps > this.index.nodes.length) throw new FileFormatError('the graph contains a cycle', this.source);
      if (state.tensor.name === outputName) break;

      const consumers = this.index.consumersOf(state.tensor.name);
      if (consumers.length !== 1) {
        const names = consumers.map(describeNode).join(', ');
        throw new FileFormatError(`tensor '${state.tensor.name}' feeds ${consumers.length} nodes (${names || 'none'}) but the importer needs a single chain from the input to the output '${outputName}'`, this.source);
      }
      const node = consumers[0];
      if ((node.input ?? [])[0] !== state.tensor.name && !(node.opType === 'Mul' || node.opType === 'Add')) {
        throw new FileFormatError(`${describeNode(node)}: the activation '${state.tensor.name}' must be its first input`, this.source);
      }
      this.step(node, state);
    }

    this.finishScores(state);
    return { inputShape, layers: this.layers };
  }

  /** Reads the graph input's shape: [N, features], [N, C, H, W], or [N, H, W, C] followed by Transpose(0, 3, 1, 2). */
  private inputTensor(input: OnnxValueInfo): Tensor {
    const name = input.name ?? '';
    const dims = input.type?.tensorType?.shape?.dim ?? [];
    const sizes = dims.slice(1).map((dim) => dim.dimValue ?? 0);
    if (sizes.some((size) => !Number.isSafeInteger(size) || size <= 0 || size > 1 << 24)) {
      throw new FileFormatError(`input '${name}' must have fixed positive sizes after the batch axis, found [${dims.map((dim) => dim.dimValue ?? dim.dimParam ?? '?').join(', ')}]`, this.source);
    }
    if (sizes.length === 1) return { name, layout: 'flat', height: 1, width: 1, channels: sizes[0] };
    if (sizes.length !== 3) throw new FileFormatError(`input '${name}' must have rank 2 [N, features] or rank 4 (images), found rank ${dims.length}`, this.source);

    if (this.transposedFromNhwc(name)) return { name, layout: 'nhwc', height: sizes[0], width: sizes[1], channels: sizes[2] };
    // NOTE: an NCHW input is imported as [H, W, C]; the packed network reads NHWC samples, which differ from NCHW unless C = 1.
    return { name, layout: 'nchw', height: sizes[1], width: sizes[2], channels: sizes[0] };
  }

  /** Returns true when the input reaches a Transpose(0, 3, 1, 2) through only element-preserving nodes (Quant, Identity). */
  private transposedFromNhwc(name: string): boolean {
    let tensor = name;
    for (let hops = 0; hops < 4; hops++) {
      const consumers = this.index.consumersOf(tensor);
      if (consumers.length !== 1) return false;
      const node = consumers[0];
      if (node.opType === 'Transpose') return node.attribute?.find((attribute) => attribute.name === 'perm')?.ints?.join(',') === '0,3,1,2';
      if (!['Quant', 'IntQuant', 'Identity'].includes(node.opType ?? '')) return false;
      tensor = (node.output ?? [])[0] ?? '';
    }
    return false;
  }

  private step(node: OnnxNode, state: LinearState): void {
    const op = node.opType ?? '';
    const output = (node.output ?? [])[0] ?? '';
    const move = (changes: Partial<Tensor> = {}): void => {
      state.tensor = { ...state.tensor, ...changes, name: output };
    };

    switch (op) {
      case 'Identity':
      case 'Dropout':
        move();
        return;
      case 'Transpose':
        move({ layout: this.linear.transposeLayout(node, state.tensor) });
        return;
      case 'Quant':
      case 'IntQuant':
        this.linear.inputQuant(node, state);
        move();
        return;
      case 'MatMul':
      case 'Gemm':
        this.requireNoPending(node, state);
        state.pending = this.linear.dense(node, state);
        move({ layout: 'flat', height: 1, width: 1, channels: state.pending.units });
        return;
      case 'Pad':
        state.pad = this.linear.pad(node, state);
        move();
        return;
      case 'Conv': {
        this.requireNoPending(node, state);
        const pending = this.linear.conv(node, state);
        state.pending = pending;
        move({ layout: 'nchw', height: pending.outHeight, width: pending.outWidth, channels: pending.outChannels });
        return;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
        this.linear.elementwise(node, state);
        move();
        return;
      case 'BatchNormalization':
        this.linear.batchNorm(node, state);
        move();
        return;
      case 'MaxPool':
        move(this.maxPool(node, state));
        return;
      case 'BipolarQuant':
      case 'Sign':
        // NOTE: ONNX Sign(0) is 0 but the packed sign of 0 is +1, so an imported Sign graph can differ from ONNX Runtime at exactly 0.
        this.activate(node, state, op === 'Sign' ? 1 : this.linear.bipolarScale(node));
        move();
        return;
      case 'GreaterOrEqual':
        this.linear.elementwise(node, state);
        this.whereAfterComparison(node, state);
        return;
      case 'Flatten':
      case 'Reshape':
        move(this.flatten(node, state));
        return;
      case 'Relu':
        throw new FileFormatError(`${describeNode(node)}: Relu activations (with k-bit Quant after them) are not supported; the importer maps only BipolarQuant or Sign activations to packed signs`, this.source);
      case 'Trunc':
        throw new FileFormatError(`${describeNode(node)}: Trunc (average pooling or accumulator truncation) is not supported by the packed graph`, this.source);
      default:
        throw new FileFormatError(`${describeNode(node)}: operator '${op}' (domain '${node.domain ?? ''}') is not supported by the ONNX importer`, this.source);
    }
  }

  private requireNoPending(node: OnnxNode, state: LinearState): void {
    if (state.pending !== null) {
      throw new FileFormatError(`${describeNode(node)}: two linear layers follow each other without a BipolarQuant or Sign activation between them, which the packed graph cannot express`, this.source);
    }
  }

  /** Ends the pending layer with packed sign output; `scale` is the activation's real value per sign. */
  private activate(node: OnnxNode, state: LinearState, scale: number): void {
    const pending = state.pending;
    if (pending === null) {
      if (state.activation === 'signs') {
        state.scale = scale;
        return;
      }
      throw new FileFormatError(`${describeNode(node)}: a binary activation must follow a MatMul, Gemm or Conv layer`, this.source);
    }
    const output = foldChainThresholds(pending.steps, pending.units, pending.bound);
    this.layers.push(pending.finish(output));
    state.pending = null;
    state.activation = 'signs';
    state.scale = scale;
  }

  /** Plain ONNX form of sign(x - t): GreaterOrEqual(x, t) then Where(condition, 1, -1). */
  private whereAfterComparison(node: OnnxNode, state: LinearState): void {
    const condition = (node.output ?? [])[0] ?? '';
    const consumers = this.index.consumersOf(condition);
    const where = consumers[0];
    const ones = where === undefined || consumers.length !== 1 || where.opType !== 'Where' ? null : [this.index.constant(where.input?.[1] ?? ''), this.index.constant(where.input?.[2] ?? '')];
    if (ones === null || ones.some((value) => value === null || value.data.length !== 1) || ones[0]!.data[0] !== 1 || ones[1]!.data[0] !== -1) {
      throw new FileFormatError(`${describeNode(node)}: a comparison must feed a single Where(condition, 1, -1), the exporter's form of a sign activation`, this.source);
    }
    this.activate(where, state, 1);
    state.tensor = { ...state.tensor, name: (where.output ?? [])[0] ?? '' };
  }

  private maxPool(node: OnnxNode, state: LinearState): Partial<Tensor> {
    const window = this.linear.poolWindow(node);
    const { height, width, channels } = state.tensor;
    if (state.tensor.layout !== 'nchw') throw new FileFormatError(`${describeNode(node)}: MaxPool needs an NCHW image tensor`, this.source);
    const outHeight = Math.floor((height - window.poolHeight) / window.strideHeight) + 1;
    const outWidth = Math.floor((width - window.poolWidth) / window.strideWidth) + 1;
    if (outHeight < 1 || outWidth < 1) throw new FileFormatError(`${describeNode(node)}: the pooling window is larger than the ${height}x${width} input`, this.source);

    const pending = state.pending;
    if (pending !== null) {
      // max commutes with a non-decreasing function, so the pool moves before the chain, onto the integer accumulators.
      const monotone = Array.from({ length: pending.units }, (_, c) => chainDirection(pending.steps, c) >= 0).every(Boolean);
      if (pending.kind !== 'conv' || pending.pool !== null || !monotone) {
        throw new FileFormatError(`${describeNode(node)}: MaxPool between a layer and its activation is supported only right after a Conv whose scales and batch norm are all non-negative`, this.source);
      }
      pending.pool = window;
      return { height: outHeight, width: outWidth };
    }
    if (state.activation !== 'signs') throw new FileFormatError(`${describeNode(node)}: MaxPool on the raw input is not supported`, this.source);
    this.layers.push({ kind: 'maxPool2d', height, width, channels, ...window });
    return { height: outHeight, width: outWidth };
  }

  private flatten(node: OnnxNode, state: LinearState): Partial<Tensor> {
    if (state.pending !== null) throw new FileFormatError(`${describeNode(node)}: flattening between a layer and its activation is not supported`, this.source);
    this.linear.checkFlatten(node, state);
    const { layout, height, width, channels } = state.tensor;
    if (layout === 'flat') return {};

    if (height * width > 1 || layout === 'nhwc') {
      if (state.activation !== 'signs') throw new FileFormatError(`${describeNode(node)}: flattening the raw input is not supported; feed a flat input instead`, this.source);
      this.layers.push({ kind: 'flatten', height, width, channels });
    }
    // ONNX flattens NCHW in (c, y, x) order and the packed flatten uses (y, x, c); the next layer's weight rows are permuted to match.
    if (layout === 'nchw') state.permutation = { height, width, channels };
    return { layout: 'flat', height: 1, width: 1, channels: height * width * channels };
  }

  /** Ends the last pending layer with a score epilogue. */
  private finishScores(state: LinearState): void {
    const pending = state.pending;
    if (pending === null || pending.kind !== 'dense') throw new FileFormatError('the graph output must be the output of a MatMul or Gemm layer (the class scores), optionally followed by scales, bias or batch norm', this.source);
    const steps: ChainStep[] = pending.steps;
    this.layers.push(pending.finish({ kind: 'scores', epilogue: chainToEpilogue(steps, pending.units) }));
    state.pending = null;
  }
}

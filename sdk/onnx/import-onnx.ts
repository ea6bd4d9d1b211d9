/**
 * Import of ONNX / QONNX files into the packed graph. k-bit layers (Quant
 * weights, Quant activations after Relu or batch norm, Trunc after them, and
 * the exporter's own dense-kbit form) become dense-kbit layers. The graph must be one
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
import { type ChainStep, chainDirection, chainToEpilogue, evaluateChain, foldChainThresholds } from './affine-chain.js';
import { type LinearState, LinearReader, type Tensor, kbitBound } from './import-linear.js';
import { foldCodeThresholds, foldCodes, readActivationQuant } from './import-kbit.js';
import { foldTrunc } from './import-trunc.js';

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
    const state: LinearState = { tensor, activation: 'uint8', codeBits: 8, multiplier: 1, offset: 0, scale: 1, pending: null, pad: null, permutation: null, rowSum: null };

    for (let steps = 0; ; steps++) {
      if (steps > this.index.nodes.length) throw new FileFormatError('the graph contains a cycle', this.source);
      if (state.tensor.name === outputName) break;

      let consumers = this.index.consumersOf(state.tensor.name);
      const rowSum = consumers.find((node) => node.opType === 'ReduceSum');
      if (consumers.length === 2 && rowSum !== undefined && consumers.some((node) => node.opType === 'MatMul')) {
        // The exporter's k-bit layer sums the activation codes beside the MatMul; the Add that uses the sum folds it in.
        state.rowSum = (rowSum.output ?? [])[0] ?? null;
        consumers = consumers.filter((node) => node !== rowSum);
      }
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
        if (state.pending === null) this.linear.inputQuant(node, state);
        else this.activateCodes(node, state);
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
        if (this.foldRowSum(node, state)) {
          move();
          return;
        }
        this.linear.elementwise(node, state);
        move();
        return;
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
        this.relu(node, state);
        move();
        return;
      case 'Trunc':
        this.trunc(node, state);
        move();
        return;
      case 'Unsqueeze':
        this.levelCodes(node, state);
        return;
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
      if (state.activation === 'signs' && state.multiplier === 2 && state.offset === -1) {
        state.scale = scale;
        return;
      }
      throw new FileFormatError(`${describeNode(node)}: a binary activation must follow a MatMul, Gemm or Conv layer`, this.source);
    }
    const output = foldChainThresholds(pending.steps, pending.units, pending.bound);
    this.layers.push(pending.finish(output));
    state.pending = null;
    state.activation = 'signs';
    state.multiplier = 2;
    state.offset = -1;
    state.scale = scale;
  }

  /** Marks the pending layer's Relu; only a Quant (Brevitas QuantReLU) may follow it. */
  private relu(node: OnnxNode, state: LinearState): void {
    const next = this.index.consumersOf((node.output ?? [])[0] ?? '');
    const quantNext = next.length === 1 && (next[0].opType === 'Quant' || next[0].opType === 'IntQuant');
    if (state.pending === null || state.pending.kind !== 'dense' || state.pending.relu || !quantNext) {
      throw new FileFormatError(`${describeNode(node)}: a Relu is supported only between a MatMul or Gemm layer (with its scales and batch norm) and a k-bit Quant activation, as Brevitas QuantReLU exports it`, this.source);
    }
    state.pending.relu = true;
  }

  /** Folds a Trunc on k-bit codes into the thresholds of the layer that made them. */
  private trunc(node: OnnxNode, state: LinearState): void {
    const last = this.layers[this.layers.length - 1];
    if (state.pending !== null || state.activation !== 'codes' || last?.kind !== 'dense-kbit' || last.output.kind !== 'codes') {
      const where = state.pending !== null ? 'on a layer accumulator (as Brevitas TruncAvgPool writes after AveragePool)' : `on ${state.activation} activations`;
      throw new FileFormatError(`${describeNode(node)}: Trunc is supported only on k-bit activation codes right after their Quant, found it ${where}`, this.source);
    }
    if (state.multiplier !== 1) throw new FileFormatError(`${describeNode(node)}: Trunc needs the codes as their Quant wrote them, not rescaled`, this.source);
    const { output, codes } = foldTrunc(this.index, node, { codeBits: state.codeBits, codeOffset: state.offset, scale: state.scale }, last.output);
    last.output = output;
    state.codeBits = codes.codeBits;
    state.offset = codes.codeOffset;
    state.scale = codes.scale;
  }

  /** Ends the pending dense layer with the k-bit codes of a Quant activation. */
  private activateCodes(node: OnnxNode, state: LinearState): void {
    const pending = state.pending!;
    if (pending.kind !== 'dense') throw new FileFormatError(`${describeNode(node)}: a k-bit activation Quant is supported only after a MatMul or Gemm layer; convolutions output signs`, this.source);
    const quant = readActivationQuant(this.index, node);
    const output = foldCodeThresholds(pending.steps, pending.relu, quant, pending.units, pending.bound);
    this.layers.push(pending.finish(output));
    state.pending = null;
    state.activation = 'codes';
    state.codeBits = quant.bits;
    state.multiplier = 1;
    state.offset = quant.min - quant.zero;
    state.scale = quant.scale;
  }

  /**
   * Folds Add(acc, c * ReduceSum(u)) of the exporter's k-bit layer into the
   * weight offset: while the chain is a product k, k acc + c sum(x) equals
   * k sum x (w' + t + c * scale / k). Returns false when the Add is not one.
   */
  private foldRowSum(node: OnnxNode, state: LinearState): boolean {
    const inputs = node.input ?? [];
    const other = inputs[0] === state.tensor.name ? inputs[1] : inputs[0];
    if (other === undefined || this.index.constant(other) !== null) return false;

    let producer = this.index.producerOf(other);
    let factor = 1;
    if (producer?.opType === 'Mul') {
      const [a, b] = producer.input ?? [];
      const constant = this.index.constant(b ?? '') ?? this.index.constant(a ?? '');
      factor = constant !== null && constant.data.length === 1 ? constant.data[0] : Number.NaN;
      producer = this.index.producerOf(this.index.constant(b ?? '') === null ? (b ?? '') : (a ?? ''));
    }
    const fail = (reason: string): never => {
      throw new FileFormatError(`${describeNode(node)}: ${reason}`, this.source);
    };
    if (producer === undefined || (producer.output ?? [])[0] !== state.rowSum || !Number.isFinite(factor)) {
      fail('only a constant, or a scalar times the row sum of the layer input, can be added to an accumulator');
    }
    const pending = state.pending;
    const record = pending?.kbit;
    if (pending === null || record === undefined || record === null) return fail('a row sum is supported only on a k-bit dense layer');
    if (pending.steps.some((step) => step.op !== 'mul')) fail('a row sum must be added before any bias or batch norm');

    const shifts = Array.from({ length: pending.units }, (_, c) => (factor * record.scale) / pending.steps.reduce((product, step) => product * step.values[c], 1));
    const shift = shifts[0];
    if (!Number.isInteger(shift) || shifts.some((value) => value !== shift)) fail(`the row-sum factor ${factor} is not an integer multiple of every channel's accumulator unit`);
    record.weights = { ...record.weights, offset: record.weights.offset + shift };
    pending.bound = kbitBound(record);
    state.rowSum = null;
    return true;
  }

  /**
   * Folds the exporter's level codes: Unsqueeze -> Mul(directions [units, 1]) ->
   * GreaterOrEqual(thresholds [units, levels]) -> Cast -> ReduceSum, which
   * counts the levels that d * x >= t passes; folded by search like a Quant.
   */
  private levelCodes(node: OnnxNode, state: LinearState): void {
    const fail = (reason: string): never => {
      throw new FileFormatError(`${describeNode(node)}: ${reason}`, this.source);
    };
    const pending = state.pending;
    if (pending === null || pending.kind !== 'dense') return fail('Unsqueeze is supported only in the level-code pattern after a dense layer (Mul, GreaterOrEqual, Cast, ReduceSum)');
    const chain = ['Mul', 'GreaterOrEqual', 'Cast', 'ReduceSum'];
    const nodes: OnnxNode[] = [];
    let tensor = (node.output ?? [])[0] ?? '';
    for (const op of chain) {
      const next = this.index.consumersOf(tensor);
      if (next.length !== 1 || next[0].opType !== op || (next[0].input ?? [])[0] !== tensor) fail(`expected the level-code pattern Unsqueeze -> ${chain.join(' -> ')}, found ${next.map(describeNode).join(', ') || 'nothing'} after '${tensor}'`);
      nodes.push(next[0]);
      tensor = (next[0].output ?? [])[0] ?? '';
    }
    const units = pending.units;
    const directions = this.index.requireConstant(nodes[0].input?.[1] ?? '', nodes[0], 'directions');
    const thresholds = this.index.requireConstant(nodes[1].input?.[1] ?? '', nodes[1], 'level thresholds');
    const levels = thresholds.data.length / units;
    const bits = Math.log2(levels + 1);
    if (directions.data.length !== units || !Number.isInteger(levels) || !Number.isInteger(bits) || bits < 1 || bits > 8) {
      fail(`level codes need ${units} directions and [${units}, 2^bits - 1] thresholds, found ${directions.data.length} and ${thresholds.data.length} values`);
    }

    const output = foldCodes(units, pending.bound, bits, (acc, c) => {
      const value = Math.fround(directions.data[c] * evaluateChain(pending.steps, acc, c));
      let code = 0;
      for (let level = 0; level < levels; level++) if (value >= thresholds.data[c * levels + level]) code++;
      return code;
    });
    this.layers.push(pending.finish(output));
    state.pending = null;
    Object.assign(state, { activation: 'codes', codeBits: bits, multiplier: 1, offset: 0, scale: 1 });
    state.tensor = { ...state.tensor, name: tensor };
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

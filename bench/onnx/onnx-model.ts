// ONNX model bytes for the peer benchmarks: one MatMul, one MatMulInteger and
// a float MLP. Field numbers and enum values follow onnx/onnx.proto (ONNX 1.x):
// the models use IR version 8 and opset 13 of the default domain.
import { ProtobufWriter } from './protobuf-writer.js';

/** TensorProto.DataType values used here. */
export const OnnxDataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6 } as const;
export type OnnxDataTypeValue = (typeof OnnxDataType)[keyof typeof OnnxDataType];

const IR_VERSION = 8;
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
const OPSET_VERSION = 13;

/** A graph input or output: a fixed size or a named symbolic size per dimension. */
interface ValueInfo {
  name: string;
  elemType: OnnxDataTypeValue;
  shape: (number | string)[];
}

interface Initializer {
  name: string;
  dataType: OnnxDataTypeValue;
  dims: number[];
  data: Float32Array | Int8Array | Uint8Array;
}

interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
}

interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  initializers: Initializer[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

function encodeValueInfo(info: ValueInfo): ProtobufWriter {
  const shape = new ProtobufWriter();
  for (const size of info.shape) {
    const dim = new ProtobufWriter();
    if (typeof size === 'number') dim.varint(1, size);
    else dim.string(2, size);
    shape.message(1, dim);
  }
  const tensorType = new ProtobufWriter().varint(1, info.elemType).message(2, shape);
  const type = new ProtobufWriter().message(1, tensorType);
  return new ProtobufWriter().string(1, info.name).message(2, type);
}

function encodeInitializer(tensor: Initializer): ProtobufWriter {
  const writer = new ProtobufWriter();
  for (const size of tensor.dims) writer.varint(1, size);
  writer.varint(2, tensor.dataType);
  writer.string(8, tensor.name);
  // raw_data is little-endian and typed arrays use the host's byte order, so big-endian hosts are rejected.
  if (!LITTLE_ENDIAN_HOST) throw new Error('ONNX raw_data needs a little-endian host, but this host is big-endian');
  writer.bytes(9, new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  return writer;
}

function encodeNode(node: NodeSpec, index: number): ProtobufWriter {
  const writer = new ProtobufWriter();
  for (const input of node.inputs) writer.string(1, input);
  for (const output of node.outputs) writer.string(2, output);
  writer.string(3, `${node.opType.toLowerCase()}_${index}`);
  writer.string(4, node.opType);
  return writer;
}

/** Encodes a ModelProto holding one graph. */
function encodeModel(graph: GraphSpec): Uint8Array {
  const graphWriter = new ProtobufWriter();
  graph.nodes.forEach((node, index) => graphWriter.message(1, encodeNode(node, index)));
  graphWriter.string(2, graph.name);
  for (const tensor of graph.initializers) graphWriter.message(5, encodeInitializer(tensor));
  for (const input of graph.inputs) graphWriter.message(11, encodeValueInfo(input));
  for (const output of graph.outputs) graphWriter.message(12, encodeValueInfo(output));

  const opset = new ProtobufWriter().string(1, '').varint(2, OPSET_VERSION);
  return new ProtobufWriter()
    .varint(1, IR_VERSION)
    .string(2, 'qnn-sdk bench')
    .message(7, graphWriter)
    .message(8, opset)
    .finish();
}

/** Encodes c[M,N] = a[M,K] · b[K,N] in float32, with `a` as the graph input and `b` as a constant. */
export function matmulModel(m: number, k: number, n: number, b: Float32Array): Uint8Array {
  return encodeModel({
    name: 'matmul',
    nodes: [{ opType: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
    initializers: [{ name: 'b', dataType: OnnxDataType.FLOAT, dims: [k, n], data: b }],
    inputs: [{ name: 'a', elemType: OnnxDataType.FLOAT, shape: [m, k] }],
    outputs: [{ name: 'c', elemType: OnnxDataType.FLOAT, shape: [m, n] }],
  });
}

/**
 * Encodes c[M,N] = a[M,K] · b[K,N] with uint8 `a` (graph input), int8 `b` (constant),
 * zero points 0 and int32 output: the MatMulInteger of dynamically quantized models.
 */
export function matmulIntegerModel(m: number, k: number, n: number, b: Int8Array): Uint8Array {
  return encodeModel({
    name: 'matmul_integer',
    nodes: [{ opType: 'MatMulInteger', inputs: ['a', 'b'], outputs: ['c'] }],
    initializers: [{ name: 'b', dataType: OnnxDataType.INT8, dims: [k, n], data: b }],
    inputs: [{ name: 'a', elemType: OnnxDataType.UINT8, shape: [m, k] }],
    outputs: [{ name: 'c', elemType: OnnxDataType.INT32, shape: [m, n] }],
  });
}

/** One dense layer of a float MLP: weights [inputs, units] row-major and bias [units]. */
export interface FloatDenseLayer {
  inputs: number;
  units: number;
  weights: Float32Array;
  bias: Float32Array;
}

/**
 * Encodes a float MLP x[batch, inputs] -> scores[batch, classes]: MatMul, Add and Relu
 * per hidden layer, MatMul and Add for the score layer. The batch size is the
 * symbolic dimension 'batch'.
 */
export function floatMlpModel(layers: FloatDenseLayer[]): Uint8Array {
  const nodes: NodeSpec[] = [];
  const initializers: Initializer[] = [];
  let current = 'x';

  layers.forEach((layer, index) => {
    const last = index === layers.length - 1;
    const weights = `w${index}`;
    const bias = `b${index}`;
    initializers.push({ name: weights, dataType: OnnxDataType.FLOAT, dims: [layer.inputs, layer.units], data: layer.weights });
    initializers.push({ name: bias, dataType: OnnxDataType.FLOAT, dims: [layer.units], data: layer.bias });

    nodes.push({ opType: 'MatMul', inputs: [current, weights], outputs: [`z${index}`] });
    const biased = last ? 'scores' : `y${index}`;
    nodes.push({ opType: 'Add', inputs: [`z${index}`, bias], outputs: [biased] });
    if (!last) {
      nodes.push({ opType: 'Relu', inputs: [biased], outputs: [`h${index}`] });
      current = `h${index}`;
    }
  });

  return encodeModel({
    name: 'float_mlp',
    nodes,
    initializers,
    inputs: [{ name: 'x', elemType: OnnxDataType.FLOAT, shape: ['batch', layers[0].inputs] }],
    outputs: [{ name: 'scores', elemType: OnnxDataType.FLOAT, shape: ['batch', layers[layers.length - 1].units] }],
  });
}

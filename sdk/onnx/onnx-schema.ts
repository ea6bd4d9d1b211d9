/**
 * The subset of the ONNX protobuf schema (onnx.proto, IR version 8) that the
 * SDK reads and writes, declared with protobufjs reflection. Field numbers and
 * names follow onnx.proto, so files decode in any ONNX tool. Fields the SDK
 * never uses (sparse tensors, functions, training info) are left out, and
 * protobufjs skips them when decoding.
 */
import protobuf from 'protobufjs';

/** TensorProto.DataType values used by the SDK. */
export const TensorDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  DOUBLE: 11,
} as const;

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
} as const;

/** A decoded TensorProto, with int64 values as numbers. */
export interface OnnxTensor {
  name?: string;
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  rawData?: Uint8Array;
  dataLocation?: number;
}

export interface OnnxAttribute {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

export interface OnnxNode {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: OnnxAttribute[];
}

export interface OnnxDimension {
  dimValue?: number;
  dimParam?: string;
}

export interface OnnxValueInfo {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: OnnxDimension[] } } };
}

export interface OnnxGraph {
  node?: OnnxNode[];
  name?: string;
  initializer?: OnnxTensor[];
  input?: OnnxValueInfo[];
  output?: OnnxValueInfo[];
  valueInfo?: OnnxValueInfo[];
}

export interface OnnxOperatorSet {
  domain?: string;
  version?: number;
}

export interface OnnxModel {
  irVersion?: number;
  opsetImport?: OnnxOperatorSet[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph?: OnnxGraph;
}

/** Adds one field per [name, id, type, rule] entry to a new message type. */
function messageType(name: string, fields: [string, number, string, string?][]): protobuf.Type {
  const type = new protobuf.Type(name);
  for (const [fieldName, id, fieldType, rule] of fields) type.add(new protobuf.Field(fieldName, id, fieldType, rule));
  return type;
}

function buildRoot(): protobuf.Root {
  const tensor = messageType('TensorProto', [
    ['dims', 1, 'int64', 'repeated'],
    ['dataType', 2, 'int32'],
    ['floatData', 4, 'float', 'repeated'],
    ['int32Data', 5, 'int32', 'repeated'],
    ['stringData', 6, 'bytes', 'repeated'],
    ['int64Data', 7, 'int64', 'repeated'],
    ['name', 8, 'string'],
    ['rawData', 9, 'bytes'],
    ['doubleData', 10, 'double', 'repeated'],
    ['uint64Data', 11, 'uint64', 'repeated'],
    ['docString', 12, 'string'],
    ['dataLocation', 14, 'int32'],
  ]);

  const dimension = messageType('Dimension', [
    ['dimValue', 1, 'int64'],
    ['dimParam', 2, 'string'],
    ['denotation', 3, 'string'],
  ]);
  const shape = messageType('TensorShapeProto', [['dim', 1, 'Dimension', 'repeated']]);
  shape.add(dimension);

  const tensorType = messageType('Tensor', [
    ['elemType', 1, 'int32'],
    ['shape', 2, 'TensorShapeProto'],
  ]);
  const typeProto = messageType('TypeProto', [
    ['tensorType', 1, 'Tensor'],
    ['denotation', 6, 'string'],
  ]);
  typeProto.add(tensorType);

  const valueInfo = messageType('ValueInfoProto', [
    ['name', 1, 'string'],
    ['type', 2, 'TypeProto'],
    ['docString', 3, 'string'],
  ]);

  const attribute = messageType('AttributeProto', [
    ['name', 1, 'string'],
    ['f', 2, 'float'],
    ['i', 3, 'int64'],
    ['s', 4, 'bytes'],
    ['t', 5, 'TensorProto'],
    ['g', 6, 'GraphProto'],
    ['floats', 7, 'float', 'repeated'],
    ['ints', 8, 'int64', 'repeated'],
    ['strings', 9, 'bytes', 'repeated'],
    ['tensors', 10, 'TensorProto', 'repeated'],
    ['graphs', 11, 'GraphProto', 'repeated'],
    ['docString', 13, 'string'],
    ['type', 20, 'int32'],
    ['refAttrName', 21, 'string'],
  ]);

  const node = messageType('NodeProto', [
    ['input', 1, 'string', 'repeated'],
    ['output', 2, 'string', 'repeated'],
    ['name', 3, 'string'],
    ['opType', 4, 'string'],
    ['attribute', 5, 'AttributeProto', 'repeated'],
    ['docString', 6, 'string'],
    ['domain', 7, 'string'],
  ]);

  const graph = messageType('GraphProto', [
    ['node', 1, 'NodeProto', 'repeated'],
    ['name', 2, 'string'],
    ['initializer', 5, 'TensorProto', 'repeated'],
    ['docString', 10, 'string'],
    ['input', 11, 'ValueInfoProto', 'repeated'],
    ['output', 12, 'ValueInfoProto', 'repeated'],
    ['valueInfo', 13, 'ValueInfoProto', 'repeated'],
  ]);

  const operatorSet = messageType('OperatorSetIdProto', [
    ['domain', 1, 'string'],
    ['version', 2, 'int64'],
  ]);

  const model = messageType('ModelProto', [
    ['irVersion', 1, 'int64'],
    ['producerName', 2, 'string'],
    ['producerVersion', 3, 'string'],
    ['domain', 4, 'string'],
    ['modelVersion', 5, 'int64'],
    ['docString', 6, 'string'],
    ['graph', 7, 'GraphProto'],
    ['opsetImport', 8, 'OperatorSetIdProto', 'repeated'],
  ]);

  const onnx = new protobuf.Namespace('onnx');
  for (const type of [tensor, shape, typeProto, valueInfo, attribute, node, graph, operatorSet, model]) onnx.add(type);
  const root = new protobuf.Root();
  root.add(onnx);
  root.resolveAll();
  return root;
}

let modelType: protobuf.Type | null = null;

/** Returns the ModelProto message type, built once on first use. */
export function onnxModelType(): protobuf.Type {
  modelType ??= buildRoot().lookupType('onnx.ModelProto');
  return modelType;
}

/** Encodes a model as ONNX protobuf bytes. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const type = onnxModelType();
  return type.encode(type.fromObject(model as Record<string, unknown>)).finish();
}

/**
 * Decodes ONNX protobuf bytes into plain objects with int64 values as numbers
 * (values beyond 2^53 lose precision, and the importer rejects them as sizes).
 * Throws whatever protobufjs throws on malformed bytes, so callers wrap it.
 */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  const type = onnxModelType();
  const message = type.decode(bytes);
  return type.toObject(message, { longs: Number, defaults: false, arrays: false }) as OnnxModel;
}

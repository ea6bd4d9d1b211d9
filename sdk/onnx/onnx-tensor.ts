/**
 * Reading of untrusted TensorProto and AttributeProto values: sizes are
 * checked against dims before any data is touched, and every problem is a
 * FileFormatError that names the tensor or attribute.
 */
import { FileFormatError } from '../errors.js';
import { AttributeType, TensorDataType } from './onnx-schema.js';
import type { OnnxAttribute, OnnxNode, OnnxTensor } from './onnx-schema.js';

/** Largest element count of one tensor the importer accepts (1 GiB of float32). */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/** A constant tensor with its values widened to float64 (float32 values stay exact). */
export interface ConstTensor {
  dims: number[];
  data: Float64Array;
}

/** Returns the element count of `dims`, rejecting negative, non-integer and oversized dims. */
export function checkedElementCount(dims: readonly number[], what: string, source: string): number {
  let count = 1;
  for (const dim of dims) {
    if (!Number.isSafeInteger(dim) || dim < 0) throw new FileFormatError(`${what} has invalid dimension ${dim}; dims must be non-negative integers`, source);
    count *= dim;
    if (count > MAX_TENSOR_ELEMENTS) throw new FileFormatError(`${what} has more than ${MAX_TENSOR_ELEMENTS} elements (dims [${dims.join(', ')}]), more than the importer accepts`, source);
  }
  return count;
}

/** Decodes a float, double, int32 or int64 TensorProto, checking its data length against its dims. */
export function decodeTensor(tensor: OnnxTensor, source: string): ConstTensor {
  const what = `tensor '${tensor.name ?? ''}'`;
  const dims = tensor.dims ?? [];
  const count = checkedElementCount(dims, what, source);
  if (tensor.dataLocation === 1) throw new FileFormatError(`${what} stores its data in an external file, which the importer does not read; save the model with the data inside`, source);

  const type = tensor.dataType ?? 0;
  const raw = tensor.rawData;
  let width = 0;
  if (type === TensorDataType.FLOAT || type === TensorDataType.INT32) width = 4;
  else if (type === TensorDataType.DOUBLE || type === TensorDataType.INT64) width = 8;
  if (width === 0) throw new FileFormatError(`${what} has data type ${type}; the importer reads float (1), double (11), int32 (6) and int64 (7)`, source);

  if (raw !== undefined && raw.length > 0) {
    if (raw.length !== count * width) throw new FileFormatError(`${what} has ${raw.length} bytes of raw_data, expected ${count * width} for dims [${dims.join(', ')}]`, source);

    // Allocated only after the length check, so the dims of a small file cannot reserve memory beyond its data.
    const data = new Float64Array(count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < count; i++) {
      if (type === TensorDataType.FLOAT) data[i] = view.getFloat32(i * 4, true);
      else if (type === TensorDataType.INT32) data[i] = view.getInt32(i * 4, true);
      else if (type === TensorDataType.DOUBLE) data[i] = view.getFloat64(i * 8, true);
      else data[i] = Number(view.getBigInt64(i * 8, true));
    }
    return { dims: [...dims], data };
  }

  let values: ArrayLike<number | bigint | { toString(): string }> | null | undefined;
  if (type === TensorDataType.FLOAT) values = tensor.floatData;
  else if (type === TensorDataType.INT32) values = tensor.int32Data;
  else if (type === TensorDataType.DOUBLE) values = tensor.doubleData;
  else values = tensor.int64Data;
  const found = values?.length ?? 0;
  if (found !== count) throw new FileFormatError(`${what} has ${found} values, expected ${count} for dims [${dims.join(', ')}]`, source);
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = Number(values![i]);
  return { dims: [...dims], data };
}

/** Describes a node for error messages: its op type and name. */
export function describeNode(node: OnnxNode): string {
  return `${node.opType ?? '<no op type>'} node '${node.name ?? ''}'`;
}

function findAttribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute?.find((attribute) => attribute.name === name);
}

/** Reads an INT attribute, or `fallback` when it is absent. */
export function intAttribute(node: OnnxNode, name: string, fallback: number, source: string): number {
  const attribute = findAttribute(node, name);
  if (attribute === undefined) return fallback;
  if (attribute.type !== AttributeType.INT || !Number.isSafeInteger(attribute.i ?? 0)) {
    throw new FileFormatError(`${describeNode(node)}: attribute '${name}' must be an integer`, source);
  }
  return attribute.i ?? 0;
}

/** Reads a FLOAT attribute, or `fallback` when it is absent. */
export function floatAttribute(node: OnnxNode, name: string, fallback: number, source: string): number {
  const attribute = findAttribute(node, name);
  if (attribute === undefined) return fallback;
  if (attribute.type !== AttributeType.FLOAT) throw new FileFormatError(`${describeNode(node)}: attribute '${name}' must be a float`, source);
  return attribute.f ?? 0;
}

/** Reads an INTS attribute, or `fallback` when it is absent. */
export function intsAttribute(node: OnnxNode, name: string, fallback: number[] | null, source: string): number[] | null {
  const attribute = findAttribute(node, name);
  if (attribute === undefined) return fallback;
  const values = attribute.ints ?? [];
  if (attribute.type !== AttributeType.INTS || values.length > 16 || !values.every((value) => Number.isSafeInteger(value))) {
    throw new FileFormatError(`${describeNode(node)}: attribute '${name}' must be a short list of integers`, source);
  }
  return values;
}

/** Reads a STRING attribute, or `fallback` when it is absent. */
export function stringAttribute(node: OnnxNode, name: string, fallback: string, source: string): string {
  const attribute = findAttribute(node, name);
  if (attribute === undefined) return fallback;
  if (attribute.type !== AttributeType.STRING) throw new FileFormatError(`${describeNode(node)}: attribute '${name}' must be a string`, source);
  return new TextDecoder().decode(attribute.s ?? new Uint8Array(0));
}

/** Returns the TENSOR attribute `name` of a node (the value of a Constant node), or undefined. */
export function tensorAttribute(node: OnnxNode, name: string): OnnxTensor | undefined {
  const attribute = findAttribute(node, name);
  return attribute?.type === AttributeType.TENSOR ? attribute.t : undefined;
}

import type { OnnxAttribute, OnnxNode, OnnxTensor, OnnxValueInfo } from './onnx-schema.js';
import { AttributeType, TensorDataType } from './onnx-schema.js';

/** Attribute values the exporter writes: integers, floats, strings and integer lists. */
export type AttributeValue = number | string | number[] | { float: number };

/**
 * Accumulates the nodes and initializers of one ONNX graph with unique tensor
 * names. Tensors are written as little-endian raw_data, which every ONNX
 * reader accepts.
 */
export class OnnxGraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private counter = 0;

  /** Returns a tensor name not used before, with `stem` kept readable. */
  name(stem: string): string {
    this.counter++;
    return `${stem}_${this.counter}`;
  }

  /** Adds a float32 initializer with the given dims and returns its name. */
  floatTensor(stem: string, dims: number[], values: ArrayLike<number>): string {
    const data = Float32Array.from(values);
    const name = this.name(stem);
    this.initializers.push({ name, dims, dataType: TensorDataType.FLOAT, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** Adds an int64 initializer (shapes, pads) and returns its name. */
  int64Tensor(stem: string, values: number[]): string {
    const data = BigInt64Array.from(values, (value) => BigInt(value));
    const name = this.name(stem);
    this.initializers.push({ name, dims: [values.length], dataType: TensorDataType.INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** Adds a float32 scalar initializer (dims []) and returns its name. */
  scalar(stem: string, value: number): string {
    return this.floatTensor(stem, [], [value]);
  }

  /** Adds a node and returns the name of its (first) output. */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, domain = ''): string {
    const output = this.name(opType.toLowerCase());
    const attribute = Object.entries(attributes).map(([name, value]) => encodeAttribute(name, value));
    this.nodes.push({ name: `${output}_node`, opType, domain, input: inputs, output: [output], attribute });
    return output;
  }
}

function encodeAttribute(name: string, value: AttributeValue): OnnxAttribute {
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if (typeof value === 'object') return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.INT, i: value };
}

/** Value info of a float32 tensor whose first axis is the batch, named symbolically "N". */
export function floatValueInfo(name: string, sampleShape: number[]): OnnxValueInfo {
  const dim = [{ dimParam: 'N' }, ...sampleShape.map((size) => ({ dimValue: size }))];
  return { name, type: { tensorType: { elemType: TensorDataType.FLOAT, shape: { dim } } } };
}

// Minimal protocol buffers encoder: just the wire types that ONNX ModelProto
// needs (varint for int32/int64/enum, length-delimited for string, bytes and
// nested messages). Fields are written in the order they are added.

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;

/** Builder of one protobuf message. Nested messages are added with `message`. */
export class ProtobufWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  /** Appends a varint field (int32, int64, enum). Values must be non-negative safe integers. */
  varint(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  /** Appends a string field, UTF-8 encoded. */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** Appends a bytes field. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.rawVarint(value.length);
    this.push(value);
    return this;
  }

  /** Appends a nested message field. */
  message(field: number, value: ProtobufWriter): this {
    return this.bytes(field, value.finish());
  }

  /** Returns the encoded message. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  private rawVarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`protobuf varint ${value} is invalid, expected a non-negative safe integer`);
    }
    const bytes: number[] = [];
    let rest = value;
    while (rest >= 0x80) {
      bytes.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    bytes.push(rest);
    this.push(Uint8Array.from(bytes));
  }

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }
}

/**
 * Builds the bytes of a WGSL uniform struct whose members are all 4-byte
 * scalars (u32, i32, f32), written in declaration order. Such a struct has no
 * padding between members; its size is rounded up to 16 bytes, the alignment
 * WebGPU requires of uniform buffers.
 */
export class UniformWriter {
  private readonly view: DataView;
  private offset = 0;

  constructor(members: number) {
    this.view = new DataView(new ArrayBuffer(Math.max(16, Math.ceil((members * 4) / 16) * 16)));
  }

  u32(value: number): this {
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
    return this;
  }

  i32(value: number): this {
    this.view.setInt32(this.offset, value, true);
    this.offset += 4;
    return this;
  }

  f32(value: number): this {
    this.view.setFloat32(this.offset, value, true);
    this.offset += 4;
    return this;
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.view.buffer);
  }
}

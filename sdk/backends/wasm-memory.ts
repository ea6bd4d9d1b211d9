import { QnnError } from '../errors.js';

const PAGE_BYTES = 65536;
/** Regions start on 16-byte boundaries, the width of a v128, so a v128 access at the start of a region is aligned. */
const REGION_ALIGN = 16;
/** A 32-bit WebAssembly memory addresses at most 65536 pages (4 GiB). */
const MAX_PAGES = 65536;

/** A typed array that can be copied into or out of WASM memory byte for byte. */
export type KernelArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array | Int8Array;

function alignUp(offset: number): number {
  return Math.ceil(offset / REGION_ALIGN) * REGION_ALIGN;
}

/**
 * Operand regions of one kernel call in the memory of a WASM module, placed
 * one after another from the module's heap base. Each call reuses the space
 * of the previous one, so a region is valid only until the next `reserve`.
 * Memory grows on demand and never shrinks.
 */
export class WasmHeap {
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly base: number,
  ) {}

  /**
   * Returns the byte offset of a region of each given byte length, growing
   * the memory so all of them fit. `kernel` names the caller in errors.
   */
  reserve(kernel: string, byteLengths: readonly number[]): number[] {
    const offsets: number[] = [];
    let end = alignUp(this.base);
    for (const length of byteLengths) {
      offsets.push(end);
      end = alignUp(end + length);
    }

    this.ensureBytes(kernel, end);
    return offsets;
  }

  /** Copies `array` into WASM memory at byte `offset`. */
  write(offset: number, array: KernelArray): void {
    const source = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    new Uint8Array(this.memory.buffer, offset, array.byteLength).set(source);
  }

  /** Returns a copy of `length` floats at byte `offset`. */
  readFloat32(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length).slice();
  }

  /** Returns a copy of `length` signed 32-bit integers at byte `offset`. */
  readInt32(offset: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, offset, length).slice();
  }

  /** Returns a copy of `length` unsigned 32-bit words at byte `offset`. */
  readUint32(offset: number, length: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, offset, length).slice();
  }

  /** Returns a copy of `length` float64 values at byte `offset`, which must be a multiple of 8. */
  readFloat64(offset: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, offset, length).slice();
  }

  /** Returns a copy of `length` bytes at byte `offset`. */
  readUint8(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length).slice();
  }

  private ensureBytes(kernel: string, bytes: number): void {
    const current = this.memory.buffer.byteLength;
    if (bytes <= current) return;

    const pages = Math.ceil(bytes / PAGE_BYTES);
    if (pages > MAX_PAGES) {
      throw new QnnError(
        `${kernel}: the operands need ${bytes} bytes of WASM memory, more than the 4 GiB a 32-bit ` +
          'WebAssembly memory can address. Split the call into smaller batches',
      );
    }

    try {
      this.memory.grow(pages - current / PAGE_BYTES);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new QnnError(
        `${kernel}: growing WASM memory from ${current} to ${pages * PAGE_BYTES} bytes failed (${reason}). ` +
          'Split the call into smaller batches',
      );
    }
  }
}

/**
 * Reuses storage buffers by size and usage, so a training step that needs the
 * same temporaries every time allocates them once. A released buffer goes back
 * to the free list only at `recycle()`, which the context calls right after a
 * submit: later writes to it are queue operations, ordered after the commands
 * that still read it.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly released: { key: string; buffer: GPUBuffer }[] = [];
  private liveBytes = 0;

  constructor(private readonly device: GPUDevice) {}

  /** Returns a buffer of at least `bytes` bytes (rounded up to a multiple of 256) with the given usage flags. */
  acquire(bytes: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer {
    const size = Math.max(256, Math.ceil(bytes / 256) * 256);
    const key = `${size}:${usage}`;
    const reused = this.free.get(key)?.pop();
    if (reused !== undefined) return reused;

    this.liveBytes += size;
    return this.device.createBuffer({ size, usage, ...(label === undefined ? {} : { label }) });
  }

  /** Hands `buffer` back; it becomes reusable after the next submit. */
  release(buffer: GPUBuffer): void {
    this.released.push({ key: `${buffer.size}:${buffer.usage}`, buffer });
  }

  /** Moves the buffers released before the last submit onto the free lists. */
  recycle(): void {
    for (const { key, buffer } of this.released.splice(0)) {
      let list = this.free.get(key);
      if (list === undefined) this.free.set(key, (list = []));
      list.push(buffer);
    }
  }

  /** Bytes held by buffers this pool created, in use or free. */
  get bytes(): number {
    return this.liveBytes;
  }

  /** Destroys the free buffers; buffers still in use stay valid. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buffer of list) {
        this.liveBytes -= buffer.size;
        buffer.destroy();
      }
    }
    this.free.clear();
  }
}

import { ShapeError } from '../errors.js';

export type DType = 'float32' | 'int32';
export type TensorData = Float32Array | Int32Array;

/** Propagates this tensor's gradient into the gradients of its parents. */
export type BackwardFn = (grad: Float32Array) => void;

/** Number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * A dense row-major tensor with reverse-mode autograd. Ops create their output
 * with `Tensor.fromOp`, passing a closure that accumulates the output's gradient
 * into the parents; `backward()` runs those closures in reverse topological order.
 * Gradients are always float32, also for int32 tensors that never need one.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly data: TensorData;
  requiresGrad: boolean;
  grad: Float32Array | null = null;
  private parents: readonly Tensor[] = [];
  private backwardFn: BackwardFn | null = null;

  constructor(data: TensorData, shape: readonly number[], requiresGrad = false) {
    if (data.length !== shapeSize(shape)) {
      throw new ShapeError(`tensor data has ${data.length} elements but shape ${formatShape(shape)} needs ${shapeSize(shape)}`);
    }
    for (const dim of shape) {
      if (!Number.isInteger(dim) || dim < 0) throw new ShapeError(`invalid dimension ${dim} in shape ${formatShape(shape)}`);
    }
    this.data = data;
    this.shape = [...shape];
    this.requiresGrad = requiresGrad;
  }

  get dtype(): DType {
    return this.data instanceof Int32Array ? 'int32' : 'float32';
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /**
   * Creates an op's output. The backward closure is kept only when some parent
   * needs a gradient, so inference builds no graph.
   */
  static fromOp(data: TensorData, shape: readonly number[], parents: readonly Tensor[], backwardFn: BackwardFn): Tensor {
    const out = new Tensor(data, shape);
    if (parents.some((p) => p.requiresGrad)) {
      out.requiresGrad = true;
      out.parents = parents;
      out.backwardFn = backwardFn;
    }
    return out;
  }

  static zeros(shape: readonly number[], requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)), shape, requiresGrad);
  }

  static scalar(value: number): Tensor {
    return new Tensor(Float32Array.of(value), []);
  }

  /** Adds `delta` into this tensor's gradient, allocating it on first use. */
  accumulateGrad(delta: Float32Array): void {
    if (!this.requiresGrad) return;
    if (this.grad === null) {
      this.grad = new Float32Array(delta);
      return;
    }
    const grad = this.grad;
    for (let i = 0; i < grad.length; i++) grad[i] += delta[i];
  }

  /**
   * Like accumulateGrad, but takes ownership of `delta` when no gradient exists
   * yet, saving a copy. Only for arrays that the caller created and never reuses.
   */
  accumulateOwnedGrad(delta: Float32Array): void {
    if (!this.requiresGrad) return;
    if (this.grad === null) this.grad = delta;
    else this.accumulateGrad(delta);
  }

  /** Returns the gradient array, creating it as zeros on first use, for ops that accumulate into it in place. */
  gradBuffer(): Float32Array {
    this.grad ??= new Float32Array(this.size);
    return this.grad;
  }

  /** Backpropagates from this tensor, which must be a scalar unless `seed` is given. */
  backward(seed?: Float32Array): void {
    if (seed === undefined && this.size !== 1) {
      throw new ShapeError(`backward() without a seed gradient needs a scalar, got shape ${formatShape(this.shape)}`);
    }
    this.accumulateGrad(seed ?? Float32Array.of(1));

    const order = Tensor.topologicalOrder(this);
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i];
      if (node.backwardFn !== null && node.grad !== null) node.backwardFn(node.grad);
    }
  }

  /** Returns a tensor on the same data without autograd history. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  private static topologicalOrder(root: Tensor): Tensor[] {
    const order: Tensor[] = [];
    const visited = new Set<Tensor>();
    const stack: Array<{ node: Tensor; expanded: boolean }> = [{ node: root, expanded: false }];

    // Iterative depth-first search, so deep graphs cannot overflow the call stack.
    while (stack.length > 0) {
      const entry = stack.pop()!;
      if (entry.expanded) {
        order.push(entry.node);
        continue;
      }
      if (visited.has(entry.node)) continue;
      visited.add(entry.node);
      stack.push({ node: entry.node, expanded: true });
      for (const parent of entry.node.parents) {
        if (parent.requiresGrad && !visited.has(parent)) stack.push({ node: parent, expanded: false });
      }
    }
    return order;
  }
}

import { getBackend } from '../backends/active-backend.js';
import { ShapeError } from '../errors.js';
import { Tensor, formatShape } from '../tensor/tensor.js';

/** c[M,N] = a[M,K] · b[K,N] on the active backend; dA = dC · bᵀ and dB = aᵀ · dC. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0]) {
    throw new ShapeError(`matmul needs [M,K] x [K,N], got ${formatShape(a.shape)} x ${formatShape(b.shape)}`);
  }
  const [m, k] = a.shape;
  const n = b.shape[1];
  const backend = getBackend();
  const out = backend.matmul(toFloat32(a), toFloat32(b), m, k, n, false, false);

  return Tensor.fromOp(out, [m, n], [a, b], (grad) => {
    // Backends return fresh arrays, so the gradients can adopt them without a copy.
    if (a.requiresGrad) a.accumulateOwnedGrad(backend.matmul(grad, toFloat32(b), m, n, k, false, true));
    if (b.requiresGrad) b.accumulateOwnedGrad(backend.matmul(toFloat32(a), grad, k, m, n, true, false));
  });
}

function toFloat32(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
}

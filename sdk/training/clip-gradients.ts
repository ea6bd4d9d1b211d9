import type { Parameter } from '../layers/layer.js';

/** Euclidean norm of all parameters' gradients taken together, in float64. */
export function globalGradientNorm(parameters: readonly Parameter[]): number {
  let sum = 0;
  for (const p of parameters) {
    const grad = p.value.grad;
    if (grad === null) continue;
    for (let i = 0; i < grad.length; i++) sum += grad[i] * grad[i];
  }
  return Math.sqrt(sum);
}

/**
 * Clipping by global norm (Pascanu et al., arXiv 1211.5063): when the joint
 * norm exceeds maxNorm, every gradient is scaled by maxNorm / norm, so the
 * direction is kept and only the step shrinks. Returns the norm before clipping.
 * maxNorm of 0 or Infinity leaves the gradients alone.
 */
export function clipGradientsByGlobalNorm(parameters: readonly Parameter[], maxNorm: number): number {
  const norm = globalGradientNorm(parameters);
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm) || norm <= maxNorm) return norm;

  const factor = maxNorm / norm;
  for (const p of parameters) {
    const grad = p.value.grad;
    if (grad === null) continue;
    for (let i = 0; i < grad.length; i++) grad[i] *= factor;
  }
  return norm;
}

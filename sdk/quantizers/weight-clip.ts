/**
 * Weight clip constraint: keeps latent weights in [-clip, clip] after every
 * optimizer step, since beyond the clip the straight-through gradient is zero
 * and a latent weight could grow without ever flipping its sign back.
 */
export function clipWeights(weights: Float32Array, clip = 1): void {
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    if (w > clip) weights[i] = clip;
    else if (w < -clip) weights[i] = -clip;
  }
}

/**
 * Batch normalization of the training graph over the last axis of x[samples, features]:
 *
 *   forward:  mean, variance (biased, two passes), inverseStd = 1 / sqrt(variance + epsilon),
 *             normalized = (x - mean) * inverseStd, out = gamma * normalized + beta
 *   backward: gradSum = sum(g), gradDot = sum(g * normalized),
 *             dx = gamma * inverseStd / B * (B * g - gradSum - normalized * gradDot)
 *
 * Sums and per-feature factors are f64 and every float32 result is rounded
 * once from the f64 expression, in the same order as the TypeScript
 * reference, so both give the same bits. Per-feature arrays (mean, variance,
 * inverseStd, gradSum, gradDot) are f64; gamma and beta are f32.
 */

export function batchNormForward(
  x: usize,
  samples: i32,
  features: i32,
  epsilon: f64,
  gamma: usize,
  beta: usize,
  mean: usize,
  variance: usize,
  inverseStd: usize,
  normalized: usize,
  out: usize,
): void {
  memory.fill(mean, 0, <usize>features << 3);
  memory.fill(variance, 0, <usize>features << 3);

  for (let b = 0; b < samples; b++) {
    const row = x + ((<usize>b * <usize>features) << 2);
    for (let f = 0; f < features; f++) {
      const slot = mean + (<usize>f << 3);
      store<f64>(slot, load<f64>(slot) + <f64>load<f32>(row + (<usize>f << 2)));
    }
  }
  for (let f = 0; f < features; f++) {
    const slot = mean + (<usize>f << 3);
    store<f64>(slot, load<f64>(slot) / <f64>samples);
  }

  for (let b = 0; b < samples; b++) {
    const row = x + ((<usize>b * <usize>features) << 2);
    for (let f = 0; f < features; f++) {
      const d = <f64>load<f32>(row + (<usize>f << 2)) - load<f64>(mean + (<usize>f << 3));
      const slot = variance + (<usize>f << 3);
      store<f64>(slot, load<f64>(slot) + d * d);
    }
  }
  for (let f = 0; f < features; f++) {
    const slot = variance + (<usize>f << 3);
    const value = load<f64>(slot) / <f64>samples;
    store<f64>(slot, value);
    store<f64>(inverseStd + (<usize>f << 3), 1 / Math.sqrt(value + epsilon));
  }

  for (let b = 0; b < samples; b++) {
    const offset = (<usize>b * <usize>features) << 2;
    for (let f = 0; f < features; f++) {
      const i = offset + (<usize>f << 2);
      const xhat = <f32>((<f64>load<f32>(x + i) - load<f64>(mean + (<usize>f << 3))) * load<f64>(inverseStd + (<usize>f << 3)));
      store<f32>(normalized + i, xhat);
      store<f32>(out + i, <f32>(<f64>load<f32>(gamma + (<usize>f << 2)) * <f64>xhat + <f64>load<f32>(beta + (<usize>f << 2))));
    }
  }
}

/** Fills gradSum and gradDot (f64 per feature) and, when dx is not 0, the input gradient dx. */
export function batchNormBackward(
  grad: usize,
  normalized: usize,
  samples: i32,
  features: i32,
  gamma: usize,
  inverseStd: usize,
  gradSum: usize,
  gradDot: usize,
  dx: usize,
): void {
  memory.fill(gradSum, 0, <usize>features << 3);
  memory.fill(gradDot, 0, <usize>features << 3);

  for (let b = 0; b < samples; b++) {
    const offset = (<usize>b * <usize>features) << 2;
    for (let f = 0; f < features; f++) {
      const i = offset + (<usize>f << 2);
      const g = <f64>load<f32>(grad + i);
      const sumSlot = gradSum + (<usize>f << 3);
      const dotSlot = gradDot + (<usize>f << 3);
      store<f64>(sumSlot, load<f64>(sumSlot) + g);
      store<f64>(dotSlot, load<f64>(dotSlot) + g * <f64>load<f32>(normalized + i));
    }
  }
  if (dx == 0) return;

  const count = <f64>samples;
  for (let b = 0; b < samples; b++) {
    const offset = (<usize>b * <usize>features) << 2;
    for (let f = 0; f < features; f++) {
      const i = offset + (<usize>f << 2);
      const factor = (<f64>load<f32>(gamma + (<usize>f << 2)) * load<f64>(inverseStd + (<usize>f << 3))) / count;
      const value =
        factor *
        (count * <f64>load<f32>(grad + i) - load<f64>(gradSum + (<usize>f << 3)) - <f64>load<f32>(normalized + i) * load<f64>(gradDot + (<usize>f << 3)));
      store<f32>(dx + i, <f32>value);
    }
  }
}

/**
 * WGSL for batch normalization in training mode over x f32 [batch, features],
 * one invocation per feature f, with batch statistics:
 *   forward:  mean_f = sum_b x / B, var_f = sum_b (x - mean_f)^2 / B,
 *             invstd_f = 1 / sqrt(var_f + eps), xhat = (x - mean_f) * invstd_f,
 *             out = gamma_f * xhat + beta_f;
 *             stats [3, features] keeps mean, var and invstd for the backward pass
 *             and the running-statistics update
 *   backward: dgamma_f = sum_b g * xhat, dbeta_f = sum_b g,
 *             dx = gamma_f * invstd_f / B * (B * g - dbeta_f - xhat * dgamma_f)
 *   running:  running_mean = momentum * running_mean + (1 - momentum) * mean_f,
 *             running_var = momentum * running_var + (1 - momentum) * var_f * B / (B - 1),
 *             skipped once status[0] (the non-finite flag of the training step) is set
 *
 * The CPU layer sums in float64; these kernels sum in float32 in increasing b.
 */
export const FLOAT_BATCH_NORM_WORKGROUP_SIZE = 64;

const FEATURE_INDEX = /* wgsl */ `
  let f = (workgroup_id.y * workgroup_count.x + workgroup_id.x) * ${FLOAT_BATCH_NORM_WORKGROUP_SIZE}u + local_index;
  if (f >= params.features) {
    return;
  }`;

const ENTRY = /* wgsl */ `
@compute @workgroup_size(${FLOAT_BATCH_NORM_WORKGROUP_SIZE})
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) workgroup_count: vec3<u32>,
  @builtin(local_invocation_index) local_index: u32,
)`;

export const FLOAT_BATCH_NORM_FORWARD_WGSL = /* wgsl */ `
// Batch norm forward with batch statistics: out = gamma * (x - mean) / sqrt(var + eps) + beta.
struct Params {
  batch: u32,
  features: u32,
  epsilon: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> normalized: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;

${ENTRY} {
${FEATURE_INDEX}
  let features = params.features;
  let batch = f32(params.batch);

  var sum = 0.0;
  for (var b = 0u; b < params.batch; b++) {
    sum += x[b * features + f];
  }
  let mean = sum / batch;

  // Two passes, as the CPU layer does, so a large mean does not cancel the variance away.
  var squares = 0.0;
  for (var b = 0u; b < params.batch; b++) {
    let d = x[b * features + f] - mean;
    squares += d * d;
  }
  let variance = squares / batch;
  let inverse_std = 1.0 / sqrt(variance + params.epsilon);

  for (var b = 0u; b < params.batch; b++) {
    let i = b * features + f;
    let xhat = (x[i] - mean) * inverse_std;
    normalized[i] = xhat;
    out[i] = gamma[f] * xhat + beta[f];
  }

  stats[f] = mean;
  stats[features + f] = variance;
  stats[2u * features + f] = inverse_std;
}
`;

export const FLOAT_BATCH_NORM_BACKWARD_WGSL = /* wgsl */ `
// Batch norm backward: dgamma = sum(g * xhat), dbeta = sum(g), dx = gamma * invstd / B * (B * g - dbeta - xhat * dgamma).
struct Params {
  batch: u32,
  features: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> normalized: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad_input: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad_gamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> grad_beta: array<f32>;

${ENTRY} {
${FEATURE_INDEX}
  let features = params.features;
  let batch = f32(params.batch);

  var grad_sum = 0.0;
  var grad_dot_normalized = 0.0;
  for (var b = 0u; b < params.batch; b++) {
    let i = b * features + f;
    grad_sum += grad[i];
    grad_dot_normalized += grad[i] * normalized[i];
  }

  let factor = gamma[f] * stats[2u * features + f] / batch;
  for (var b = 0u; b < params.batch; b++) {
    let i = b * features + f;
    grad_input[i] = factor * (batch * grad[i] - grad_sum - normalized[i] * grad_dot_normalized);
  }

  grad_gamma[f] = grad_dot_normalized;
  grad_beta[f] = grad_sum;
}
`;

export const FLOAT_BATCH_NORM_RUNNING_WGSL = /* wgsl */ `
// running = momentum * running + (1 - momentum) * batch statistic, the variance unbiased; skipped after a non-finite step.
struct Params {
  features: u32,
  momentum: f32,
  // 1 - momentum, rounded once from the float64 value as the CPU layer computes it.
  one_minus_momentum: f32,
  // B / (B - 1), or 1 for a batch of one.
  variance_correction: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read> status: array<u32>;
@group(0) @binding(3) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_variance: array<f32>;

${ENTRY} {
${FEATURE_INDEX}
  if (status[0] != 0u) {
    return;
  }

  let features = params.features;
  running_mean[f] = params.momentum * running_mean[f] + params.one_minus_momentum * stats[f];
  running_variance[f] = params.momentum * running_variance[f] + params.one_minus_momentum * stats[features + f] * params.variance_correction;
}
`;

import { IS_FINITE_WGSL, STATUS_STRUCT_WGSL } from './float-loss-wgsl.js';

/**
 * WGSL for the Adam step on latent weights (Kingma and Ba, arXiv 1412.6980),
 * one invocation per element, in two kernels.
 *
 * Gradient check: any non-finite grad[i] sets status.non_finite and lowers
 * status.first_bad to the parameter's code with atomicMin.
 *
 * Update, skipped entirely once status.non_finite is set, so a bad step
 * leaves weights and moments as they were:
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g^2
 *   w -= rate * m / (sqrt(v / correction2) + epsilon)
 *   w = clamp(w, -clip, clip) when the parameter has a clip
 * with rate = learning rate * the parameter's learning-rate scale / (1 - beta1^t)
 * and correction2 = 1 - beta2^t, both computed on the host in float64.
 */
export const FLOAT_ADAM_WORKGROUP_SIZE = 64;

const ELEMENT_INDEX = /* wgsl */ `
  let i = (workgroup_id.y * workgroup_count.x + workgroup_id.x) * ${FLOAT_ADAM_WORKGROUP_SIZE}u + local_index;
  if (i >= params.count) {
    return;
  }`;

const ENTRY = /* wgsl */ `
@compute @workgroup_size(${FLOAT_ADAM_WORKGROUP_SIZE})
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) workgroup_count: vec3<u32>,
  @builtin(local_invocation_index) local_index: u32,
)`;

export const FLOAT_GRADIENT_CHECK_WGSL = /* wgsl */ `
// Raises the status flag when any element of grad is infinite or NaN.
${STATUS_STRUCT_WGSL}

struct Params {
  count: u32,
  bad_code: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> status: Status;
${IS_FINITE_WGSL}

${ENTRY} {
${ELEMENT_INDEX}

  if (!is_finite(grad[i])) {
    atomicMax(&status.non_finite, 1u);
    atomicMin(&status.first_bad, params.bad_code);
  }
}
`;

export const FLOAT_ADAM_WGSL = /* wgsl */ `
// Adam step with bias correction, learning-rate scale and latent-weight clip; skipped after a non-finite step.
struct Params {
  count: u32,
  rate: f32,
  correction2: f32,
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  epsilon: f32,
  clip: f32,
  has_clip: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> status: array<u32>;
@group(0) @binding(3) var<storage, read_write> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;

${ENTRY} {
${ELEMENT_INDEX}
  if (status[0] != 0u) {
    return;
  }

  let g = grad[i];
  let m_next = params.beta1 * m[i] + params.one_minus_beta1 * g;
  let v_next = params.beta2 * v[i] + params.one_minus_beta2 * g * g;
  m[i] = m_next;
  v[i] = v_next;

  var w = weights[i] - params.rate * m_next / (sqrt(v_next / params.correction2) + params.epsilon);
  if (params.has_clip != 0u) {
    w = clamp(w, -params.clip, params.clip);
  }
  weights[i] = w;
}
`;

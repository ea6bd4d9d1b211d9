/**
 * WGSL for the training losses over scores f32 [batch, classes] and class
 * labels u32 [batch], in two kernels.
 *
 * Per row (one invocation per sample), writing grad f32 [batch, classes] and
 * row_results u32 [batch, 2] = (bits of the row loss, 1 if argmax == label):
 *   softmax_cross_entropy: row loss = logsumexp(y) - y[label],
 *                          grad = (softmax(y) - onehot(label)) / batch
 *   squared_hinge:         row loss = sum_c max(0, 1 - t_c * y_c)^2 with t = +1 for
 *                          the label and -1 elsewhere,
 *                          grad = -2 t max(0, 1 - t y) / (batch * classes)
 * argmax takes the first index among equal scores, as sdk/training/metrics.ts does.
 * A row with a non-finite score gets a NaN loss even where logsumexp would
 * stay finite (a -inf score), because WGSL's max() need not propagate NaN and
 * the flag must not depend on it.
 *
 * Per batch (one invocation): loss = sum of row losses / divisor (batch for
 * cross-entropy, batch * classes for the hinge). A finite loss goes into
 * records u32 [batches, 2] = (bits of the loss, correct count) at the batch
 * index. A non-finite one sets status.non_finite and lowers status.first_bad
 * to this step's code with atomicMin, so the earliest bad step is kept.
 */
export type LossKernelName = 'softmax_cross_entropy' | 'squared_hinge';

/** WGSL that tests a float32 for infinity or NaN on its bits, which fast-math compilers cannot fold away. */
export const IS_FINITE_WGSL = /* wgsl */ `
fn is_finite(value: f32) -> bool {
  return (bitcast<u32>(value) & 0x7f800000u) != 0x7f800000u;
}`;

/** The training status that every step kernel shares: the non-finite flag and the code of the first bad step. */
export const STATUS_STRUCT_WGSL = /* wgsl */ `
struct Status {
  non_finite: atomic<u32>,
  first_bad: atomic<u32>,
}`;

export const FLOAT_LOSS_ROW_WORKGROUP_SIZE = 64;

const ROW_BODIES: Record<LossKernelName, string> = {
  softmax_cross_entropy: /* wgsl */ `
  var max_score = scores[base];
  for (var c = 1u; c < classes; c++) {
    max_score = max(max_score, scores[base + c]);
  }
  var total = 0.0;
  for (var c = 0u; c < classes; c++) {
    total += exp(scores[base + c] - max_score);
  }
  let log_total = log(total) + max_score;

  for (var c = 0u; c < classes; c++) {
    let probability = exp(scores[base + c] - log_total);
    grad[base + c] = (probability - select(0.0, 1.0, c == label)) / f32(params.batch);
  }
  let row_loss = log_total - scores[base + label];`,
  squared_hinge: /* wgsl */ `
  let count = f32(params.batch * classes);
  var row_loss = 0.0;
  for (var c = 0u; c < classes; c++) {
    let t = select(-1.0, 1.0, c == label);
    let margin = max(0.0, 1.0 - t * scores[base + c]);
    row_loss += margin * margin;
    grad[base + c] = -2.0 * t * margin / count;
  }`,
};

/** Builds the per-row kernel of one loss. */
export function floatLossRowWgsl(loss: LossKernelName): string {
  return /* wgsl */ `
// ${loss}: row loss, gradient and correctness of each sample.
struct Params {
  batch: u32,
  classes: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> row_results: array<u32>;

const NAN_BITS: u32 = 0x7fc00000u;
${IS_FINITE_WGSL}

@compute @workgroup_size(${FLOAT_LOSS_ROW_WORKGROUP_SIZE})
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) workgroup_count: vec3<u32>,
  @builtin(local_invocation_index) local_index: u32,
) {
  let row = (workgroup_id.y * workgroup_count.x + workgroup_id.x) * ${FLOAT_LOSS_ROW_WORKGROUP_SIZE}u + local_index;
  if (row >= params.batch) {
    return;
  }
  let classes = params.classes;
  let base = row * classes;
  let label = labels[row];

  var best = 0u;
  var scores_finite = is_finite(scores[base]);
  for (var c = 1u; c < classes; c++) {
    if (scores[base + c] > scores[base + best]) {
      best = c;
    }
    scores_finite = scores_finite && is_finite(scores[base + c]);
  }
${ROW_BODIES[loss]}

  row_results[2u * row] = select(NAN_BITS, bitcast<u32>(row_loss), scores_finite);
  row_results[2u * row + 1u] = select(0u, 1u, best == label);
}
`;
}

export const FLOAT_LOSS_BATCH_WGSL = /* wgsl */ `
// loss = sum of row losses / divisor; a finite loss is recorded, a non-finite one raises the status flag.
${STATUS_STRUCT_WGSL}

struct Params {
  batch: u32,
  divisor: f32,
  record_index: u32,
  // The code atomicMin keeps in status.first_bad: batch index * (parameters + 1), slot 0 for the loss.
  bad_code: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> row_results: array<u32>;
@group(0) @binding(2) var<storage, read_write> status: Status;
@group(0) @binding(3) var<storage, read_write> records: array<u32>;
${IS_FINITE_WGSL}

@compute @workgroup_size(1)
fn main() {
  var total = 0.0;
  var correct = 0u;
  for (var row = 0u; row < params.batch; row++) {
    total += bitcast<f32>(row_results[2u * row]);
    correct += row_results[2u * row + 1u];
  }
  let loss = total / params.divisor;

  if (!is_finite(loss)) {
    atomicMax(&status.non_finite, 1u);
    atomicMin(&status.first_bad, params.bad_code);
  }

  records[2u * params.record_index] = bitcast<u32>(loss);
  records[2u * params.record_index + 1u] = correct;
}
`;

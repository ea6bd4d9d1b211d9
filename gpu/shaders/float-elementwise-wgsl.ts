/**
 * WGSL for the element-wise float32 ops of training, one invocation per
 * element of out [count] (a flat index over a 2-D grid of workgroups):
 *   sign:              out[i] = +1 if x[i] >= 0 (also -0.0), else -1
 *   straight_through:  out[i] = y[i] if |x[i]| <= 1 (inclusive), else 0,
 *                      the straight-through gradient of sign at x for upstream gradient y
 *   multiply:          out[i] = x[i] * y[i], the dropout mask in both directions
 *   add_bias:          out[i] = x[i] + y[i mod columns], a bias over the rows of x [rows, columns]
 */
export const FLOAT_ELEMENTWISE_WORKGROUP_SIZE = 64;

export type FloatElementwiseOp = 'sign' | 'straight_through' | 'multiply' | 'add_bias';

const EXPRESSIONS: Record<FloatElementwiseOp, string> = {
  // -0.0 < 0.0 is false in IEEE comparison, so sign(-0.0) = +1 as the numeric conventions require.
  sign: 'select(1.0, -1.0, x[i] < 0.0)',
  // A NaN x fails the comparison and passes no gradient, like the CPU straight-through estimator.
  straight_through: 'select(0.0, y[i], abs(x[i]) <= 1.0)',
  multiply: 'x[i] * y[i]',
  add_bias: 'x[i] + y[i % params.columns]',
};

/** Builds the WGSL of one op; `sign` binds no second operand, because layout 'auto' drops unused bindings. */
export function floatElementwiseWgsl(op: FloatElementwiseOp): string {
  const hasSecondOperand = op !== 'sign';
  const output = hasSecondOperand ? 3 : 2;
  return /* wgsl */ `
// ${op}: out[i] = ${EXPRESSIONS[op]}
struct Params {
  count: u32,
  columns: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
${hasSecondOperand ? '@group(0) @binding(2) var<storage, read> y: array<f32>;' : ''}
@group(0) @binding(${output}) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(${FLOAT_ELEMENTWISE_WORKGROUP_SIZE})
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) workgroup_count: vec3<u32>,
  @builtin(local_invocation_index) local_index: u32,
) {
  let i = (workgroup_id.y * workgroup_count.x + workgroup_id.x) * ${FLOAT_ELEMENTWISE_WORKGROUP_SIZE}u + local_index;
  if (i >= params.count) {
    return;
  }

  out[i] = ${EXPRESSIONS[op]};
}
`;
}

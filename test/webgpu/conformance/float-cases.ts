// The float32 WebGPU kernels of training against the TypeScript reference backend and the CPU layers, losses and
// optimizer they mirror. Runtime-agnostic: no node: imports, no process, so Deno and Chromium run them too.
import { encodeAdamStep, encodeGradientCheck } from '../../../gpu/kernels/float-adam.js';
import { encodeBatchNormBackward, encodeBatchNormForward, encodeBatchNormRunningUpdate } from '../../../gpu/kernels/float-batch-norm.js';
import { encodeAddBias, encodeMultiply, encodeSign, encodeStraightThroughGrad } from '../../../gpu/kernels/float-elementwise.js';
import { TRAINING_STATUS_INITIAL, encodeLoss } from '../../../gpu/kernels/float-loss.js';
import { encodeColumnSums } from '../../../gpu/kernels/float-reduce.js';
import { WebGpuBackend } from '../../../gpu/webgpu-backend.js';
import { ReferenceBackend } from '../../../sdk/backends/reference-backend.js';
import { ShapeError } from '../../../sdk/errors.js';
import { BatchNorm } from '../../../sdk/layers/batch-norm.js';
import type { Parameter } from '../../../sdk/layers/layer.js';
import { softmaxCrossEntropy, squaredHinge } from '../../../sdk/losses/index.js';
import { Adam } from '../../../sdk/optimizers/adam.js';
import { steSign } from '../../../sdk/quantizers/ste-sign.js';
import { Random } from '../../../sdk/random.js';
import { argmax } from '../../../sdk/training/metrics.js';
import { Tensor } from '../../../sdk/tensor/tensor.js';
import { SeededRandom } from '../../helpers/random.js';
import { type ConformanceCase, expectEqual, expectRejects } from './conformance-case.js';

const reference = new ReferenceBackend();

/**
 * Throws unless every |actual[i] - expected[i]| is at most the tolerance (one number for all
 * elements, or one per element) and NaN sits where NaN is expected. Names `context`, the first
 * index out of tolerance and how many are.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number | ArrayLike<number>, context: string): void {
  if (actual.length !== expected.length) throw new Error(`${context}: got ${actual.length} elements, expected ${expected.length}`);
  let first = -1;
  let outside = 0;
  for (let i = 0; i < expected.length; i++) {
    const allowed = typeof tolerance === 'number' ? tolerance : tolerance[i];
    const close = Number.isNaN(expected[i]) ? Number.isNaN(actual[i]) : Math.abs(actual[i] - expected[i]) <= allowed;
    if (close) continue;
    if (first < 0) first = i;
    outside++;
  }
  if (first >= 0) {
    const allowed = typeof tolerance === 'number' ? tolerance : tolerance[first];
    throw new Error(
      `${context}: index ${first}: got ${actual[first]}, expected ${expected[first]} within ${allowed} ` +
        `(${outside} of ${expected.length} elements outside the tolerance)`,
    );
  }
}

function expectTrue(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** Tolerance of each float GEMM output: 1e-5 of sum_p |opA(a)[i, p] * opB(b)[p, j]|, the scale of its rounding error. */
function gemmTolerance(a: Float32Array, b: Float32Array, m: number, k: number, n: number, transposeA: boolean, transposeB: boolean): Float32Array {
  const absoluteA = a.map(Math.abs);
  const absoluteB = b.map(Math.abs);
  return reference.matmul(absoluteA, absoluteB, m, k, n, transposeA, transposeB).map((scale) => 1e-5 * scale + 1e-30);
}

const constrainedBackends = new WeakMap<GPUDevice, WebGpuBackend>();

/** Returns a backend on the same device with at most 2 workgroups per dimension, so GEMM grids split into several dispatches. */
function splitDispatches(backend: WebGpuBackend): WebGpuBackend {
  let small = constrainedBackends.get(backend.device);
  if (small === undefined) {
    small = new WebGpuBackend(backend.device, { maxComputeWorkgroupsPerDimension: 2 });
    constrainedBackends.set(backend.device, small);
  }
  return small;
}

async function readFloats(backend: WebGpuBackend, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  return new Float32Array(await backend.gpu.read(buffer, count * 4, 'float case'));
}

async function readWords(backend: WebGpuBackend, buffer: GPUBuffer, count: number): Promise<Uint32Array> {
  return new Uint32Array(await backend.gpu.read(buffer, count * 4, 'float case'));
}

/** Float GEMM shapes: single elements, odd sizes, sizes past one 32-wide tile and one 16-deep K step, k = 0. */
const GEMM_SHAPES: [m: number, k: number, n: number][] = [
  [1, 1, 1],
  [3, 0, 4],
  [5, 7, 3],
  [17, 33, 9],
  [33, 16, 31],
  [40, 100, 65],
  [2, 300, 1],
];

async function checkGemm(backend: WebGpuBackend, random: SeededRandom, m: number, k: number, n: number, transposeA: boolean, transposeB: boolean): Promise<void> {
  const a = random.floats(m * k);
  const b = random.floats(k * n);
  const expected = reference.matmul(a, b, m, k, n, transposeA, transposeB);
  const actual = await backend.matmul(a, b, m, k, n, transposeA, transposeB);
  const context = `matmul m = ${m}, k = ${k}, n = ${n}, transposeA = ${transposeA}, transposeB = ${transposeB}`;
  expectClose(actual, expected, gemmTolerance(a, b, m, k, n, transposeA, transposeB), context);
}

const gemmCases: ConformanceCase[] = [
  {
    // Not bit-exact: the reference sums in float64 and rounds once, the kernel rounds after every float32
    // multiply-add (or fused multiply-add, where the compiler contracts it), so outputs differ by a few ulps of the sum's scale.
    name: 'float gemm matches reference',
    async run(backend) {
      const random = new SeededRandom(61);
      for (const [m, k, n] of GEMM_SHAPES) {
        for (const transposeA of [false, true]) {
          for (const transposeB of [false, true]) await checkGemm(backend, random, m, k, n, transposeA, transposeB);
        }
      }
    },
  },
  {
    name: 'float gemm on random shapes',
    async run(backend) {
      const random = new SeededRandom(62);
      for (let trial = 0; trial < 6; trial++) {
        await checkGemm(backend, random, random.int(1, 70), random.int(1, 90), random.int(1, 70), random.next() < 0.5, random.next() < 0.5);
      }
    },
  },
  {
    name: 'float gemm exact on signs',
    async run(backend) {
      // Sums of +-1 products are integers below 2^24, so every summation order gives them exactly.
      const random = new SeededRandom(63);
      const [m, k, n] = [37, 785, 19];
      const a = random.floats(m * k).map((x) => (x < 0 ? -1 : 1));
      const b = random.floats(k * n).map((x) => (x < 0 ? -1 : 1));
      expectEqual(await backend.matmul(a, b, m, k, n, false, false), reference.matmul(a, b, m, k, n, false, false), 'matmul of signs');
    },
  },
  {
    name: 'float gemm split dispatches',
    async run(backend) {
      // 100 x 70 outputs are 4 x 3 tiles of 32, so a limit of 2 workgroups per dimension needs 4 dispatches.
      const random = new SeededRandom(64);
      const small = splitDispatches(backend);
      for (const [transposeA, transposeB] of [[false, false], [true, true]]) {
        const [m, k, n] = [100, 45, 70];
        const a = random.floats(m * k);
        const b = random.floats(k * n);
        const split = await small.matmul(a, b, m, k, n, transposeA, transposeB);
        const context = `split matmul, transposeA = ${transposeA}, transposeB = ${transposeB}`;
        expectClose(split, reference.matmul(a, b, m, k, n, transposeA, transposeB), gemmTolerance(a, b, m, k, n, transposeA, transposeB), context);
        // Each output is summed in the same order whatever the grid, so split and whole dispatches agree bit for bit.
        expectEqual(split, await backend.matmul(a, b, m, k, n, transposeA, transposeB), `${context} against one dispatch`);
      }
    },
  },
  {
    name: 'float gemm rejects wrong lengths',
    async run(backend) {
      await expectRejects(backend.matmul(new Float32Array(5), new Float32Array(6), 2, 3, 2, false, false), ShapeError, /matmul: a has 5 elements, expected m \* k = 2 \* 3 = 6/);
      await expectRejects(backend.matmul(new Float32Array(6), new Float32Array(5), 2, 3, 2, false, false), ShapeError, /matmul: b has 5 elements/);
    },
  },
];

const elementwiseCases: ConformanceCase[] = [
  {
    name: 'sign_of_zero and the clip edge',
    async run(backend) {
      const x = Float32Array.from([-2, -1, -1.0000001, -0.5, -0.0, 0, 1e-30, 0.5, 1, 1.0000001, 2]);
      const grad = Float32Array.from(x, (_v, i) => i + 1);
      const gpu = backend.gpu;
      const xBuffer = gpu.upload(x);
      const gradBuffer = gpu.upload(grad);
      const signs = gpu.storage(x.byteLength);
      const passed = gpu.storage(x.byteLength);
      await encodeSign(gpu, xBuffer, signs, x.length);
      await encodeStraightThroughGrad(gpu, xBuffer, gradBuffer, passed, x.length);

      const latent = new Tensor(x.slice(), [x.length], true);
      const cpuSigns = steSign(latent);
      cpuSigns.backward(grad);
      expectEqual(await readFloats(backend, signs, x.length), [-1, -1, -1, -1, 1, 1, 1, 1, 1, 1, 1], 'sign with sign(-0.0) = +1');
      expectEqual(await readFloats(backend, signs, x.length), cpuSigns.data, 'sign against steSign');
      // |x| <= 1 passes the gradient, inclusive at x = +-1 exactly; just past the edge it is 0.
      expectEqual(await readFloats(backend, passed, x.length), [0, 2, 0, 4, 5, 6, 7, 8, 9, 0, 0], 'straight-through gradient');
      expectEqual(await readFloats(backend, passed, x.length), latent.grad!, 'straight-through gradient against steSign');
      gpu.release(xBuffer, gradBuffer, signs, passed);
    },
  },
  {
    name: 'dropout mask, bias and column sums',
    async run(backend) {
      const random = new SeededRandom(65);
      const [rows, columns] = [13, 70];
      const x = random.floats(rows * columns);
      const mask = Float32Array.from(x, () => (random.next() < 0.3 ? 0 : 1 / 0.7));
      const bias = random.floats(columns);
      const gpu = backend.gpu;
      const [xBuffer, maskBuffer, biasBuffer] = [gpu.upload(x), gpu.upload(mask), gpu.upload(bias)];
      const [masked, biased, sums] = [gpu.storage(x.byteLength), gpu.storage(x.byteLength), gpu.storage(columns * 4)];
      await encodeMultiply(gpu, xBuffer, maskBuffer, masked, x.length);
      await encodeAddBias(gpu, xBuffer, biasBuffer, biased, rows, columns);
      await encodeColumnSums(gpu, xBuffer, sums, rows, columns);

      // One float32 operation per element rounds the same way on both sides.
      expectEqual(await readFloats(backend, masked, x.length), x.map((v, i) => v * mask[i]), 'x * mask');
      expectEqual(await readFloats(backend, biased, x.length), x.map((v, i) => v + bias[i % columns]), 'x + bias');
      const expectedSums = new Float32Array(columns);
      const sumTolerance = new Float32Array(columns);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < columns; c++) {
          expectedSums[c] += x[r * columns + c];
          sumTolerance[c] += 1e-6 * Math.abs(x[r * columns + c]);
        }
      }
      expectClose(await readFloats(backend, sums, columns), expectedSums, sumTolerance, 'column sums');
      gpu.release(xBuffer, maskBuffer, biasBuffer, masked, biased, sums);
    },
  },
];

/** A built CPU batch-norm layer with random gamma, beta and running statistics. */
function randomBatchNorm(random: SeededRandom, features: number): BatchNorm {
  const layer = new BatchNorm({ name: 'case_batch_norm' });
  layer.build([features], new Random(1));
  layer.gamma.data.set(random.floats(features).map((v) => v * 2));
  layer.beta.data.set(random.floats(features));
  layer.runningMean.set(random.floats(features));
  layer.runningVariance.set(random.floats(features).map((v) => 0.5 + Math.abs(v)));
  return layer;
}

const batchNormCases: ConformanceCase[] = [
  {
    name: 'batch norm training matches the layer',
    async run(backend) {
      const random = new SeededRandom(66);
      const [batch, features] = [9, 67];
      const layer = randomBatchNorm(random, features);
      // A feature offset well away from 0 checks that the variance is not computed as E[x^2] - E[x]^2.
      const x = random.floats(batch * features).map((v, i) => 3 * v + (i % features === 0 ? 100 : 0));
      const grad = random.floats(batch * features);
      const gpu = backend.gpu;
      const state = {
        gamma: gpu.upload(layer.gamma.data as Float32Array),
        beta: gpu.upload(layer.beta.data as Float32Array),
        normalized: gpu.storage(x.byteLength),
        stats: gpu.storage(3 * features * 4),
      };
      const [xBuffer, gradBuffer, status] = [gpu.upload(x), gpu.upload(grad), gpu.upload(TRAINING_STATUS_INITIAL)];
      const [runningMean, runningVariance] = [gpu.upload(layer.runningMean), gpu.upload(layer.runningVariance)];
      const [out, gradInput, gradGamma, gradBeta] = [gpu.storage(x.byteLength), gpu.storage(x.byteLength), gpu.storage(features * 4), gpu.storage(features * 4)];
      await encodeBatchNormForward(gpu, xBuffer, state, out, batch, features, layer.epsilon);
      await encodeBatchNormBackward(gpu, gradBuffer, state, gradInput, gradGamma, gradBeta, batch, features);
      await encodeBatchNormRunningUpdate(gpu, state, status, runningMean, runningVariance, batch, features, layer.momentum);

      const input = new Tensor(x, [batch, features], true);
      const cpuOut = layer.forward(input, { training: true, random: new Random(0) });
      cpuOut.backward(grad);
      // The layer keeps its statistics in float64, the kernels in float32: a few float32 ulps of each value's scale apart.
      expectClose(await readFloats(backend, out, x.length), cpuOut.data, 2e-5, 'batch norm output');
      expectClose(await readFloats(backend, gradInput, x.length), input.grad!, 2e-5, 'batch norm input gradient');
      expectClose(await readFloats(backend, gradGamma, features), layer.gamma.grad!, 2e-5, 'batch norm gamma gradient');
      expectClose(await readFloats(backend, gradBeta, features), layer.beta.grad!, 2e-5, 'batch norm beta gradient');
      expectClose(await readFloats(backend, runningMean, features), layer.runningMean, 2e-5, 'running mean');
      expectClose(await readFloats(backend, runningVariance, features), layer.runningVariance, 1e-4, 'running variance');
      gpu.release(state.gamma, state.beta, state.normalized, state.stats, xBuffer, gradBuffer, status, runningMean, runningVariance, out, gradInput, gradGamma, gradBeta);
    },
  },
  {
    name: 'batch norm running update skipped',
    async run(backend) {
      const random = new SeededRandom(67);
      const [batch, features] = [4, 5];
      const layer = randomBatchNorm(random, features);
      const gpu = backend.gpu;
      const state = {
        gamma: gpu.upload(layer.gamma.data as Float32Array),
        beta: gpu.upload(layer.beta.data as Float32Array),
        normalized: gpu.storage(batch * features * 4),
        stats: gpu.storage(3 * features * 4),
      };
      const xBuffer = gpu.upload(random.floats(batch * features));
      const [runningMean, runningVariance] = [gpu.upload(layer.runningMean), gpu.upload(layer.runningVariance)];
      const raised = gpu.upload(Uint32Array.of(1, 0));
      const out = gpu.storage(batch * features * 4);
      await encodeBatchNormForward(gpu, xBuffer, state, out, batch, features, layer.epsilon);
      await encodeBatchNormRunningUpdate(gpu, state, raised, runningMean, runningVariance, batch, features, layer.momentum);

      expectEqual(await readFloats(backend, runningMean, features), layer.runningMean, 'running mean after a flagged step');
      expectEqual(await readFloats(backend, runningVariance, features), layer.runningVariance, 'running variance after a flagged step');
      gpu.release(state.gamma, state.beta, state.normalized, state.stats, xBuffer, runningMean, runningVariance, raised, out);
    },
  },
];

async function checkLoss(backend: WebGpuBackend, loss: 'softmax_cross_entropy' | 'squared_hinge', seed: number): Promise<void> {
  const random = new SeededRandom(seed);
  const [batch, classes] = [11, 10];
  const scores = random.floats(batch * classes).map((v) => 4 * v);
  // Row 0 ties at the maximum, where argmax takes the first index.
  scores.fill(2, 0, classes);
  const labels = Uint32Array.from({ length: batch }, () => random.int(0, classes - 1));
  labels[0] = 0;
  const gpu = backend.gpu;
  const [scoreBuffer, labelBuffer, status] = [gpu.upload(scores), gpu.upload(labels), gpu.upload(TRAINING_STATUS_INITIAL)];
  const [grad, rowResults, records] = [gpu.storage(scores.byteLength), gpu.storage(batch * 8), gpu.zeros(3 * 8)];
  await encodeLoss(gpu, loss, scoreBuffer, labelBuffer, grad, rowResults, { status, records, recordIndex: 2, badCode: 7 }, batch, classes);

  const cpuScores = new Tensor(scores, [batch, classes], true);
  const cpuLoss = (loss === 'softmax_cross_entropy' ? softmaxCrossEntropy : squaredHinge)(cpuScores, labels);
  cpuLoss.backward();
  const predicted = argmax(scores, batch, classes);
  const correct = labels.reduce((n, label, i) => n + (predicted[i] === label ? 1 : 0), 0);
  const recordWords = await readWords(backend, records, 6);
  const recordLoss = new Float32Array(recordWords.buffer)[4];

  expectClose(await readFloats(backend, grad, scores.length), cpuScores.grad!, 1e-6, `${loss} gradient`);
  expectClose([recordLoss], cpuLoss.data, 1e-5 * Math.abs(cpuLoss.data[0]), `${loss} batch loss`);
  expectEqual([recordWords[5]], [correct], `${loss} correct count`);
  expectEqual(await readWords(backend, status, 2), TRAINING_STATUS_INITIAL, `${loss} status after a finite loss`);
  gpu.release(scoreBuffer, labelBuffer, status, grad, rowResults, records);
}

const lossCases: ConformanceCase[] = [
  { name: 'softmax cross-entropy matches the loss', run: (backend) => checkLoss(backend, 'softmax_cross_entropy', 68) },
  { name: 'squared hinge matches the loss', run: (backend) => checkLoss(backend, 'squared_hinge', 69) },
  {
    name: 'non-finite loss raises the flag',
    async run(backend) {
      const [batch, classes] = [3, 4];
      const gpu = backend.gpu;
      const status = gpu.upload(TRAINING_STATUS_INITIAL);
      const records = gpu.zeros(4 * 8);
      const labels = gpu.upload(Uint32Array.of(0, 1, 2));
      const finite = gpu.upload(new Float32Array(batch * classes).fill(0.5));
      const infinite = gpu.upload(Float32Array.from({ length: batch * classes }, (_v, i) => (i === 5 ? Infinity : 0.5)));
      const [grad, rowResults] = [gpu.storage(batch * classes * 4), gpu.storage(batch * 8)];
      for (const loss of ['softmax_cross_entropy', 'squared_hinge'] as const) {
        await encodeLoss(gpu, loss, finite, labels, grad, rowResults, { status, records, recordIndex: 0, badCode: 9 }, batch, classes);
        expectEqual(await readWords(backend, status, 2), TRAINING_STATUS_INITIAL, `${loss} status after finite scores`);
      }

      // atomicMin keeps the smallest code, the earliest bad step, whatever order the steps raise it in.
      await encodeLoss(gpu, 'squared_hinge', infinite, labels, grad, rowResults, { status, records, recordIndex: 1, badCode: 8 }, batch, classes);
      await encodeLoss(gpu, 'softmax_cross_entropy', infinite, labels, grad, rowResults, { status, records, recordIndex: 2, badCode: 5 }, batch, classes);
      await encodeLoss(gpu, 'softmax_cross_entropy', infinite, labels, grad, rowResults, { status, records, recordIndex: 3, badCode: 6 }, batch, classes);
      expectEqual(await readWords(backend, status, 2), [1, 5], 'status after three non-finite losses');
      const recordLosses = new Float32Array((await readWords(backend, records, 8)).buffer);
      expectTrue(!Number.isFinite(recordLosses[2]) && !Number.isFinite(recordLosses[4]), `recorded losses ${recordLosses[2]} and ${recordLosses[4]} are finite`);
      gpu.release(status, records, labels, finite, infinite, grad, rowResults);
    },
  },
];

/** A CPU parameter with latent weights across the clip edge and a gradient. */
function randomParameter(random: SeededRandom, size: number, learningRateScale: number, clip: number | null): { parameter: Parameter; grads: Float32Array[] } {
  const value = new Tensor(random.floats(size).map((v) => 1.2 * v), [size], true);
  const grads = [0, 1, 2].map(() => random.floats(size).map((v) => 0.1 * v));
  return { parameter: { name: 'case/kernel', value, learningRateScale, clip }, grads };
}

const adamCases: ConformanceCase[] = [
  {
    name: 'adam steps match the optimizer',
    async run(backend) {
      const random = new SeededRandom(70);
      const optimizer = new Adam({ learningRate: 0.01 });
      const clipped = randomParameter(random, 150, 21.3, 1);
      const free = randomParameter(random, 40, 1, null);
      const gpu = backend.gpu;
      const status = gpu.upload(TRAINING_STATUS_INITIAL);
      const buffers = [clipped, free].map(({ parameter }) => ({
        weights: gpu.upload(parameter.value.data as Float32Array),
        grad: gpu.storage(parameter.value.size * 4),
        m: gpu.zeros(parameter.value.size * 4),
        v: gpu.zeros(parameter.value.size * 4),
      }));

      for (let step = 1; step <= 3; step++) {
        for (const [i, { parameter, grads }] of [clipped, free].entries()) {
          gpu.writeBuffer(buffers[i].grad, grads[step - 1]);
          const settings = { learningRate: optimizer.learningRate, learningRateScale: parameter.learningRateScale, beta1: optimizer.beta1, beta2: optimizer.beta2, epsilon: optimizer.epsilon, step, clip: parameter.clip };
          await encodeAdamStep(gpu, buffers[i], status, parameter.value.size, settings);
          parameter.value.grad = grads[step - 1].slice();
        }
        optimizer.apply([clipped.parameter, free.parameter]);
      }

      const clippedWeights = await readFloats(backend, buffers[0].weights, 150);
      expectClose(clippedWeights, clipped.parameter.value.data, 1e-5, 'clipped parameter after 3 steps');
      expectClose(await readFloats(backend, buffers[1].weights, 40), free.parameter.value.data, 1e-5, 'unclipped parameter after 3 steps');
      // The scaled steps push some latent weights past the clip, which must hold them at exactly +-1.
      expectTrue(clippedWeights.some((w) => Math.abs(w) === 1), 'no latent weight reached the clip, so the case does not test it');
      expectTrue(clippedWeights.every((w) => Math.abs(w) <= 1), 'a latent weight is outside the clip');
      gpu.release(status, ...buffers.flatMap((b) => [b.weights, b.grad, b.m, b.v]));
    },
  },
  {
    name: 'adam skips after a non-finite gradient',
    async run(backend) {
      const gpu = backend.gpu;
      const weights = Float32Array.of(0.5, -0.25, 0.75, 0);
      const moments = Float32Array.of(0.01, 0.02, 0.03, 0.04);
      const status = gpu.upload(TRAINING_STATUS_INITIAL);
      const buffers = { weights: gpu.upload(weights), grad: gpu.upload(Float32Array.of(0.1, NaN, 0.2, 0.3)), m: gpu.upload(moments), v: gpu.upload(moments) };
      const finiteGrad = gpu.upload(Float32Array.of(1, 2, 3, 4));
      const infiniteGrad = gpu.upload(Float32Array.of(Infinity, 0, 0, 0));
      await encodeGradientCheck(gpu, finiteGrad, status, 4, 3);
      expectEqual(await readWords(backend, status, 2), TRAINING_STATUS_INITIAL, 'status after a finite gradient');

      await encodeGradientCheck(gpu, buffers.grad, status, 4, 12);
      await encodeGradientCheck(gpu, infiniteGrad, status, 4, 4);
      await encodeAdamStep(gpu, buffers, status, 4, { learningRate: 0.1, learningRateScale: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1, clip: 1 });

      expectEqual(await readWords(backend, status, 2), [1, 4], 'status after two non-finite gradients');
      expectEqual(await readFloats(backend, buffers.weights, 4), weights, 'weights after a skipped step');
      expectEqual(await readFloats(backend, buffers.m, 4), moments, 'first moments after a skipped step');
      expectEqual(await readFloats(backend, buffers.v, 4), moments, 'second moments after a skipped step');
      gpu.release(status, buffers.weights, buffers.grad, buffers.m, buffers.v, finiteGrad, infiniteGrad);
    },
  },
];

/** Every float-kernel conformance case: GEMM, element-wise ops, batch norm, losses and Adam. */
export const floatCases: ConformanceCase[] = [...gemmCases, ...elementwiseCases, ...batchNormCases, ...lossCases, ...adamCases];

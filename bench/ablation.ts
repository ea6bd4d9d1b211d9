// Bit-width ablation on real MNIST: the same 784-512-512-10 MLP (batch norm,
// Adam, softmax cross-entropy, seed 1, WASM backend) trained with k-bit
// weights and activations, and with 6-bit versus float gradients.
//   node dist/bench/ablation.js [--train-limit N] [--test-limit N] [--epochs E] [--json]
import { parseArgs } from 'node:util';

import { setBackend } from '../sdk/backends/active-backend.js';
import type { Backend } from '../sdk/backends/backend.js';
import { createWasmBackend } from '../sdk/backends/create-wasm-backend.js';
import { compileNetwork } from '../sdk/compile/compile-model.js';
import { runPacked } from '../sdk/compile/run-packed.js';
import { loadMnist } from '../sdk/data/mnist.js';
import { BatchNorm } from '../sdk/layers/batch-norm.js';
import { Dense, QuantDense } from '../sdk/layers/dense.js';
import { type ForwardContext, Layer } from '../sdk/layers/layer.js';
import { Sequential } from '../sdk/layers/sequential.js';
import { Adam, exponentialDecay } from '../sdk/optimizers/adam.js';
import type { Quantizer } from '../sdk/quantizers/quantizer-spec.js';
import { Random } from '../sdk/random.js';
import { Tensor } from '../sdk/tensor/tensor.js';
import { bitwiseWeightGradient } from '../sdk/training/bitwise-weight-gradient.js';
import { fit } from '../sdk/training/fit.js';
import { dequantizeGradient, quantizeGradient } from '../sdk/training/gradient-quantization.js';
import { classificationError, compareScores } from '../sdk/training/metrics.js';

const HIDDEN = [512, 512];
const CLASSES = 10;
const BATCH_SIZE = 100;
const SEED = 1;
const LEARNING_RATE = 0.003;
const FINAL_LEARNING_RATE = 0.0003;

interface AblationConfig {
  label: string;
  /** Bits of the kernel and of the hidden activations; 32 means float. */
  weightBits: number;
  activationBits: number;
  gradientBits?: number;
  bitwiseBackward: boolean;
}

interface AblationResult extends AblationConfig {
  testError: number;
  trainSeconds: number;
  trainImagesPerSecond: number;
  /** Training images per second of this process's CPU time, which other processes on a shared machine disturb less than wall time. */
  trainImagesPerCpuSecond: number;
  finalTrainLoss: number;
  /** Share of test images whose packed prediction equals the training graph's; null for the float network, which does not compile. */
  packedPredictionMatch: number | null;
  /** Largest |packed score - training-graph score| over the test set; null for the float network. */
  packedMaxScoreDifference: number | null;
}

/** Maps a bit width to a quantizer: the sign for 1 bit, signed fixed point (linear) for 2 to 8, float for 32. */
function quantizerFor(bits: number): Quantizer {
  if (bits === 32) return null;
  if (bits === 1) return 'ste_sign';
  return { kind: 'linear', bits };
}

/**
 * Hard tanh, clip(x, -1, 1) with gradient 1 where |x| <= 1: the float
 * baseline's nonlinearity, standing where the quantized models have the clip
 * of their activation quantizer.
 */
class HardTanh extends Layer {
  outputShape(inputShape: number[]): number[] {
    return inputShape;
  }

  forward(x: Tensor, _context: ForwardContext): Tensor {
    const data = x.data;
    const out = new Float32Array(data.length);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(-1, data[i]));
    return Tensor.fromOp(out, x.shape, [x], (grad) => {
      const gx = new Float32Array(grad.length);
      for (let i = 0; i < gx.length; i++) gx[i] = Math.abs(data[i]) <= 1 ? grad[i] : 0;
      x.accumulateOwnedGrad(gx);
    });
  }
}

function buildModel(config: AblationConfig): Sequential {
  const kernelQuantizer = quantizerFor(config.weightBits);
  const activationQuantizer = quantizerFor(config.activationBits);
  const layers: Layer[] = [];
  const widths = [...HIDDEN, CLASSES];

  widths.forEach((units, index) => {
    const name = index === widths.length - 1 ? 'scores' : `dense_${index}`;
    // The first layer takes the real-valued pixels, as in BinaryNet.
    const inputQuantizer = index === 0 ? null : activationQuantizer;
    if (kernelQuantizer === null) {
      if (index > 0 && activationQuantizer === null) layers.push(new HardTanh(`hard_tanh_${index}`));
      layers.push(new Dense(units, { useBias: false, inputQuantizer, name, bitwiseBackward: config.bitwiseBackward }));
    } else {
      layers.push(new QuantDense(units, { kernelQuantizer, inputQuantizer, name, bitwiseBackward: config.bitwiseBackward }));
    }
    layers.push(new BatchNorm({ name: `${name}_batch_norm` }));
  });
  return new Sequential(layers).build([784], SEED);
}

/** Median milliseconds of the float and the bit-plane kernel-gradient GEMM of one hidden layer, timed alternately. */
function timeKernelGradient(backend: Backend, batch: number, inputs: number, units: number, bits: number): { floatMs: number; bitPlaneMs: number } {
  const random = new Random(SEED);
  const signs = Float32Array.from({ length: batch * inputs }, () => (random.next() < 0.5 ? -1 : 1));
  const grad = Float32Array.from({ length: batch * units }, () => random.uniform(-1e-3, 1e-3));
  const quantized = quantizeGradient(grad, bits, random);
  const dequantized = dequantizeGradient(quantized);

  // Alternating the two keeps load from other processes from favoring either one.
  const floatTimes: number[] = [];
  const bitPlaneTimes: number[] = [];
  for (let repeat = 0; repeat < 25; repeat++) {
    let started = performance.now();
    backend.matmul(signs, dequantized, inputs, batch, units, true, false);
    floatTimes.push(performance.now() - started);

    started = performance.now();
    bitwiseWeightGradient(backend, signs, quantized.codes, quantized.maxCode, bits, batch, inputs, units);
    bitPlaneTimes.push(performance.now() - started);
  }
  return { floatMs: median(floatTimes), bitPlaneMs: median(bitPlaneTimes) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function scalePixels(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 256;
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'train-limit': { type: 'string' },
      'test-limit': { type: 'string' },
      epochs: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const trainLimit = values['train-limit'] === undefined ? undefined : Number(values['train-limit']);
  const testLimit = values['test-limit'] === undefined ? undefined : Number(values['test-limit']);
  const epochs = values.epochs === undefined ? 2 : Number(values.epochs);
  if (!Number.isInteger(epochs) || epochs <= 0) throw new Error(`--epochs must be a positive integer, got ${values.epochs}`);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const backend = await createWasmBackend();
  setBackend(backend);
  const mnist = await loadMnist({ trainLimit, testLimit });
  const trainInputs = scalePixels(mnist.train.images);
  const testInputs = scalePixels(mnist.test.images);
  log(`MNIST: ${mnist.train.count} training and ${mnist.test.count} test images, ${epochs} epochs, backend ${backend.name}`);

  const configs: AblationConfig[] = [
    { label: 'W1/A1', weightBits: 1, activationBits: 1, bitwiseBackward: true },
    { label: 'W1/A2', weightBits: 1, activationBits: 2, bitwiseBackward: true },
    { label: 'W2/A2', weightBits: 2, activationBits: 2, bitwiseBackward: true },
    { label: 'W4/A4', weightBits: 4, activationBits: 4, bitwiseBackward: true },
    { label: 'W32/A32', weightBits: 32, activationBits: 32, bitwiseBackward: true },
    { label: 'W1/A1 G6 bit-wise', weightBits: 1, activationBits: 1, gradientBits: 6, bitwiseBackward: true },
    { label: 'W1/A1 G6 float GEMM', weightBits: 1, activationBits: 1, gradientBits: 6, bitwiseBackward: false },
  ];

  // The first training in a process runs slower while the JIT compiles, so a short throwaway run goes first.
  const warmUpCount = Math.min(1000, mnist.train.count);
  fit(buildModel(configs[0]), trainInputs.subarray(0, warmUpCount * 784), mnist.train.labels.subarray(0, warmUpCount), {
    epochs: 1,
    batchSize: BATCH_SIZE,
    optimizer: new Adam({ learningRate: LEARNING_RATE }),
    loss: 'softmax_cross_entropy',
    seed: SEED,
  });

  const results: AblationResult[] = [];
  for (const config of configs) {
    const model = buildModel(config);
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const reports = fit(model, trainInputs, mnist.train.labels, {
      epochs,
      batchSize: BATCH_SIZE,
      optimizer: new Adam({ learningRate: LEARNING_RATE }),
      learningRateSchedule: exponentialDecay(LEARNING_RATE, FINAL_LEARNING_RATE, epochs),
      loss: 'softmax_cross_entropy',
      seed: SEED,
      gradientBits: config.gradientBits,
    });
    const trainSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    const trainCpuSeconds = (cpu.user + cpu.system) / 1e6;
    const scores = model.predict(testInputs);
    const testError = classificationError(scores, mnist.test.labels, CLASSES);
    const packed = config.weightBits === 32 ? null : packedAgreement(model, backend, mnist.test.images, scores, mnist.test.count);
    const result: AblationResult = {
      ...config,
      testError,
      trainSeconds,
      trainImagesPerSecond: (mnist.train.count * epochs) / trainSeconds,
      trainImagesPerCpuSecond: (mnist.train.count * epochs) / trainCpuSeconds,
      finalTrainLoss: reports[reports.length - 1].loss,
      packedPredictionMatch: packed?.predictionMatch ?? null,
      packedMaxScoreDifference: packed?.maxScoreDifference ?? null,
    };
    results.push(result);
    log(`${config.label}: test error ${(100 * testError).toFixed(2)}%, ${result.trainImagesPerSecond.toFixed(0)} training images/s`);
  }

  // With --json the table goes to stderr, so stdout stays one JSON document.
  const write = (text: string): void => void (values.json ? process.stderr : process.stdout).write(text);
  write('| config | weight bits | activation bits | gradient bits | dW GEMM | test error | packed predictions equal | train images/s | per CPU second |\n');
  write('| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n');
  for (const r of results) {
    // The bit-plane GEMM runs only on quantized gradients.
    const bitPlane = r.gradientBits !== undefined && r.bitwiseBackward;
    const gemm = bitPlane ? 'bit-plane' : 'float';
    write(
      `| ${r.label} | ${r.weightBits} | ${r.activationBits} | ${r.gradientBits ?? 32} | ${gemm} | ${(100 * r.testError).toFixed(2)}% | ${r.packedPredictionMatch === null ? '-' : `${(100 * r.packedPredictionMatch).toFixed(2)}%`} | ${r.trainImagesPerSecond.toFixed(0)} | ${r.trainImagesPerCpuSecond.toFixed(0)} |\n`,
    );
  }

  const kernelGradient = [100, 1000].map((batch) => ({ batch, inputs: HIDDEN[0], units: HIDDEN[1], bits: 6, ...timeKernelGradient(backend, batch, HIDDEN[0], HIDDEN[1], 6) }));
  write('\n| kernel gradient GEMM | batch | float ms | bit-plane ms |\n| --- | --- | --- | --- |\n');
  for (const k of kernelGradient) write(`| ${k.inputs}x${k.units}, ${k.bits}-bit gradient | ${k.batch} | ${k.floatMs.toFixed(2)} | ${k.bitPlaneMs.toFixed(2)} |\n`);

  if (values.json) {
    const summary = { trainImages: mnist.train.count, testImages: mnist.test.count, epochs, backend: backend.name, results, kernelGradient };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  }
}

/** Compiles the trained model to the packed graph and compares its test-set scores with the training graph's. */
function packedAgreement(
  model: Sequential,
  backend: Backend,
  pixels: Uint8Array,
  scores: Float32Array,
  count: number,
): { predictionMatch: number; maxScoreDifference: number } {
  const packedScores = runPacked(compileNetwork(model), backend, pixels, 1000);
  return compareScores(scores, packedScores, count, CLASSES);
}

await main();

// Benchmark harness: our WASM kernels and the peers a user would pick instead
// (TensorFlow.js WASM, ONNX Runtime Web, ONNX Runtime Node), on the same shapes
// in one run. Usage: npm run bench [-- --quick] [-- --json]
// docs/performance.md explains each figure.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { type WasmBackend } from '../sdk/backends/wasm-backend.js';
import { createWasmBackend } from '../sdk/backends/create-wasm-backend.js';
import {
  buildPackedMlp,
  ortImagesPerSecond,
  packedImagesPerSecond,
  randomFloatMlp,
  randomImages,
  tfjsImagesPerSecond,
} from './end-to-end.js';
import { matmulIntegerModel, matmulModel } from './onnx/onnx-model.js';
import { createOrtRunner, ortVersion, type OrtInput, type OrtRuntime } from './peers/onnxruntime.js';
import { initTfjsWasm, tfjsMatmul } from './peers/tfjs-wasm.js';
import { measureBinaryGemmRoofline, measureTwoThreadSpeedup, timeBinaryGemm } from './qnn-kernels.js';
import { type BenchReport, computeRatios, type EndToEndFigures, formatReport, type GemmFigures } from './report.js';
import { randomFloats, randomWords, timeMedian, type TimingPlan } from './timing.js';
import { formatWebGpuReport, runWebGpuBench } from './webgpu.js';
import { WebGpuUnavailableError } from '../gpu/host/with-timeout.js';

const USAGE = `Usage: node dist/bench/main.js [--quick] [--json] [--json-file PATH] [--backend wasm|webgpu]
  --backend webgpu  benchmark the WGSL binary GEMM against TensorFlow.js WebGPU float32 matMul instead
                    (Node + Dawn; set VK_ICD_FILENAMES to pick a Vulkan driver, e.g. SwiftShader's)
  --quick           3 to 5 timed runs per figure instead of 7 to 31 (about 40 s instead of 90 s to 3 minutes on 2 cores)
  --json            print one JSON object with every figure instead of the tables
  --json-file PATH  also write that JSON object to PATH, next to the tables
  --help   print this text`;

interface Options {
  backend: 'wasm' | 'webgpu';
  quick: boolean;
  json: boolean;
  jsonFile: string | null;
}

function parseOptions(args: string[]): Options {
  const options: Options = { backend: 'wasm', quick: false, json: false, jsonFile: null };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--json-file' && i + 1 < args.length) options.jsonFile = args[++i];
    else if (arg === '--json') options.json = true;
    else if (arg === '--backend' && (args[i + 1] === 'wasm' || args[i + 1] === 'webgpu')) options.backend = args[++i] as Options['backend'];
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown option '${arg}'\n${USAGE}`);
      process.exit(2);
    }
  }
  return options;
}

/** GEMM shapes: M = N in {256, 1024}, K in {1024, 4096}. */
const GEMM_SHAPES = [256, 1024].flatMap((m) => [1024, 4096].map((k) => ({ m, n: m, k })));
/** Shape of the headline GEMM ratios and of the two-thread figure. */
const HEADLINE = { m: 1024, n: 1024, k: 4096 };
/** The MNIST MLP of BinaryNet (Courbariaux et al., 2016), three hidden layers of 4096 units, and the SDK's default model. */
const PAPER_MLP = [784, 4096, 4096, 4096, 10];
const DEFAULT_MLP = [784, 512, 512, 10];
const END_TO_END_BATCH = 100;

const PLANS: Record<'default' | 'quick', TimingPlan> = {
  default: { warmupRuns: 1, minRuns: 7, maxRuns: 31, maxSeconds: 4 },
  quick: { warmupRuns: 1, minRuns: 3, maxRuns: 5, maxSeconds: 0.5 },
};

const errors: BenchReport['errors'] = [];

/** Runs one measurement. A failure is logged to stderr and recorded in the report, and its figure becomes null. */
async function attempt<T>(stage: string, measure: () => Promise<T>): Promise<T | null> {
  try {
    return await measure();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`bench: ${stage} failed: ${message}`);
    errors.push({ stage, message });
    return null;
  }
}

function progress(message: string): void {
  console.error(`bench: ${message}`);
}

async function measureGemm(backend: WasmBackend, plan: TimingPlan): Promise<GemmFigures[]> {
  const figures: GemmFigures[] = [];
  for (const { m, n, k } of GEMM_SHAPES) {
    const label = `${m}x${n}x${k}`;
    const macs = m * n * k;
    const perSecond = (seconds: number | null) => (seconds === null ? null : macs / seconds);
    progress(`GEMM ${label}`);

    const a = randomFloats(m * k, 1);
    const b = randomFloats(k * n, 2);
    const aInt8 = Uint8Array.from(randomWords(m * k, 3), (word) => word >>> 24);
    const bInt8 = Int8Array.from(randomWords(k * n, 4), (word) => (word >>> 24) - 128);
    const floatInput: OrtInput = { name: 'a', type: 'float32', data: a, dims: [m, k] };
    const int8Input: OrtInput = { name: 'a', type: 'uint8', data: aInt8, dims: [m, k] };

    const timeOrt = async (runtime: OrtRuntime, model: Uint8Array, input: OrtInput) => {
      const runner = await createOrtRunner(runtime, model, input);
      try {
        return (await timeMedian(runner.run, plan)).medianSeconds;
      } finally {
        await runner.release();
      }
    };

    const qnn = await attempt(`qnn binaryGemm ${label}`, () => timeBinaryGemm(backend, m, n, k, plan));
    const tfjs = await attempt(`tfjs-wasm matMul ${label}`, async () => {
      const matmul = tfjsMatmul(m, k, n, a, b);
      try {
        return (await timeMedian(matmul.run, plan)).medianSeconds;
      } finally {
        matmul.dispose();
      }
    });
    const floatModel = matmulModel(m, k, n, b);
    const ortWeb = await attempt(`onnxruntime-web MatMul ${label}`, () => timeOrt('onnxruntime-web', floatModel, floatInput));
    const ortNode = await attempt(`onnxruntime-node MatMul ${label}`, () => timeOrt('onnxruntime-node', floatModel, floatInput));
    const ortNodeInt8 = await attempt(`onnxruntime-node MatMulInteger ${label}`, () =>
      timeOrt('onnxruntime-node', matmulIntegerModel(m, k, n, bInt8), int8Input),
    );

    figures.push({
      m,
      n,
      k,
      qnnBinaryMacsPerSecond: perSecond(qnn),
      tfjsWasmF32MacsPerSecond: perSecond(tfjs),
      ortWebF32MacsPerSecond: perSecond(ortWeb),
      ortNodeF32MacsPerSecond: perSecond(ortNode),
      ortNodeInt8MacsPerSecond: perSecond(ortNodeInt8),
    });
  }
  return figures;
}

async function measureEndToEnd(backend: WasmBackend, shape: number[], plan: TimingPlan): Promise<EndToEndFigures> {
  const label = shape.join('-');
  const batch = END_TO_END_BATCH;
  progress(`end to end ${label}, batch ${batch}`);

  const images = randomImages(batch, shape[0]);
  const packed = await attempt(`compile ${label}`, async () => buildPackedMlp(shape, backend));
  const qnn =
    packed === null ? null : await attempt(`qnn runPacked ${label}`, () => packedImagesPerSecond(packed, backend, images, batch, plan));

  // The float models see the same pixels, scaled to [0, 1) as the binarized model's first layer does.
  const floatLayers = randomFloatMlp(shape);
  const floatImages = Float32Array.from(images, (pixel) => pixel / 256);
  const tfjs = await attempt(`tfjs-wasm MLP ${label}`, () => tfjsImagesPerSecond(floatLayers, floatImages, batch, plan));
  const ortWeb = await attempt(`onnxruntime-web MLP ${label}`, () => ortImagesPerSecond('onnxruntime-web', floatLayers, floatImages, batch, plan));
  const ortNode = await attempt(`onnxruntime-node MLP ${label}`, () => ortImagesPerSecond('onnxruntime-node', floatLayers, floatImages, batch, plan));

  return {
    shape: label,
    batch,
    qnnPackedImagesPerSecond: qnn,
    tfjsWasmF32ImagesPerSecond: tfjs,
    ortWebF32ImagesPerSecond: ortWeb,
    ortNodeF32ImagesPerSecond: ortNode,
    qnnBytes: packed?.qnnBytes ?? null,
    float32Bytes: packed?.float32Bytes ?? null,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.json) {
    // Keep stdout for the JSON object: anything a library logs goes to stderr.
    console.log = console.error;
    console.info = console.error;
  }
  const mode = options.quick ? 'quick' : 'default';
  const plan = PLANS[mode];
  const started = performance.now();
  if (options.backend === 'webgpu') {
    await mainWebGpu(options, plan, started);
    return;
  }

  const backend = await createWasmBackend({ simd: true });
  const tfjsInfo = await attempt('tfjs-wasm init', initTfjsWasm);
  const versions: BenchReport['versions'] = {
    'qnn backend': backend.name,
    '@tensorflow/tfjs-backend-wasm': tfjsInfo === null ? null : `${tfjsInfo.version}${tfjsInfo.simd ? ' simd' : ' no-simd'}`,
    'onnxruntime-web': await attempt('onnxruntime-web load', () => ortVersion('onnxruntime-web')),
    'onnxruntime-node': await attempt('onnxruntime-node load', () => ortVersion('onnxruntime-node')),
  };

  const gemm = await measureGemm(backend, plan);

  progress(`popcount roofline, paired with binaryGemm ${HEADLINE.m}x${HEADLINE.n}x${HEADLINE.k}`);
  const rooflinePair = await attempt('popcount roofline', async () => measureBinaryGemmRoofline(backend, HEADLINE.m, HEADLINE.n, HEADLINE.k, plan));

  progress(`two threads, binaryGemm ${HEADLINE.m}x${HEADLINE.n}x${HEADLINE.k}`);
  const twoThreadResult = await attempt('two threads', () => measureTwoThreadSpeedup(backend, HEADLINE.m, HEADLINE.n, HEADLINE.k, plan));
  const twoThreads =
    twoThreadResult === null
      ? null
      : { ...HEADLINE, oneThreadSeconds: twoThreadResult.oneThreadSeconds, twoThreadSeconds: twoThreadResult.twoThreadSeconds };

  const endToEnd = [await measureEndToEnd(backend, DEFAULT_MLP, plan), await measureEndToEnd(backend, PAPER_MLP, plan)];

  const cpus = os.cpus();
  const partial = {
    machine: {
      cpu: cpus[0]?.model.trim() ?? 'unknown',
      logicalCores: cpus.length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
    },
    versions,
    mode,
    gemm,
    popcountRooflineMacsPerSecond: rooflinePair?.roofline ?? null,
    binaryGemmRooflineFraction: rooflinePair?.ratio ?? null,
    twoThreads,
    endToEnd,
    errors,
  } as const;
  const report: BenchReport = {
    ...partial,
    ratios: computeRatios(partial, HEADLINE, PAPER_MLP.join('-'), DEFAULT_MLP.join('-')),
    totalSeconds: (performance.now() - started) / 1000,
  };

  if (options.jsonFile !== null) writeFileSync(options.jsonFile, JSON.stringify(report, null, 2) + '\n');
  if (options.json) process.stdout.write(JSON.stringify(report) + '\n');
  else process.stdout.write(formatReport(report) + '\n');
}

async function mainWebGpu(options: Options, plan: TimingPlan, started: number): Promise<void> {
  let figures: Awaited<ReturnType<typeof runWebGpuBench>>;
  try {
    figures = await runWebGpuBench(plan, progress);
  } catch (error) {
    if (!(error instanceof WebGpuUnavailableError)) throw error;
    console.error(`bench: --backend webgpu needs a WebGPU adapter: ${error.message}`);
    process.exit(1);
  }
  const report = { ...figures, mode: options.quick ? 'quick' : 'default', totalSeconds: 0 };
  report.totalSeconds = (performance.now() - started) / 1000;
  if (options.jsonFile !== null) writeFileSync(options.jsonFile, JSON.stringify(report, null, 2) + '\n');
  if (options.json) process.stdout.write(JSON.stringify(report) + '\n');
  else process.stdout.write(formatWebGpuReport(report) + '\n');
}

await main();
// Worker threads or runtime handles of the peers may keep Node alive after the last figure.
process.exit(0);

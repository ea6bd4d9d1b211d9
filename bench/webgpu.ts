// The WebGPU benchmark (npm run bench -- --backend webgpu): our binary GEMM on
// the device against TensorFlow.js WebGPU float32 matmul of the same shape, in one run.
import { dawnInstance, acquireNodeDevice } from '../gpu/host/device-node.js';
import { describeAdapter, isSoftwareAdapter } from '../gpu/host/software-adapter.js';
import { encodeBinaryGemm } from '../gpu/kernels/binary-gemm.js';
import { WebGpuBackend } from '../gpu/webgpu-backend.js';
import { ReferenceBackend } from '../sdk/backends/reference-backend.js';
import { initTfjsWebGpu, tfjsWebGpuMatmul } from './peers/tfjs-webgpu.js';
import { randomFloats, randomPackedSigns, timeMedian, type TimingPlan } from './timing.js';

export interface WebGpuGemmFigures {
  m: number;
  n: number;
  k: number;
  /** Binary multiply-accumulates per second of our WGSL binary GEMM, inputs resident on the device. */
  qnnBinaryMacsPerSecond: number | null;
  /** Float32 multiply-accumulates per second of TensorFlow.js's WebGPU matMul, inputs resident on the device. */
  tfjsWebGpuF32MacsPerSecond: number | null;
  ratio: number | null;
}

export interface WebGpuBenchReport {
  adapter: string;
  software: boolean;
  versions: Record<string, string | null>;
  /** True when the binary GEMM of the smallest shape equals the reference backend's, checked before timing. */
  verified: boolean;
  gemm: WebGpuGemmFigures[];
  errors: { stage: string; message: string }[];
}

/**
 * Shapes: on hardware, the CPU benchmark's headline and the 4096 cube. A software
 * adapter runs binary GEMM at well under 1 G MACs/s, so it gets one small shape
 * that proves the pipeline in seconds.
 */
function shapesFor(software: boolean): { m: number; n: number; k: number }[] {
  if (software) return [{ m: 256, n: 256, k: 1024 }];
  return [
    { m: 1024, n: 1024, k: 4096 },
    { m: 4096, n: 4096, k: 4096 },
  ];
}

/** Dispatches recorded per timed run, so one 4-byte readback's latency is spread over several GEMMs. */
const REPEATS = 4;

export async function runWebGpuBench(plan: TimingPlan, progress: (message: string) => void): Promise<WebGpuBenchReport> {
  const errors: WebGpuBenchReport['errors'] = [];
  const device = await acquireNodeDevice();
  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const software = isSoftwareAdapter(info);
  const backend = new WebGpuBackend(device);
  progress(`WebGPU adapter: ${describeAdapter(info)}`);

  const verified = await verifyAgainstReference(backend);
  const { globals } = await import('webgpu');
  let tfjsVersion: string | null = null;
  try {
    tfjsVersion = (await initTfjsWebGpu(await dawnInstance(), globals as Record<string, unknown>)).version;
  } catch (error) {
    errors.push({ stage: 'tfjs-webgpu init', message: (error as Error).message });
  }

  const gemm: WebGpuGemmFigures[] = [];
  for (const { m, n, k } of shapesFor(software)) {
    const label = `${m}x${n}x${k}`;
    const macs = m * n * k;
    progress(`WebGPU GEMM ${label}`);

    let qnn: number | null = null;
    try {
      qnn = macs / (await timeBinaryGemmOnDevice(backend, m, n, k, plan));
    } catch (error) {
      errors.push({ stage: `qnn binaryGemm ${label}`, message: (error as Error).message });
    }

    let tfjs: number | null = null;
    if (tfjsVersion !== null) {
      const matmul = tfjsWebGpuMatmul(m, k, n, randomFloats(m * k, 1), randomFloats(k * n, 2), REPEATS);
      try {
        tfjs = (macs * REPEATS) / (await timeMedian(matmul.run, plan)).medianSeconds;
      } catch (error) {
        errors.push({ stage: `tfjs-webgpu matMul ${label}`, message: (error as Error).message });
      } finally {
        matmul.dispose();
      }
    }
    gemm.push({ m, n, k, qnnBinaryMacsPerSecond: qnn, tfjsWebGpuF32MacsPerSecond: tfjs, ratio: qnn !== null && tfjs !== null ? qnn / tfjs : null });
  }

  return {
    adapter: describeAdapter(info),
    software,
    versions: { 'qnn backend': backend.name, '@tensorflow/tfjs-backend-webgpu': tfjsVersion },
    verified,
    gemm,
    errors,
  };
}

/** Seconds per binary GEMM on resident buffers: REPEATS dispatches, then a 4-byte read that waits for them. */
async function timeBinaryGemmOnDevice(backend: WebGpuBackend, m: number, n: number, k: number, plan: TimingPlan): Promise<number> {
  const gpu = backend.gpu;
  const a = gpu.upload(randomPackedSigns(m, k, 1));
  const b = gpu.upload(randomPackedSigns(n, k, 2));
  const out = gpu.storage(m * n * 4);
  try {
    const timing = await timeMedian(async () => {
      for (let r = 0; r < REPEATS; r++) await encodeBinaryGemm(gpu, a, b, out, m, n, k);
      await gpu.read(out, 4, 'bench binaryGemm');
    }, plan);
    return timing.medianSeconds / REPEATS;
  } finally {
    gpu.release(a, b, out);
  }
}

/** Checks one shape against the reference first, because a figure for a kernel that computes something else is worthless. */
async function verifyAgainstReference(backend: WebGpuBackend): Promise<boolean> {
  const [m, n, k] = [67, 45, 1000];
  const a = randomPackedSigns(m, k, 5);
  const b = randomPackedSigns(n, k, 6);
  const expected = new ReferenceBackend().binaryGemm(a, b, m, n, k);
  const actual = await backend.binaryGemm(a, b, m, n, k);
  return actual.every((value, i) => value === expected[i]);
}

/** Formats the WebGPU table in the style of the CPU report. */
export function formatWebGpuReport(report: WebGpuBenchReport): string {
  const rate = (value: number | null): string => (value === null ? 'failed' : `${(value / 1e9).toPrecision(3)} G/s`);
  const lines = [
    `WebGPU adapter: ${report.adapter}${report.software ? ' (timings on a software adapter say nothing about GPUs)' : ''}`,
    `binary GEMM equals the reference: ${report.verified ? 'yes' : 'NO'}`,
    '',
    '| M x N x K | qnn binary GEMM (binary MACs/s) | tfjs-webgpu f32 matMul (MACs/s) | ratio |',
    '| --- | --- | --- | --- |',
    ...report.gemm.map(
      (g) => `| ${g.m}x${g.n}x${g.k} | ${rate(g.qnnBinaryMacsPerSecond)} | ${rate(g.tfjsWebGpuF32MacsPerSecond)} | ${g.ratio === null ? '-' : `${g.ratio.toFixed(2)}x`} |`,
    ),
  ];
  for (const error of report.errors) lines.push(`error in ${error.stage}: ${error.message}`);
  return lines.join('\n');
}

// Entry of the browser bundle dist/bundles/test/webgpu-conformance.js: puts the WebGPU conformance cases on
// globalThis so that a page driven by Playwright can open a device and run them.
import { acquireNavigatorDevice } from '../../../gpu/host/device-navigator.js';
import { describeAdapter } from '../../../gpu/host/software-adapter.js';
import { WebGpuUnavailableError } from '../../../gpu/host/with-timeout.js';
import { WebGpuBackend } from '../../../gpu/webgpu-backend.js';
import { allCases } from './all-cases.js';

/** Outcome of one case, with the thrown error's name and message in `error`, or null when the case passed. */
export interface CaseResult {
  name: string;
  ok: boolean;
  error: string | null;
  /** Wall time of the case in the page, in milliseconds. */
  durationMs: number;
}

/** The adapter that runs the cases, or the reason no device could be acquired. */
export type DeviceOpening = { adapter: string; unavailable?: undefined } | { adapter?: undefined; unavailable: string };

/** The functions this bundle adds to the page's globalThis. */
export interface WebGpuConformancePage {
  openWebGpuDevice(): Promise<DeviceOpening>;
  runWebGpuConformance(): Promise<CaseResult[]>;
}

let backend: Promise<WebGpuBackend> | undefined;

// acquireNavigatorDevice rather than acquireDevice, because a page without navigator.gpu (an insecure context,
// WebGPU disabled) should report that, not fall through to the Node path and fail to load the 'webgpu' package.
function openBackend(): Promise<WebGpuBackend> {
  backend ??= acquireNavigatorDevice().then((device) => new WebGpuBackend(device));
  return backend;
}

/** Acquires the device through navigator.gpu. Returns the reason when no adapter is available, and rejects on any other error. */
async function openWebGpuDevice(): Promise<DeviceOpening> {
  try {
    const { device } = await openBackend();
    return { adapter: describeAdapter(device.adapterInfo) };
  } catch (error) {
    if (!(error instanceof WebGpuUnavailableError)) throw error;
    return { unavailable: error.message };
  }
}

/** Runs every case in order on one device; a case that throws is recorded and the next one still runs. */
async function runWebGpuConformance(): Promise<CaseResult[]> {
  const gpu = await openBackend();

  const results: CaseResult[] = [];
  for (const testCase of await allCases()) {
    const start = performance.now();
    let error: string | null = null;
    try {
      await testCase.run(gpu);
    } catch (thrown) {
      error = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
    }
    results.push({ name: testCase.name, ok: error === null, error, durationMs: performance.now() - start });
  }
  return results;
}

const page: WebGpuConformancePage = { openWebGpuDevice, runWebGpuConformance };
Object.assign(globalThis, page);

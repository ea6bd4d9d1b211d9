// The WebGPU conformance cases under Deno's test runner, one Deno.test per case, on Deno's navigator.gpu (wgpu).
//
// Written in TypeScript and compiled by tsc with the rest of test/, so the calls into the cases and the backend are
// type-checked against the Node config. Deno runs the compiled dist/test/deno/webgpu-conformance.deno.js, whose
// relative imports resolve to the compiled gpu/ and test/ modules. The Node config has no Deno types, hence the
// small declaration of the Deno API used here. The name does not end in .test.ts, so `npm test`, which passes Node
// only the *.test.js files, never runs it under Node. test/webgpu/deno-runtime.test.ts starts Deno on it instead.
import { acquireDevice } from '../../gpu/host/acquire-device.js';
import { describeAdapter } from '../../gpu/host/software-adapter.js';
import { WebGpuUnavailableError } from '../../gpu/host/with-timeout.js';
import { WebGpuBackend } from '../../gpu/webgpu-backend.js';
import { allCases } from '../webgpu/conformance/all-cases.js';

declare const Deno: {
  test(definition: { name: string; ignore?: boolean; fn: () => void | Promise<void> }): void;
  env: { get(key: string): string | undefined };
};

// Line prefixes that test/webgpu/deno-runtime.test.ts reads: which adapter ran, or why the cases were ignored.
const ADAPTER_PREFIX = 'deno-webgpu-adapter:';
const UNAVAILABLE_PREFIX = 'deno-webgpu-unavailable:';

type Opening = { backend: WebGpuBackend; unavailable?: undefined } | { backend?: undefined; unavailable: string };

async function openBackend(): Promise<Opening> {
  try {
    const device = await acquireDevice();
    console.log(`${ADAPTER_PREFIX} ${describeAdapter(device.adapterInfo)}`);
    return { backend: new WebGpuBackend(device) };
  } catch (error) {
    if (!(error instanceof WebGpuUnavailableError)) throw error;
    return { unavailable: `no WebGPU device in Deno: ${error.message}` };
  }
}

const cases = await allCases();
const opening = await openBackend();

if (opening.unavailable !== undefined) {
  console.log(`${UNAVAILABLE_PREFIX} ${opening.unavailable}`);
  if (Deno.env.get('CI')) {
    Deno.test({
      name: 'deno webgpu is available in CI',
      fn: () => {
        throw new Error(opening.unavailable);
      },
    });
  }
}

for (const testCase of cases) {
  Deno.test({
    name: testCase.name,
    ignore: opening.backend === undefined,
    fn: () => testCase.run(opening.backend!),
  });
}

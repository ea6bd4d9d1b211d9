// The WebGPU conformance cases in one list, for the runners: Deno (test/deno/) and a Chromium page (browser-entry.ts).
import type { ConformanceCase } from './conformance-case.js';
import { floatCases } from './float-cases.js';
import { kbitNetworkCases } from './kbit-network-cases.js';
import { packedCases } from './packed-cases.js';
import { recurrentCases } from './recurrent-cases.js';

/** Collects every WebGPU conformance case, packed kernels first. Rejects duplicate names, because each runner reports by name. */
export async function allCases(): Promise<ConformanceCase[]> {
  const cases = [...packedCases, ...kbitNetworkCases, ...floatCases, ...recurrentCases];

  const seen = new Set<string>();
  for (const { name } of cases) {
    if (seen.has(name)) throw new Error(`two WebGPU conformance cases are named '${name}'; give each case a unique name`);
    seen.add(name);
  }
  return cases;
}

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { PackedModel, PackedNetwork } from '../../sdk/compile/graph.js';
import { QnnError } from '../../sdk/errors.js';
import { encodeQnn } from '../../sdk/format/qnn-file.js';
import { exportOnnx } from '../../sdk/onnx/export-onnx.js';
import { runFuzzTarget } from './harness.js';
import { fuzzCaseCount } from './mutator.js';
import { convNetwork, denseMlpNetwork, kbitNetwork } from './seed-files.js';

// An imported network packs float weights (4 bytes each in the file) into bits, and every
// unit of a layer costs at least one weight byte in the file while its decoded per-unit
// arrays (threshold, direction, bias, scale, shift, correction) take at most 25 bytes,
// so 32 bytes per input byte bounds the result with room to spare.
const ONNX_ALLOCATION_FACTOR = 32;

const CASES = fuzzCaseCount(2000);

type ImportOnnx = (bytes: Uint8Array, options?: { source?: string }) => PackedNetwork;

// The importer is another helper's file; the target runs as soon as it exists and is skipped before.
const IMPORTER_URL = new URL('../../sdk/onnx/import-onnx.js', import.meta.url);

async function loadImporter(): Promise<ImportOnnx | null> {
  if (!existsSync(fileURLToPath(IMPORTER_URL))) return null;
  const module = (await import(IMPORTER_URL.href)) as { importOnnx?: ImportOnnx };
  assert.equal(typeof module.importOnnx, 'function', 'sdk/onnx/import-onnx.ts must export importOnnx');
  return module.importOnnx!;
}

/** Exports each network in each format, keeping the files the exporter can write (it may reject some layer kinds with a QnnError). */
function onnxSeeds(): { seeds: Uint8Array[]; skipped: string[] } {
  const seeds: Uint8Array[] = [];
  const skipped: string[] = [];
  const networks: [string, () => PackedNetwork | PackedModel][] = [
    ['dense MLP', denseMlpNetwork],
    ['conv network', convNetwork],
    ['k-bit network', kbitNetwork],
  ];
  for (const [name, build] of networks) {
    for (const format of ['onnx', 'qonnx'] as const) {
      try {
        seeds.push(exportOnnx(build(), { format }));
      } catch (error) {
        if (!(error instanceof QnnError)) throw error;
        skipped.push(`${name} as ${format}: ${error.message}`);
      }
    }
  }
  return { seeds, skipped };
}

describe(`ONNX/QONNX import on ${CASES} mutated files: load or QnnError`, () => {
  test('importOnnx on mutated exports', async (t) => {
    const importOnnx = await loadImporter();
    if (importOnnx === null) {
      t.skip('sdk/onnx/import-onnx.ts does not exist yet');
      return;
    }

    // Round trips are the ONNX tests' business; here a seed only has to import to be useful.
    const exported = onnxSeeds();
    const skipped = [...exported.skipped];
    const seeds = exported.seeds.filter((seed, index) => {
      try {
        importOnnx(seed, { source: `seed ${index}` });
        return true;
      } catch (error) {
        if (!(error instanceof QnnError)) throw error;
        skipped.push(`exported seed ${index} does not import: ${error.message}`);
        return false;
      }
    });
    for (const reason of skipped) t.diagnostic(`seed left out: ${reason}`);
    assert.ok(seeds.length >= 2, `expected at least the dense MLP in both formats, got ${seeds.length} seeds`);

    const summary = runFuzzTarget({
      name: 'ONNX import',
      seeds,
      decode: (bytes) => importOnnx(bytes, { source: 'fuzz.onnx' }),
      allocationFactor: ONNX_ALLOCATION_FACTOR,
      // An imported network must satisfy the rules of the .qnn format, which encodeQnn checks.
      check: (network) => {
        encodeQnn(network);
      },
      cases: CASES,
    });
    assert.ok(summary.rejected > 0, JSON.stringify(summary));
  });
});

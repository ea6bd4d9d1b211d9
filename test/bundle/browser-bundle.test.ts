// The browser and Deno bundles as files: self-contained modules, WASM beside the browser bundle, and Node-only
// functions that fail with a clear error instead of breaking the page's module graph.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

import type * as Sdk from '../../sdk/index.js';

const BUNDLES = new URL('../../bundles/', import.meta.url);
const ASM = new URL('../../asm/', import.meta.url);
const SELF_CONTAINED = ['browser/qnn-sdk.js', 'browser/qnn-worker.js'];

/** Static import and export-from declarations at the start of a line, as rollup writes them. */
const STATIC_IMPORT = /^(?:import|export)\b[^;(]*?\bfrom\s*['"]([^'"]+)['"]/gm;

test('browser bundles import nothing', async () => {
  for (const file of SELF_CONTAINED) {
    const code = await readFile(new URL(file, BUNDLES), 'utf8');
    const imports = [...code.matchAll(STATIC_IMPORT)].map((match) => match[1]);
    assert.deepEqual(imports, [], `${file} has static imports`);
    assert.doesNotMatch(code, /^import\s*['"]/m, `${file} has a side-effect import`);
  }
});

test('browser bundle has the WASM beside it', async () => {
  for (const name of ['qnn-simd.wasm', 'qnn-scalar.wasm', 'qnn-simd-threads.wasm', 'qnn-scalar-threads.wasm']) {
    const beside = await readFile(new URL(`browser/${name}`, BUNDLES));
    const built = await readFile(new URL(name, ASM));
    assert.ok(beside.equals(built), `browser/${name} equals dist/asm/${name}`);
  }
});

test('browser bundle runs WASM from its folder', async () => {
  const sdk = (await import(new URL('browser/qnn-sdk.js', BUNDLES).href)) as typeof Sdk;
  const backend = await sdk.createWasmBackend();

  // Signs +1,-1,+1,-1 against +1,+1,+1,+1 (bit 1 means -1): dot = 4 - 2 * popcount(0b1010) = 0.
  const a = new Uint32Array([0b1010]);
  const b = new Uint32Array([0b0000]);
  assert.deepEqual(Array.from(backend.binaryGemm(a, b, 1, 1, 4)), [0]);
});

test('node-only functions throw in the browser bundle', async () => {
  const sdk = (await import(new URL('browser/qnn-sdk.js', BUNDLES).href)) as typeof Sdk;

  await assert.rejects(sdk.loadQnn('model.qnn'), (error: Error) => error instanceof sdk.QnnError && /does not exist in a browser/.test(error.message));
});

test('deno bundle declares its types', async () => {
  const code = await readFile(new URL('deno/qnn-sdk.js', BUNDLES), 'utf8');
  const declarations = await readFile(new URL('deno/qnn-sdk.d.ts', BUNDLES), 'utf8');

  assert.ok(code.startsWith('/* @ts-self-types="./qnn-sdk.d.ts" */'), 'the Deno bundle names its declaration file');
  assert.equal(declarations.trim(), "export * from '../../sdk/index.js';");
});

// The WebGPU conformance cases under Deno: starts `deno test` on the compiled test/deno/webgpu-conformance.deno.ts.
//
// Deno's WebGPU is wgpu, not Dawn as in Node and Chromium. It runs here on Mesa's lavapipe rather than on the
// SwiftShader that the other two use. A bug in one driver or one WGSL compiler therefore shows up as a case that
// passes in one runtime and fails in another.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

import { allCases } from './conformance/all-cases.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
const RUNNER = fileURLToPath(new URL('../deno/webgpu-conformance.deno.js', import.meta.url));

/** Where Debian's mesa-vulkan-drivers puts lavapipe's ICD file, named lvp_icd.<arch>.json. */
const ICD_FOLDER = '/usr/share/vulkan/icd.d';

// Line prefixes printed by test/deno/webgpu-conformance.deno.ts, which Node cannot import because it calls Deno.test.
const ADAPTER_PREFIX = 'deno-webgpu-adapter:';
const UNAVAILABLE_PREFIX = 'deno-webgpu-unavailable:';

// Generous because lavapipe compiles every pipeline on the CPU, and CI machines may be busy.
const DENO_TIMEOUT_MS = 300_000;

interface DenoRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved in arrival order. */
  output: string;
}

/** Finds the first output line that starts with `prefix` and returns the rest of it, trimmed. */
function lineAfter(output: string, prefix: string): string | undefined {
  const line = output.split('\n').find((candidate) => candidate.startsWith(prefix));
  return line?.slice(prefix.length).trim();
}

function lavapipeIcd(): string | undefined {
  if (!existsSync(ICD_FOLDER)) return undefined;
  const file = readdirSync(ICD_FOLDER).find((name) => /^lvp_icd\..+\.json$/.test(name));
  return file === undefined ? undefined : join(ICD_FOLDER, file);
}

/**
 * Chooses Vulkan through lavapipe, unless the caller set VK_ICD_FILENAMES or DENO_WEBGPU_BACKEND. When Vulkan
 * finds no driver, Deno's wgpu falls back to OpenGL, whose Mesa driver reports the same "llvmpipe" adapter.
 * DENO_WEBGPU_BACKEND=vulkan therefore keeps a broken Vulkan setup from passing unnoticed on OpenGL.
 */
function vulkanEnvironment(): { env: Record<string, string>; driver: string } {
  const backend = process.env.DENO_WEBGPU_BACKEND ?? 'vulkan';
  const env: Record<string, string> = { DENO_WEBGPU_BACKEND: backend };

  const configured = process.env.VK_ICD_FILENAMES;
  if (configured !== undefined) return { env, driver: `DENO_WEBGPU_BACKEND=${backend}, VK_ICD_FILENAMES=${configured}` };

  const icd = lavapipeIcd();
  if (icd === undefined) {
    const driver = `DENO_WEBGPU_BACKEND=${backend} with the Vulkan loader's default drivers (no lavapipe ICD in ${ICD_FOLDER}; install mesa-vulkan-drivers)`;
    return { env, driver };
  }
  return { env: { ...env, VK_ICD_FILENAMES: icd }, driver: `lavapipe (DENO_WEBGPU_BACKEND=${backend}, VK_ICD_FILENAMES=${icd})` };
}

/**
 * Runs Deno's test runner on the compiled runner file. Deno reads its own modules without --allow-read and gets
 * only CI from the environment. Without a valid XDG_RUNTIME_DIR every start prints an error, so it gets a fresh one.
 */
async function runDeno(env: Record<string, string>): Promise<DenoRun> {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'qnn-deno-xdg-'));
  const args = ['test', '--no-check', '--no-lock', '--allow-env=CI', RUNNER];
  const child = spawn(DENO, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, XDG_RUNTIME_DIR: runtimeDir, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: DENO_TIMEOUT_MS,
  });

  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));

  try {
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, closeSignal) => resolve([code, closeSignal]));
    });
    return { exitCode, signal, output: Buffer.concat(chunks).toString('utf8') };
  } finally {
    rmSync(runtimeDir, { recursive: true, force: true });
  }
}

if (!existsSync(DENO)) {
  const reason = `Deno not found at ${DENO} (run 'npm ci'; the deno package is a dev dependency)`;
  it('deno webgpu conformance', { skip: process.env.CI ? false : reason }, () => {
    assert.fail(reason);
  });
} else {
  it('deno webgpu conformance', async (t) => {
    const { env, driver } = vulkanEnvironment();
    const run = await runDeno(env);
    const failure = (problem: string): string => `${problem}; Deno ran on ${driver}. Deno's output:\n${run.output}`;

    assert.equal(run.signal, null, failure(`deno test was killed by ${run.signal} (timeout ${DENO_TIMEOUT_MS} ms)`));
    assert.equal(run.exitCode, 0, failure(`deno test exited with code ${run.exitCode}`));

    const unavailable = lineAfter(run.output, UNAVAILABLE_PREFIX);
    if (unavailable !== undefined) {
      t.skip(`${unavailable}; tried ${driver}`);
      return;
    }

    const adapter = lineAfter(run.output, ADAPTER_PREFIX);
    assert.ok(adapter !== undefined, failure(`no '${ADAPTER_PREFIX}' line in Deno's output`));
    t.diagnostic(`deno-runtime: WebGPU conformance cases ran on ${adapter}, driver ${driver}`);

    const passed = /\| (\d+) passed/.exec(run.output);
    assert.ok(passed !== null, failure(`no "N passed" summary in Deno's output`));
    assert.equal(Number(passed[1]), (await allCases()).length, failure('Deno passed a different number of cases than allCases() has'));
  });
}

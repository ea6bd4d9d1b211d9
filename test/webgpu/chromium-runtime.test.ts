// The WebGPU conformance cases in Chromium: a loopback page loads the browser bundle, Playwright drives it, and each
// case becomes one test here. Chromium brings its own WebGPU stack (Dawn) and, headless, runs it on SwiftShader.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { it, describe } from 'node:test';

import { chromium, type Browser, type Page } from 'playwright-core';

import { allCases } from './conformance/all-cases.js';
import type { CaseResult, DeviceOpening, WebGpuConformancePage } from './conformance/browser-entry.js';

/** Debian's chromium package; playwright-core downloads no browser of its own. */
const CHROMIUM = '/usr/bin/chromium';

const BUNDLE = new URL('../../bundles/test/webgpu-conformance.js', import.meta.url);

const PAGE_HTML = '<!doctype html><meta charset="utf-8"><title>WebGPU conformance</title><script type="module" src="/webgpu-conformance.js"></script>';

const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  // Chromium does not start as root with its sandbox on, and CI containers often run as root.
  '--no-sandbox',
  // Without this Chromium keeps retrying its background requests to Google services.
  '--disable-background-networking',
];

/** Wall-time limit for all cases in the page. SwiftShader compiles every pipeline on the CPU, so a busy CI machine needs the margin. */
const CASES_TIMEOUT_MS = 300_000;

type PageRun = { adapter: string; results: CaseResult[]; unavailable?: undefined } | { unavailable: string };

/** Resolves like `promise`, or rejects with an Error naming `operation` after `timeoutMs`. */
async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, operation: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${operation} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  // After the deadline, closing the browser rejects `promise` too, and that rejection must not go unhandled.
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Serves the page and the bundle on 127.0.0.1, a secure context, which navigator.gpu requires. */
async function startServer(bundle: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE_HTML);
    } else if (path === '/webgpu-conformance.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
    } else {
      response.writeHead(404).end();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}

/** Loads the page and waits for the bundle, so that a bundle that fails to load reports its own error. */
async function loadConformancePage(page: Page, url: string): Promise<void> {
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));

  await page.goto(url);
  try {
    await page.waitForFunction(() => 'runWebGpuConformance' in globalThis, undefined, { timeout: 10_000 });
  } catch (error) {
    const reason = pageErrors.join('; ') || (error as Error).message;
    throw new Error(`the WebGPU conformance bundle failed to load in Chromium: ${reason}`, { cause: error });
  }
}

/** Opens the device in the page and runs every case there. */
async function runInChromium(browser: Browser, url: string): Promise<PageRun> {
  const page = await browser.newPage();
  await loadConformancePage(page, url);

  const opening: DeviceOpening = await page.evaluate(() => (globalThis as unknown as WebGpuConformancePage).openWebGpuDevice());
  if (opening.unavailable !== undefined) return { unavailable: `no WebGPU device in Chromium ${browser.version()}: ${opening.unavailable}` };

  const running = page.evaluate(() => (globalThis as unknown as WebGpuConformancePage).runWebGpuConformance());
  const results = await withDeadline(running, CASES_TIMEOUT_MS, `the WebGPU conformance cases in Chromium on ${opening.adapter}`);
  return { adapter: opening.adapter, results };
}

async function runConformance(): Promise<PageRun> {
  if (!existsSync(CHROMIUM)) return { unavailable: `Chromium not found at ${CHROMIUM} (install Debian's chromium package)` };
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE.pathname} is missing; build it with 'npm run build:bundle'`);

  const server = await startServer(await readFile(BUNDLE, 'utf8'));
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const { port } = server.address() as AddressInfo;
      return await runInChromium(browser, `http://127.0.0.1:${port}/`);
    } finally {
      await browser.close();
    }
  } finally {
    server.close();
  }
}

const run = await runConformance();

if (run.unavailable !== undefined && process.env.CI) {
  it('chromium webgpu is available in CI', () => {
    assert.fail(run.unavailable);
  });
}

if (run.unavailable !== undefined) {
  it('webgpu conformance in chromium', { skip: run.unavailable }, () => {});
} else {
  console.log(`chromium-runtime: WebGPU conformance cases ran on ${run.adapter}`);

  describe(`webgpu conformance in chromium on ${run.adapter}`, () => {
    it('page ran every case', async () => {
      const expected = (await allCases()).map((testCase) => testCase.name);
      assert.deepEqual(run.results.map((result) => result.name), expected);
    });

    for (const result of run.results) {
      it(result.name, (t) => {
        t.diagnostic(`${result.durationMs.toFixed(0)} ms in Chromium`);
        assert.ok(result.ok, `in Chromium: ${result.error}`);
      });
    }
  });
}

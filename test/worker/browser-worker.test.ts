// The browser bundle's training worker in headless Chromium: a loopback page starts qnn-worker.js, trains a small
// synthetic task in it, and keeps its main thread responsive meanwhile. The page measures how late its 10 ms timer
// fires and how long real mouse clicks (sent by Playwright) wait for their handler while the worker trains.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';

import { chromium } from 'playwright-core';

import type { TrainConfig, TrainReport } from '../../sdk/worker/protocol.js';

/** Debian's chromium package; playwright-core downloads no browser of its own. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking'];
const BUNDLE_DIR = new URL('../../bundles/browser/', import.meta.url);

/** Longest pause of the main thread that a user does not notice as lag. */
const MAX_MAIN_THREAD_DELAY_MS = 100;

/**
 * When a 10 ms timer is already this late with no training running, the scheduler alone (a loaded machine, CI
 * runners sharing cores) breaks the 100 ms bound, and only the coarse stall bound below is asserted.
 */
const QUIET_BASELINE_MS = MAX_MAIN_THREAD_DELAY_MS;

/** Far below the whole run (seconds), which a page training on its own main thread would stall its timers for. */
const MAX_STALL_MS = 1000;

const PAGE_HTML = `<!doctype html><meta charset="utf-8"><title>qnn worker</title>
<button id="probe" style="width:200px;height:100px">probe</button>
<script type="module">import * as qnn from '/qnn-sdk.js'; globalThis.qnn = qnn;</script>`;

const CONTENT_TYPES: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

interface PageRun {
  crossOriginIsolated: boolean;
  /** Largest lateness of the 10 ms timer over 2 s before the worker starts. */
  baselineTimerDelayMs: number;
  report: TrainReport;
  qnnBytes: number;
  batchEvents: number;
  epochEvents: number[];
  timerTicks: number;
  maxTimerDelayMs: number;
  clicks: number;
  maxClickDelayMs: number;
  predictedCorrect: number;
}

/** Serves the bundle folder on 127.0.0.1 with COOP/COEP, the headers that make SharedArrayBuffer available. */
async function startServer(): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const headers = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    if (path === '/') {
      response.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(PAGE_HTML);
      return;
    }
    const name = path.slice(1);
    if (!/^[\w.-]+\.(js|wasm)$/.test(name)) {
      response.writeHead(404).end();
      return;
    }
    readFile(new URL(name, BUNDLE_DIR)).then(
      (body) => response.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES[name.slice(name.lastIndexOf('.'))] }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}

const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (install Debian's chromium package)`;

test('worker keeps the Chromium main thread responsive', { skip, timeout: 120_000 }, async (t) => {
  if (!existsSync(new URL('qnn-worker.js', BUNDLE_DIR))) assert.fail(`${BUNDLE_DIR.pathname}qnn-worker.js is missing; build it with 'npm run build:bundle'`);
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'qnn' in globalThis, undefined, { timeout: 20_000 }).catch((error: Error) => {
      throw new Error(`the browser bundle failed to load: ${pageErrors.join('; ') || error.message}`);
    });

    // Raw mouse events at fixed coordinates: page.click would first inject Playwright's selector engine into the
    // page, a script whose compile stalls the main thread by itself. One click before training warms up the input path.
    const box = await page.locator('#probe').boundingBox();
    assert.ok(box !== null, 'the probe button is laid out');
    const clickProbe = (): Promise<void> => page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await clickProbe();

    const running = page.evaluate(runInPage);
    // Real input events while the worker trains: the page records how long each waited for its handler.
    await page.waitForFunction(() => (globalThis as unknown as { trainingStarted?: boolean }).trainingStarted === true, undefined, { timeout: 30_000 });
    for (let i = 0; i < 5; i++) {
      await clickProbe();
      await page.waitForTimeout(100);
    }
    const run: PageRun = await running;

    assert.equal(run.crossOriginIsolated, true, 'COOP/COEP make the page cross-origin isolated');
    assert.deepEqual(run.epochEvents, [0, 1, 2, 3]);
    // 1200 samples in batches of 50: 24 batches in each of 4 epochs, one event each.
    assert.equal(run.batchEvents, 4 * 24);
    assert.ok(run.report.packedTestAccuracy! > 0.8, `packed test accuracy ${run.report.packedTestAccuracy} (chance is 0.25)`);
    assert.ok(run.qnnBytes > 0);
    assert.equal(run.predictedCorrect / 400, run.report.packedTestAccuracy, 'predict() in the worker gives the reported packed accuracy');

    const measured = `timer ${run.maxTimerDelayMs.toFixed(1)} ms late at most over ${run.timerTicks} ticks (${run.baselineTimerDelayMs.toFixed(1)} ms before training), click handlers ${run.maxClickDelayMs.toFixed(1)} ms at most over ${run.clicks} clicks, training ${run.report.seconds.toFixed(1)} s`;
    t.diagnostic(measured);
    assert.ok(run.timerTicks >= 20, `only ${run.timerTicks} timer ticks fell inside the training run; it ended too soon to measure`);
    assert.ok(run.clicks >= 1, `no click landed during training (${run.clicks})`);
    assert.ok(Math.max(run.maxTimerDelayMs, run.maxClickDelayMs) < MAX_STALL_MS, `the main thread stalled during training: ${measured}`);
    if (run.baselineTimerDelayMs >= QUIET_BASELINE_MS) {
      t.skip(`the 100 ms bound is unmeasurable here: with no training running a 10 ms timer already fired ${run.baselineTimerDelayMs.toFixed(1)} ms late (machine busy); ${measured}`);
      return;
    }
    assert.ok(run.maxTimerDelayMs < MAX_MAIN_THREAD_DELAY_MS, `a 10 ms timer fired late during training: ${measured}`);
    assert.ok(run.maxClickDelayMs < MAX_MAIN_THREAD_DELAY_MS, `a click waited for its handler during training: ${measured}`);
  } finally {
    await browser.close();
    server.close();
  }
});

/** Runs in the page: builds the data, trains in the worker, and measures the main thread meanwhile. */
async function runInPage(): Promise<PageRun> {
  const qnn = (globalThis as unknown as { qnn: typeof import('../../sdk/index.js') }).qnn;
  const page = globalThis as unknown as { trainingStarted?: boolean };

  // Four classes, each brightening one quarter of 64 pixels over uniform noise, from a fixed-seed generator.
  const task = (count: number, seed: number): { inputs: Uint8Array; labels: Uint8Array } => {
    const random = new qnn.Random(seed);
    const inputs = new Uint8Array(count * 64);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      labels[i] = i % 4;
      for (let j = 0; j < 64; j++) inputs[i * 64 + j] = Math.floor(random.next() * 140) + (j >> 4 === labels[i] ? 110 : 0);
    }
    return { inputs, labels };
  };
  const train = task(1200, 1);
  const test = task(400, 2);
  const config: TrainConfig = {
    model: { kind: 'mlp', hidden: [256, 256] },
    classes: 4,
    epochs: 4,
    batchSize: 50,
    optimizer: 'adam',
    learningRate: 0.005,
    seed: 3,
    train: { inputs: train.inputs, labels: train.labels, features: 64 },
    test: { inputs: test.inputs.slice(), labels: test.labels.slice(), features: 64 },
  };

  let timerTicks = 0;
  let maxTimerDelayMs = 0;
  let clicks = 0;
  let maxClickDelayMs = 0;
  let measuring = false;
  let baselineTimerDelayMs = 0;
  let measuringBaseline = true;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    if (measuringBaseline) baselineTimerDelayMs = Math.max(baselineTimerDelayMs, now - last - 10);
    if (measuring) {
      timerTicks++;
      maxTimerDelayMs = Math.max(maxTimerDelayMs, now - last - 10);
    }
    last = now;
  }, 10);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  measuringBaseline = false;
  document.getElementById('probe')!.addEventListener('click', (event) => {
    if (!measuring) return;
    clicks++;
    // event.timeStamp is when the browser received the input, on the performance.now() clock.
    maxClickDelayMs = Math.max(maxClickDelayMs, performance.now() - event.timeStamp);
  });

  const worker = qnn.createTrainingWorker();
  let batchEvents = 0;
  const epochEvents: number[] = [];
  const result = await worker.train(config, {
    transfer: true,
    onProgress: (event) => {
      if (event.type === 'batch') {
        batchEvents++;
        measuring = true;
        page.trainingStarted = true;
      } else {
        epochEvents.push(event.epoch);
      }
    },
  });
  measuring = false;
  clearInterval(timer);

  const prediction = await worker.predict(test.inputs);
  const predictedCorrect = Array.from(prediction.classes).filter((label, i) => label === test.labels[i]).length;
  worker.terminate();
  return {
    crossOriginIsolated: globalThis.crossOriginIsolated,
    baselineTimerDelayMs,
    report: result.report,
    qnnBytes: result.qnn.length,
    batchEvents,
    epochEvents,
    timerTicks,
    maxTimerDelayMs,
    clicks,
    maxClickDelayMs,
    predictedCorrect,
  };
}

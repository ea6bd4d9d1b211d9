// The demo pages in headless Chromium, driven like a person would: the demo
// server starts as `npm run demos` starts it, Playwright clicks and draws, and
// the numbers the pages show are checked against the SDK in Node.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { type Browser, type Page, chromium } from 'playwright-core';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { loadMnist } from '../../sdk/data/mnist.js';
import { accuracyOf, predictPacked } from '../../sdk/finetune/fine-tune.js';
import { loadQnnNetwork } from '../../sdk/format/qnn-file.js';

/** Debian's chromium package; playwright-core downloads no browser of its own. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--no-sandbox', '--disable-background-networking'];

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SCREENSHOTS = join(REPO, 'test-output', 'screenshots');
const TEST_SAMPLES = 200;
const SERVER_ARGS = ['--port', '0', '--train-samples', '1000', '--test-samples', String(TEST_SAMPLES)];
const PAGE_TIMEOUT_MS = 90_000;

/** Starts the server with the command of the package.json "demos" script and returns its URL, the first line it prints. */
async function startDemoServer(): Promise<{ server: ChildProcess; url: string }> {
  const scripts = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')).scripts as Record<string, string>;
  const [command, ...args] = scripts.demos.split(' ');
  assert.equal(command, 'node', `the "demos" script should start node, got '${scripts.demos}'`);

  const server = spawn(process.execPath, [...args, ...SERVER_ARGS], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (chunk) => (stderr += chunk));
  const lines = createInterface({ input: server.stdout! });
  const firstLine = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    server.once('exit', (code) => reject(new Error(`the demo server exited with code ${code} before printing its URL: ${stderr}`)));
  });
  return { server, url: firstLine };
}

function parsePercent(text: string | null, figure: string): number {
  const match = /^(\d+(?:\.\d+)?)%$/.exec(text?.trim() ?? '');
  assert.ok(match, `${figure} should read like '87.5%', got '${text}'`);
  return Number(match[1]) / 100;
}

async function waitForState(page: Page, state: string): Promise<void> {
  await page.waitForSelector(`body[data-state="${state}"], body[data-state="error"]`, { timeout: PAGE_TIMEOUT_MS });
  const actual = await page.getAttribute('body', 'data-state');
  if (actual !== state) assert.fail(`the page reported an error: ${await page.textContent('#status')}`);
}

/** Draws a polyline on the canvas with the mouse, points in canvas pixels (0..280). */
async function drawStroke(page: Page, points: [number, number][]): Promise<void> {
  const box = (await page.locator('#pad').boundingBox())!;
  const scale = box.width / 280;
  const at = ([x, y]: [number, number]): [number, number] => [box.x + x * scale, box.y + y * scale];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const point of points.slice(1)) await page.mouse.move(...at(point), { steps: 4 });
  await page.mouse.up();
}

function ellipse(cx: number, cy: number, rx: number, ry: number): [number, number][] {
  return Array.from({ length: 25 }, (_v, i) => [cx + rx * Math.sin((i / 24) * 2 * Math.PI), cy - ry * Math.cos((i / 24) * 2 * Math.PI)]);
}

/**
 * Personal styles that the pre-trained model misreads: a European 1 with a long
 * flag reads as 7, and a slashed zero as 3 or 8. A plain 1 and a plain 7, which
 * it reads correctly, stand beside them, so fine-tuning has to keep 1s and 7s apart.
 */
const DRAWINGS: { label: number; strokes: [number, number][][] }[] = [
  { label: 1, strokes: [[[80, 110], [170, 40], [170, 240]]] },
  { label: 1, strokes: [[[90, 100], [160, 45], [150, 235]]] },
  { label: 0, strokes: [[[80, 40], [200, 40], [200, 240], [80, 240], [80, 40]], [[200, 40], [80, 240]]] },
  { label: 0, strokes: [ellipse(140, 140, 65, 95), [[195, 60], [85, 220]]] },
  { label: 1, strokes: [[[140, 40], [140, 240]]] },
  { label: 7, strokes: [[[70, 50], [210, 50], [120, 240]]] },
];

const missing = existsSync(CHROMIUM) ? null : `Chromium not found at ${CHROMIUM} (install Debian's chromium package)`;
if (missing !== null && process.env.CI) {
  test('chromium is available in CI', () => assert.fail(missing));
}

describe('demo pages in chromium', { skip: missing ?? false }, () => {
  let server: ChildProcess;
  let url: string;
  let browser: Browser;
  let downloads: string;

  before(async () => {
    ({ server, url } = await startDemoServer());
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    downloads = await mkdtemp(join(tmpdir(), 'qnn-demos-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    console.log(`demo-pages: screenshots in ${SCREENSHOTS}`);
  });

  after(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
    if (downloads !== undefined) await rm(downloads, { recursive: true, force: true });
  });

  test('server prints its loopback URL first', () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  test('index is cross-origin isolated', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true);
    assert.equal(await page.locator('a[href="/train/"]').count(), 1);
    assert.equal(await page.locator('a[href="/finetune/"]').count(), 1);
    await page.close();
  });

  test('train demo trains and downloads a .qnn', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${url}train/`);
    await waitForState(page, 'ready');

    await page.selectOption('#model', '128');
    await page.selectOption('#samples', '1000');
    await page.fill('#epochs', '2');
    await page.click('#train');
    // Curves and numbers update while the worker trains.
    await page.waitForFunction(() => document.querySelector('#loss')?.textContent !== '–', undefined, { timeout: PAGE_TIMEOUT_MS });
    await waitForState(page, 'done');
    await page.screenshot({ path: join(SCREENSHOTS, 'train.png'), fullPage: true });

    const loss = Number(await page.textContent('#loss'));
    const shownAccuracy = parsePercent(await page.textContent('#packed-accuracy'), 'packed test accuracy');
    assert.ok(Number.isFinite(loss), `loss ${loss}`);
    assert.ok(loss > 0, `loss ${loss}`);
    assert.ok(shownAccuracy > 0.5, `packed test accuracy ${shownAccuracy} is not well above chance (0.1)`);
    assert.equal(await page.locator('#loss-chart canvas').count() > 0, true);
    assert.equal(await page.locator('#digits .digit').count(), 16);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    assert.match(download.suggestedFilename(), /\.qnn$/);
    const network = await loadQnnNetwork(file);
    assert.deepEqual(network.inputShape, [784]);
    assert.deepEqual(
      network.layers.map((layer) => (layer.kind === 'dense' ? layer.units : layer.kind)),
      [128, 10],
    );

    // The downloaded model scores the served test digits as the page showed.
    const mnist = await loadMnist({ trainLimit: 1, testLimit: TEST_SAMPLES });
    const accuracy = accuracyOf(predictPacked(network, new ReferenceBackend(), mnist.test.images), mnist.test.labels);
    assert.equal((accuracy * 100).toFixed(1), (shownAccuracy * 100).toFixed(1));
    await context.close();
  });

  test('bench demo times checked kernels', async () => {
    const page = await browser.newPage();
    // ?quick: one small shape, so the page's timings take a second or two.
    await page.goto(`${url}bench/?quick`);
    await waitForState(page, 'ready');

    await page.click('#run');
    await waitForState(page, 'done');
    const rows = await page.locator('#results tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent ?? '')));
    // Chromium with --enable-unsafe-webgpu has a (SwiftShader) adapter, so the GPU rows must be there.
    // A row exists only after its result matched the SDK's WASM result; the check column names the check that passed.
    assert.deepEqual(
      rows.map(([kernel, , threads, , , , check]) => [kernel, threads, check.replace(/\d\.\de[-+]\d+/, 'x')]),
      [
        ['qnn binaryGemm (WASM)', '1', 'reference'],
        // The page is cross-origin isolated, so the threaded backend gets the 2 threads the page requests by default.
        ['qnn binaryGemm (WASM)', '2', 'equal to 1 thread'],
        ['qnn float32 matmul (WASM)', '1', 'reference'],
        ['tfjs matMul f32 (wasm)', '1', 'max |diff| x'],
        ['tfjs matMul f32 (webgpu)', 'GPU', 'max |diff| x'],
        ['qnn binaryGemm (WebGPU)', 'GPU', 'equal to WASM'],
      ],
      `rows: ${JSON.stringify(rows)}; notes: ${await page.textContent('#peers')}`,
    );
    for (const [, shape, , ms, gops, gmacs] of rows) {
      assert.equal(shape, '64 x 64 x 512');
      assert.ok(Number(ms) > 0, `median ms '${ms}'`);
      assert.ok(Number(gops) > 0, `GOPS '${gops}'`);
      // GOPS counts 2 operations per multiply-accumulate; both are rounded to 0.01.
      assert.ok(Math.abs(Number(gops) - 2 * Number(gmacs)) <= 0.02, `GOPS '${gops}' against G MAC/s '${gmacs}'`);
    }
    // The chart has one bar per row, labelled with the row's G MAC/s.
    const bars = await page.locator('#chart rect.bar').evaluateAll((rects) => rects.map((rect) => Number(rect.getAttribute('width'))));
    assert.equal(bars.length, rows.length);
    assert.ok(bars.every((width) => width >= 1), `bar widths ${bars.join(', ')}`);
    assert.deepEqual(await page.locator('#chart text.value').allTextContents(), rows.map((row) => row[5]));
    assert.match((await page.textContent('#peers')) ?? '', /TensorFlow\.js \d+\.\d+\.\d+; WebGPU adapter: /);

    // Two small reports stand in for the Node and Deno JSON files.
    const nodeFile = join(downloads, 'node.json');
    const denoFile = join(downloads, 'deno.json');
    await writeFile(nodeFile, JSON.stringify({ runtime: 'node', gemm: { gops: 12.5 } }));
    await writeFile(denoFile, JSON.stringify({ runtime: 'deno', gemm: { gops: 11 }, extra: 3 }));
    await page.setInputFiles('#node-json', nodeFile);
    await page.setInputFiles('#deno-json', denoFile);
    await page.waitForFunction(() => document.querySelectorAll('#compare tbody tr').length === 3);
    const compared = await page.locator('#compare tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent ?? '')));
    assert.deepEqual(compared, [
      ['runtime', 'node', 'deno'],
      ['gemm.gops', '12.5', '11'],
      ['extra', '–', '3'],
    ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'bench.png'), fullPage: true });
    await page.close();
  });

  test('fine-tune demo learns drawn digits', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}finetune/`);
    await waitForState(page, 'ready');

    for (const drawing of DRAWINGS) {
      for (const stroke of drawing.strokes) await drawStroke(page, stroke);
      await page.click(`#label-${drawing.label}`);
    }
    assert.equal(await page.textContent('#drawing-count'), String(DRAWINGS.length));

    await page.fill('#epochs', '3');
    await page.fill('#replay', '100');
    await page.click('#finetune');
    await waitForState(page, 'done');
    await page.screenshot({ path: join(SCREENSHOTS, 'finetune.png'), fullPage: true });

    const before = parsePercent(await page.textContent('#before-accuracy'), 'accuracy before');
    const afterTuning = parsePercent(await page.textContent('#after-accuracy'), 'accuracy after');
    const mnistAfter = parsePercent(await page.textContent('#mnist-after'), 'MNIST accuracy after');

    // Captions read "label: before → after"; the shown accuracies must agree with them.
    const captions = await page.locator('#drawings .digit span').allTextContents();
    assert.equal(captions.length, DRAWINGS.length);
    const parsed = captions.map((caption) => /^(\d): (\d) → (\d)$/.exec(caption));
    assert.ok(parsed.every((match) => match !== null), `captions: ${captions.join(' | ')}`);
    const labels = parsed.map((match) => Number(match![1]));
    assert.deepEqual(labels, DRAWINGS.map((drawing) => drawing.label));
    // The page rounds to 0.1%, so compare in thousandths.
    const thousandths = (value: number): number => Math.round(value * 1000);
    assert.equal(thousandths(before), thousandths(parsed.filter((match) => match![1] === match![2]).length / DRAWINGS.length));
    assert.equal(thousandths(afterTuning), thousandths(parsed.filter((match) => match![1] === match![3]).length / DRAWINGS.length));

    assert.ok(before < 1, `the pre-trained model already reads every drawing (${before}), so this run tests nothing`);
    assert.ok(afterTuning > before, `accuracy on the drawings went from ${before} to ${afterTuning}`);
    assert.ok(mnistAfter > 0.5, `MNIST accuracy after fine-tuning fell to ${mnistAfter}`);

    // The fine-tuned download is a valid .qnn with the MNIST accuracy the page showed.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    const tuned = await loadQnnNetwork(file);
    const mnist = await loadMnist({ trainLimit: 1, testLimit: TEST_SAMPLES });
    const tunedAccuracy = accuracyOf(predictPacked(tuned, new ReferenceBackend(), mnist.test.images), mnist.test.labels);
    assert.equal(Math.round(tunedAccuracy * 1000), Math.round(mnistAfter * 1000));
    await page.close();
  });
});

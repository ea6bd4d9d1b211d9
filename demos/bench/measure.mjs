// Runs the benchmark page in headless Chromium and prints its table as
// Markdown, so the in-page figures can be recorded with a command.
//
// Usage: node demos/bench/measure.mjs [--threads N] [--quick]
// Needs `npm run build` and Debian's chromium at /usr/bin/chromium.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, quick: { type: 'boolean', default: false } } });

const server = spawn(process.execPath, ['demos/serve.mjs', '--port', '0', '--train-samples', '1', '--test-samples', '1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  createInterface({ input: server.stdout }).once('line', resolve);
  server.once('exit', (code) => reject(new Error(`demos/serve.mjs exited with code ${code} before printing its URL`)));
});

// --enable-unsafe-webgpu gives headless Chromium a WebGPU adapter (SwiftShader where there is no GPU).
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--no-sandbox'] });
try {
  const page = await browser.newPage();
  await page.goto(`${url}bench/${values.quick ? '?quick' : ''}`);
  await page.waitForSelector('body[data-state="ready"]');
  await page.fill('#threads', values.threads);
  await page.click('#run');
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 600_000 });
  const status = await page.textContent('#status');
  if ((await page.getAttribute('body', 'data-state')) !== 'done') throw new Error(`the benchmark page failed: ${status}`);

  const header = await page.locator('#results thead th').allTextContents();
  const rows = await page.locator('#results tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)));
  console.log(`${status}\n${await page.textContent('#peers')}\n`);
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- |').join('')}`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
} finally {
  await browser.close();
  server.kill();
}

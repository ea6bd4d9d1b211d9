// saveModelFile / loadModelFile in Chromium: indexeddb://NAME (also across a reload), downloads://NAME through
// the browser's download manager, and http loading. The page imports the compiled modules from dist/ served on
// 127.0.0.1, which also shows that model-io.js and its imports load in a browser without node: modules.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium package; playwright-core downloads no browser of its own. */
const CHROMIUM = '/usr/bin/chromium';
const DIST = fileURLToPath(new URL('../../', import.meta.url));
const PAGE_HTML = '<!doctype html><meta charset="utf-8"><title>model io</title>';
/** Where the page imports the compiled module from; an argument, because the evaluated functions run in the page. */
const MODULE = '/sdk/io/model-io.js';
type ModelIo = typeof import('../../sdk/io/model-io.js');
const BYTES = Array.from({ length: 2000 }, (_v, i) => (i * 31 + 7) & 0xff);

/** Serves dist/ read-only, plus an empty page and a fixed binary at /fixture.bin. */
async function startServer(): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE_HTML);
      return;
    }
    if (path === '/fixture.bin') {
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Uint8Array.from(BYTES));
      return;
    }
    const file = normalize(join(DIST, decodeURIComponent(path)));
    if (!file.startsWith(DIST) || !file.endsWith('.js')) {
      response.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const unavailable = existsSync(CHROMIUM) ? undefined : `Chromium not found at ${CHROMIUM} (install Debian's chromium package)`;

// CI installs Chromium, so a missing browser there is a broken setup rather than a reason to skip.
if (unavailable !== undefined && process.env.CI) {
  test('chromium is available in CI', () => assert.fail(unavailable));
}

describe('model files in Chromium', { skip: unavailable }, () => {
  let server: Server;
  let browser: Browser;
  let page: Page;

  before(async () => {
    server = await startServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] });
    page = await browser.newPage({ acceptDownloads: true });
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  test('indexeddb round trip and reload', async () => {
    const saved = await page.evaluate(async ([module, bytes]) => {
      const io = (await import(module)) as ModelIo;
      await io.saveModelFile(Uint8Array.from(bytes), 'indexeddb://mnist-bnn');
      return Array.from(await io.loadModelFile('indexeddb://mnist-bnn'));
    }, [MODULE, BYTES] as const);
    assert.deepEqual(saved, BYTES);

    await page.reload();
    const reloaded = await page.evaluate(async (module) => {
      const io = (await import(module)) as ModelIo;
      const bytes = Array.from(await io.loadModelFile('indexeddb://mnist-bnn'));
      await io.deleteModelFile('indexeddb://mnist-bnn');
      let afterDelete = '';
      try {
        await io.loadModelFile('indexeddb://mnist-bnn');
      } catch (error) {
        afterDelete = (error as Error).message;
      }
      return { bytes, afterDelete };
    }, MODULE);
    assert.deepEqual(reloaded.bytes, BYTES);
    assert.equal(reloaded.afterDelete, 'indexeddb://mnist-bnn does not exist; save it first with saveModelFile');
  });

  test('downloads save as named file', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.evaluate(async ([module, bytes]) => {
        const io = (await import(module)) as ModelIo;
        await io.saveModelFile(Uint8Array.from(bytes), 'downloads://model.qnn');
      }, [MODULE, BYTES] as const),
    ]);
    assert.equal(download.suggestedFilename(), 'model.qnn');
    assert.deepEqual(Array.from(await readFile(await download.path())), BYTES);
  });

  test('http load and path rejection', async () => {
    const result = await page.evaluate(async (module) => {
      const io = (await import(module)) as ModelIo;
      const fetched = Array.from(await io.loadModelFile(new URL('/fixture.bin', location.href).href));
      let pathError = '';
      try {
        await io.saveModelFile(new Uint8Array(1), '/tmp/model.qnn');
      } catch (error) {
        pathError = `${(error as Error).name}: ${(error as Error).message}`;
      }
      return { fetched, pathError };
    }, MODULE);
    assert.deepEqual(result.fetched, BYTES);
    assert.equal(result.pathError, 'QnnError: cannot save to the path /tmp/model.qnn in a browser; use indexeddb://NAME or downloads://NAME');
  });
});

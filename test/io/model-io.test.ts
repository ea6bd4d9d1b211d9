// saveModelFile / loadModelFile in Node: paths and file:// URLs (atomic replace), http(s) loading through a
// local server, .qnn round trips, and clear errors for stores that Node does not have.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { compileNetwork } from '../../sdk/compile/compile-model.js';
import { QnnError } from '../../sdk/errors.js';
import { encodeQnn } from '../../sdk/format/qnn-encode.js';
import { deleteModelFile, loadModelFile, loadQnnFrom, saveModelFile, saveQnnTo } from '../../sdk/io/model-io.js';
import { binaryMlp } from '../../sdk/models/binary-mlp.js';

const folder = mkdtempSync(join(tmpdir(), 'qnn-model-io-'));
after(() => rmSync(folder, { recursive: true, force: true }));

const bytesA = Uint8Array.from({ length: 1000 }, (_v, i) => (i * 7) & 0xff);
const bytesB = Uint8Array.from({ length: 10 }, (_v, i) => 200 + i);

describe('model files on disk', () => {
  test('path round trip and atomic replace', async () => {
    const path = join(folder, 'model.bin');
    await saveModelFile(bytesA, path);
    assert.deepEqual(await loadModelFile(path), bytesA);
    await saveModelFile(bytesB, path);
    assert.deepEqual(new Uint8Array(readFileSync(path)), bytesB);
    assert.deepEqual(readdirSync(folder).filter((name) => name.startsWith('.model.bin')), []);
  });

  test('file URL names the path', async () => {
    const path = join(folder, 'url model.bin');
    await saveModelFile(bytesA, pathToFileURL(path).href);
    assert.deepEqual(new Uint8Array(readFileSync(path)), bytesA);
    assert.deepEqual(await loadModelFile(pathToFileURL(path).href), bytesA);
  });

  test('save into missing folder fails', async () => {
    const path = join(folder, 'missing', 'model.bin');
    await assert.rejects(saveModelFile(bytesA, path), (error: unknown) => error instanceof QnnError && error.message.includes(path));
    assert.ok(!readdirSync(folder).includes('missing'));
  });

  test('missing file names the path', async () => {
    const path = join(folder, 'absent.bin');
    await assert.rejects(loadModelFile(path), new QnnError(`cannot read model file ${path}: no such file`));
  });

  test('deleteModelFile removes files', async () => {
    const path = join(folder, 'delete.bin');
    writeFileSync(path, bytesB);
    await deleteModelFile(path);
    await deleteModelFile(path);
    assert.ok(!readdirSync(folder).includes('delete.bin'));
  });

  test('qnn network round trip', async () => {
    const network = compileNetwork(binaryMlp({ inputs: 20, hidden: [8], classes: 3, seed: 4 }));
    const path = join(folder, 'mlp.qnn');
    await saveQnnTo(network, path);
    assert.deepEqual(new Uint8Array(readFileSync(path)), encodeQnn(network));
    assert.deepEqual(encodeQnn(await loadQnnFrom(path)), encodeQnn(network));
  });

  test('browser stores rejected in Node', async () => {
    await assert.rejects(saveModelFile(bytesA, 'downloads://m.qnn'), /downloads need a browser page/);
    await assert.rejects(loadModelFile('downloads://m.qnn'), /downloads:\/\/ is for saving only/);
    await assert.rejects(saveModelFile(bytesA, 'indexeddb://m'), /indexeddb:\/\/ needs a browser/);
    await assert.rejects(saveModelFile(bytesA, 'http://127.0.0.1:9/m.qnn'), /http\(s\) URLs are for loading only/);
    await assert.rejects(saveModelFile(bytesA, 'indexeddb://'), /has no name after indexeddb:\/\//);
    await assert.rejects(deleteModelFile('downloads://m.qnn'), /only file paths and indexeddb:\/\/ locations can be deleted/);
  });
});

describe('model files over http', () => {
  let server: Server;
  let base = '';

  before(async () => {
    server = createServer((request, response) => {
      if (request.url === '/models/a.bin') response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytesA);
      else response.writeHead(404, 'Not Found').end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  test('http URL loads bytes', async () => {
    assert.deepEqual(await loadModelFile(`${base}/models/a.bin`), bytesA);
  });

  test('404 reports the status', async () => {
    await assert.rejects(loadModelFile(`${base}/models/none.bin`), new QnnError(`cannot fetch ${base}/models/none.bin: the server responded 404 Not Found`));
  });
});

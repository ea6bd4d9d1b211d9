// Static server for the demo pages, on 127.0.0.1 only. Its first line of output
// is the URL it serves, so scripts and tests can read it. It sends the
// cross-origin isolation headers (COOP/COEP), which SharedArrayBuffer, and so
// the threaded WASM build, needs in browsers.
//
// Usage: node demos/serve.mjs [--port N] [--train-samples N] [--test-samples N]
// (npm run demos -- --port 0 picks a free port.)
import { Buffer } from 'node:buffer';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values } = parseFlags();
const port = parseCount(values.port, '--port', 0);
const trainSamples = parseCount(values['train-samples'], '--train-samples', 1);
const testSamples = parseCount(values['test-samples'], '--test-samples', 1);

// URL prefix -> folder. The dist/ layout is kept, so the WASM loader's URL
// (../../asm/ from dist/sdk/backends/) resolves against the server as on disk.
const MOUNTS = [
  ['/dist/bundles/', join(ROOT, 'dist/bundles')],
  ['/dist/asm/', join(ROOT, 'dist/asm')],
  ['/vendor/uplot/', join(ROOT, 'node_modules/uplot/dist')],
  // TensorFlow.js for the benchmark page: UMD scripts, and the backend's .wasm files that setWasmPaths points at.
  ['/vendor/tfjs-core/', join(ROOT, 'node_modules/@tensorflow/tfjs-core/dist')],
  ['/vendor/tfjs-backend-wasm/', join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')],
  ['/vendor/tfjs-backend-webgpu/', join(ROOT, 'node_modules/@tensorflow/tfjs-backend-webgpu/dist')],
  ['/pretrained/', join(ROOT, 'pretrained')],
  ['/', join(ROOT, 'demos')],
];

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.md': 'text/markdown; charset=utf-8',
  '.qnn': 'application/octet-stream',
  '.u8': 'application/octet-stream',
  '.svg': 'image/svg+xml',
};

const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** Reads the command-line flags; an unknown or malformed flag ends the process with one line and exit code 2. */
function parseFlags() {
  try {
    return parseArgs({
      options: {
        port: { type: 'string', default: '8080' },
        'train-samples': { type: 'string', default: '2000' },
        'test-samples': { type: 'string', default: '500' },
      },
    });
  } catch (error) {
    console.error(`demos/serve.mjs: ${error.message}; the flags are --port N, --train-samples N and --test-samples N`);
    process.exit(2);
  }
}

function parseCount(text, flag, minimum) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) {
    console.error(`demos/serve.mjs: ${flag} must be an integer >= ${minimum}, got '${text}'`);
    process.exit(2);
  }
  return value;
}

/** Loads the first MNIST samples once, as raw bytes served under /data/. */
async function loadMnistSubset() {
  const loader = join(ROOT, 'dist/sdk/data/mnist.js');
  if (!existsSync(loader)) {
    console.error(`demos/serve.mjs: ${loader} is missing; build the SDK first with 'npm run build'`);
    process.exit(1);
  }
  const { loadMnist } = await import(loader);
  const mnist = await loadMnist({ trainLimit: trainSamples, testLimit: testSamples });
  const meta = { rows: 28, cols: 28, train: mnist.train.count, test: mnist.test.count };
  return new Map([
    ['/data/mnist.json', Buffer.from(JSON.stringify(meta))],
    ['/data/mnist-train-images.u8', Buffer.from(mnist.train.images)],
    ['/data/mnist-train-labels.u8', Buffer.from(mnist.train.labels)],
    ['/data/mnist-test-images.u8', Buffer.from(mnist.test.images)],
    ['/data/mnist-test-labels.u8', Buffer.from(mnist.test.labels)],
  ]);
}

/** Maps a URL path to a file inside one of the mounts, or null; '..' cannot leave a mount. */
function resolveFile(pathname) {
  for (const [prefix, folder] of MOUNTS) {
    if (!pathname.startsWith(prefix)) continue;
    const relative = normalize(decodeURIComponent(pathname.slice(prefix.length)));
    if (relative.startsWith('..') || relative.includes(`${sep}..${sep}`)) return null;
    const file = join(folder, relative);
    return file.startsWith(folder) ? file : null;
  }
  return null;
}

async function serveFile(pathname, response) {
  let file = resolveFile(pathname);
  if (file === null) return false;
  const info = await stat(file).catch(() => null);
  if (info?.isDirectory()) {
    if (!pathname.endsWith('/')) {
      response.writeHead(301, { location: `${pathname}/`, ...ISOLATION_HEADERS }).end();
      return true;
    }
    file = join(file, 'index.html');
  } else if (info === null) {
    return false;
  }
  const body = await readFile(file).catch(() => null);
  if (body === null) return false;
  const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
  response.writeHead(200, { 'content-type': type, ...ISOLATION_HEADERS }).end(body);
  return true;
}

const data = await loadMnistSubset();

const server = createServer((request, response) => {
  const pathname = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const bytes = data.get(pathname);
  if (bytes !== undefined) {
    const type = pathname.endsWith('.json') ? CONTENT_TYPES['.json'] : CONTENT_TYPES['.u8'];
    response.writeHead(200, { 'content-type': type, ...ISOLATION_HEADERS }).end(bytes);
    return;
  }
  serveFile(pathname, response)
    .then((served) => {
      if (!served) response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...ISOLATION_HEADERS }).end(`not found: ${pathname}\n`);
    })
    .catch((error) => {
      console.error(`demos/serve.mjs: failed to serve ${pathname}: ${error.message}`);
      if (!response.headersSent) response.writeHead(500).end();
    });
});

server.on('error', (error) => {
  console.error(`demos/serve.mjs: cannot listen on 127.0.0.1:${port}: ${error.message}; pick another port with --port`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address();
  console.log(`http://127.0.0.1:${bound}/`);
  console.log(`serving demos/, dist/bundles, dist/asm, uPlot, TensorFlow.js, pretrained/ and MNIST (${data.get('/data/mnist.json').toString()}); Ctrl+C stops`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

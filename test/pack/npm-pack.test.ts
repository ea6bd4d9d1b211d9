// The package as users get it: `npm pack`, a fresh project that installs the tarball, and a small training
// example run by Node and by Deno through the package's "exports" map (the node and deno conditions).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
/** npm pack and npm install on a busy 2-core machine take tens of seconds each. */
const STEP_TIMEOUT_MS = 180_000;

/** Trains a 3-class binarized MLP on separable synthetic data, then compiles it and compares packed and float scores. */
const EXAMPLE = `import * as qnn from 'qnn-sdk';

const backend = await qnn.createWasmBackend();
qnn.setBackend(backend);
const count = 300;
const features = 48;
const random = new qnn.Random(3);
const pixels = new Uint8Array(count * features);
const labels = new Uint8Array(count);
for (let i = 0; i < count; i++) {
  labels[i] = i % 3;
  for (let j = 0; j < features; j++) pixels[i * features + j] = Math.floor(random.next() * 100) + (Math.floor(j / 16) === labels[i] ? 150 : 0);
}
const inputs = Float32Array.from(pixels, (p) => p / 256);
const model = new qnn.Sequential([new qnn.QuantDense(32, { inputQuantizer: null }), new qnn.BatchNorm(), new qnn.QuantDense(3), new qnn.BatchNorm()]).build([features], 1);
model.fit(inputs, labels, { epochs: 3, batchSize: 30, optimizer: new qnn.Adam({ learningRate: 0.01 }), loss: 'softmax_cross_entropy', seed: 2 });
const { accuracy, scores } = model.evaluate(inputs, labels);
const packed = qnn.runPacked(qnn.decodeQnn(qnn.encodeQnn(qnn.compileModel(model))), backend, pixels);
console.log('entry ' + import.meta.resolve('qnn-sdk'));
console.log('backend ' + backend.name);
console.log('accuracy ' + accuracy);
console.log('packed-match ' + packed.every((value, i) => value === scores[i]));
`;

interface PackedFile {
  path: string;
}

let project = '';
let files: string[] = [];

before(async () => {
  project = mkdtempSync(join(tmpdir(), 'qnn-pack-'));
  const npmEnv = { ...process.env, npm_config_update_notifier: 'false' };
  const packed = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: ROOT, env: npmEnv, timeout: STEP_TIMEOUT_MS });
  const [report] = JSON.parse(packed.stdout) as { filename: string; files: PackedFile[] }[];
  files = report.files.map((file) => file.path);

  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'qnn-pack-check', private: true, type: 'module' }));
  writeFileSync(join(project, 'main.js'), EXAMPLE);
  // Dependencies come from the npm cache that the repository's own install filled; optional Dawn is left out.
  const install = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=optional', join(project, report.filename)];
  await run('npm', install, { cwd: project, env: npmEnv, timeout: STEP_TIMEOUT_MS });
});

after(() => {
  if (project !== '') rmSync(project, { recursive: true, force: true });
});

/** Values of the example's "name value" lines. */
function printed(output: string): Map<string, string> {
  return new Map(output.split('\n').filter((line) => line.includes(' ')).map((line) => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]));
}

function checkExample(output: string, entry: string): void {
  const values = printed(output);
  assert.equal(values.get('entry'), `file://${project}/node_modules/qnn-sdk/${entry}`);
  assert.equal(values.get('backend'), 'wasm-simd');
  assert.ok(Number(values.get('accuracy')) > 0.9, `accuracy ${values.get('accuracy')} on separable data (chance is 1/3)`);
  assert.equal(values.get('packed-match'), 'true');
}

test('tarball contents', () => {
  for (const path of ['dist/bundles/browser/qnn-sdk.js', 'dist/bundles/browser/qnn-worker.js', 'dist/bundles/browser/qnn-simd.wasm', 'dist/bundles/deno/qnn-sdk.js', 'dist/bundles/node/qnn-sdk.mjs', 'dist/asm/qnn-scalar.wasm', 'dist/sdk/index.d.ts', 'README.md']) {
    assert.ok(files.includes(path), `${path} is in the tarball`);
  }
  assert.deepEqual(files.filter((path) => path.startsWith('dist/test/') || path.startsWith('dist/bundles/test/') || path.startsWith('dist/bench/')), []);
});

test('node runs the installed example', async () => {
  const { stdout } = await run(process.execPath, ['main.js'], { cwd: project, timeout: STEP_TIMEOUT_MS });
  checkExample(stdout, 'dist/bundles/node/qnn-sdk.mjs');
});

test('deno runs the installed example', { skip: existsSync(DENO) ? false : `no Deno at ${DENO}` }, async () => {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'qnn-deno-xdg-'));
  try {
    const env = { ...process.env, XDG_RUNTIME_DIR: runtimeDir, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
    // --allow-read covers the .wasm files next to the bundle; nothing else is granted.
    const { stdout } = await run(DENO, ['run', '--no-lock', '--allow-read', 'main.js'], { cwd: project, env, timeout: STEP_TIMEOUT_MS });
    checkExample(stdout, 'dist/bundles/deno/qnn-sdk.js');
  } finally {
    rmSync(runtimeDir, { recursive: true, force: true });
  }
});

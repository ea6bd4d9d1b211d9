// The Deno bundle's createTrainingWorker: Deno starts dist/bundles/deno/qnn-worker.js as a Web Worker beside the
// bundle, trains a small synthetic task in it and predicts with the trained model.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
const BUNDLE = new URL('../../bundles/deno/qnn-sdk.js', import.meta.url);

/** 240 samples of the three-class task (see synthetic-task.ts), 2 epochs in batches of 40, then 6 predictions. */
const SCRIPT = `import { createTrainingWorker, Random } from ${JSON.stringify(BUNDLE.href)};

const count = 240;
const features = 48;
const random = new Random(5);
const inputs = new Uint8Array(count * features);
const labels = new Uint8Array(count);
for (let i = 0; i < count; i++) {
  labels[i] = i % 3;
  for (let j = 0; j < features; j++) inputs[i * features + j] = Math.floor(random.next() * 100) + (Math.floor(j / 16) === labels[i] ? 150 : 0);
}
const worker = createTrainingWorker();
const events = [];
const config = { model: { kind: 'mlp', hidden: [32] }, classes: 3, epochs: 2, batchSize: 40, optimizer: 'adam', learningRate: 0.01, seed: 1, train: { inputs, labels, features } };
const { qnn, report } = await worker.train(config, { onProgress: (event) => events.push(event.type) });
const { classes } = await worker.predict(inputs.slice(0, features * 6));
worker.terminate();
console.log(JSON.stringify({ events, qnnBytes: qnn.length, accuracy: report.packedTrainAccuracy, backend: report.backend, classes: Array.from(classes) }));
`;

test('deno worker trains and predicts', { skip: existsSync(DENO) ? false : `no Deno at ${DENO}`, timeout: 120_000 }, async () => {
  const folder = mkdtempSync(join(tmpdir(), 'qnn-deno-worker-'));
  try {
    writeFileSync(join(folder, 'main.js'), SCRIPT);
    const env = { ...process.env, XDG_RUNTIME_DIR: folder, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
    const { stdout } = await run(DENO, ['run', '--no-lock', '--allow-read', join(folder, 'main.js')], { cwd: folder, env, timeout: 100_000 });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { events: string[]; qnnBytes: number; accuracy: number; backend: string; classes: number[] };

    // 6 batches and one epoch event per epoch.
    const epoch = [...Array(6).fill('batch'), 'epoch'];
    assert.deepEqual(result.events, [...epoch, ...epoch]);
    assert.ok(result.qnnBytes > 0);
    assert.equal(result.backend, 'wasm-simd');
    assert.ok(result.accuracy > 0.9, `packed training accuracy ${result.accuracy} (chance is 1/3)`);
    assert.deepEqual(result.classes, [0, 1, 2, 0, 1, 2]);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

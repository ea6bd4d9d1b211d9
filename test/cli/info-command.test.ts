// qnn info on .qnn files and checkpoints, and qnn train --checkpoint / --resume end to end on an MNIST subset.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { compileNetwork } from '../../sdk/compile/compile-model.js';
import { packedStats } from '../../sdk/inspect/packed-stats.js';
import { saveQnnTo } from '../../sdk/io/model-io.js';
import { binaryMlp } from '../../sdk/models/binary-mlp.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../sdk/cli/main.js', import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), 'qnn-info-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

async function qnn(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [cli, ...args], { maxBuffer: 16 * 1024 * 1024 });
}

describe('qnn info', () => {
  const network = compileNetwork(binaryMlp({ inputs: 784, hidden: [64, 32], classes: 10, seed: 3 }));
  const path = join(workDir, 'mlp.qnn');

  test('per-layer table with totals', async () => {
    await saveQnnTo(network, path);
    const { stdout } = await qnn(['info', path]);
    assert.match(stdout, /mlp\.qnn: \.qnn model, \d+ bytes, input shape \[784\]/);
    assert.match(stdout, /\+mlp\.qnn stats-+\+/);
    // 784 x 64 + 64 x 32 + 32 x 10 = 52544 binary weights, 64 + 32 threshold directions.
    assert.match(stdout, /\| Total +52640 +0 +\d+ /);
    assert.match(stdout, /\| 0 +dense +8 +\(-1, 64\) /);
  });

  test('--json matches packedStats', async () => {
    const { stdout } = await qnn(['info', path, '--json']);
    const result = JSON.parse(stdout) as { totals: Record<string, number>; layers: unknown[]; inputShape: number[] };
    const expected = packedStats(network, 'mlp.qnn');
    assert.deepEqual(result.totals, JSON.parse(JSON.stringify(expected.totals)));
    assert.equal(result.layers.length, 3);
    assert.deepEqual(result.inputShape, [784]);
  });

  test('foreign file fails in one line', async () => {
    await assert.rejects(qnn(['info', fileURLToPath(import.meta.url)]), (error: { stderr: string }) => error.stderr.startsWith(`qnn: ${fileURLToPath(import.meta.url)}:`) && error.stderr.trim().split('\n').length === 1);
  });
});

describe('qnn train --checkpoint and --resume', () => {
  // 300 images in batches of 100: 3 batches per epoch, 6 in all; a save every 4 batches leaves the checkpoint inside epoch 2.
  const common = ['train', '--dataset', 'mnist', '--hidden', '32', '--epochs', '2', '--batch-size', '100', '--train-limit', '300', '--test-limit', '100', '--backend', 'wasm', '--json'];
  const checkpoint = join(workDir, 'run.ckpt');

  test('resumed run writes identical model', async () => {
    const first = join(workDir, 'first.qnn');
    const resumed = join(workDir, 'resumed.qnn');
    const firstRun = await qnn([...common, '--out', first, '--checkpoint', checkpoint, '--checkpoint-every', '4']);

    const info = await qnn(['info', checkpoint]);
    assert.match(info.stdout, /next batch: epoch 2, batch 2 \(batch size 100, 300 samples, seed 1\)/);
    assert.match(info.stdout, /optimizer: adam, step 4,/);

    const { stdout, stderr } = await qnn([...common, '--out', resumed, '--resume', checkpoint]);
    assert.deepEqual(readFileSync(resumed), readFileSync(first));
    // The resumed run starts inside epoch 2, and its epoch loss still counts the batch run before the save.
    assert.doesNotMatch(stderr, /epoch 1\/2/);
    assert.match(stderr, /resume: .*run\.ckpt, continuing at epoch 2, batch 2\n/);
    assert.equal(/epoch 2\/2: loss \S+/.exec(stderr)?.[0], /epoch 2\/2: loss \S+/.exec(firstRun.stderr)?.[0]);
    assert.equal((JSON.parse(stdout) as { epochs: number }).epochs, 2);
    assert.deepEqual(readdirSync(workDir).filter((name) => name.endsWith('.tmp')), []);
  });

  test('resume from missing file', async () => {
    const missing = join(workDir, 'missing.ckpt');
    await assert.rejects(qnn([...common, '--out', join(workDir, 'never.qnn'), '--resume', missing]), (error: { stderr: string }) => {
      assert.match(error.stderr, /--resume .*missing\.ckpt: reading the checkpoint failed \(ENOENT/);
      assert.doesNotMatch(error.stderr, /loaded MNIST/);
      return true;
    });
  });

  test('resume with other batch size', async () => {
    const args = common.map((arg) => (arg === '100' ? '50' : arg));
    await assert.rejects(qnn([...args, '--out', join(workDir, 'other.qnn'), '--resume', checkpoint]), (error: { stderr: string }) => /saved with batchSize 100, this call has 50/.test(error.stderr));
  });

  test('--checkpoint-every needs --checkpoint', async () => {
    await assert.rejects(qnn([...common, '--checkpoint-every', '2']), (error: { stderr: string }) => /--checkpoint-every needs --checkpoint FILE/.test(error.stderr));
  });
});

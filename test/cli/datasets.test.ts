// qnn train on CIFAR-10 files in the binary format, generated here, and the paper presets' shapes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { PRESETS } from '../../sdk/cli/presets.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../sdk/cli/main.js', import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), 'qnn-datasets-'));

after(() => rmSync(workDir, { recursive: true, force: true }));

async function qnn(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [cli, ...args], { maxBuffer: 16 * 1024 * 1024 });
}

/**
 * Writes the six files of the CIFAR-10 binary version with `perFile` records each:
 * a label byte, then 1024 red, 1024 green and 1024 blue bytes. Class c is a bright
 * square in quadrant c mod 4 of channel c mod 3, so a small model can learn it.
 */
function writeCifar(dir: string, perFile: number): void {
  const files = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
  files.forEach((file, fileIndex) => {
    const bytes = new Uint8Array(perFile * 3073);
    for (let r = 0; r < perFile; r++) {
      const label = (r + fileIndex) % 10;
      const base = r * 3073;
      bytes[base] = label;
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const inSquare = Math.floor(y / 16) * 2 + Math.floor(x / 16) === label % 4;
          for (let c = 0; c < 3; c++) bytes[base + 1 + c * 1024 + y * 32 + x] = inSquare && c === label % 3 ? 200 + label * 5 : (x * 7 + y * 3 + r) % 40;
        }
      }
    }
    writeFileSync(join(dir, file), bytes);
  });
}

describe('qnn train on CIFAR-10 files', () => {
  const dataDir = join(workDir, 'cifar-10-batches-bin');

  test('trains a binarized MLP and matches packed', async () => {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    writeCifar(dataDir, 40);

    const { stdout } = await qnn([
      'train', '--dataset', 'cifar10', '--data-dir', workDir, '--backend', 'wasm', '--hidden', '64', '--epochs', '2',
      '--batch-size', '20', '--out', join(workDir, 'cifar.qnn'), '--json',
    ]);
    const summary = JSON.parse(stdout) as Record<string, unknown>;

    assert.equal(summary.dataset, 'cifar10');
    assert.equal(summary.architecture, '3072-64-10');
    // Five training batches of 40 records, one test batch.
    assert.equal(summary.trainImages, 200);
    assert.equal(summary.testImages, 40);
    assert.equal(summary.predictionMatch, 1);
    assert.equal(summary.packedTestError, summary.testError);
  });

  test('cifar10 without --data-dir', async () => {
    await assert.rejects(qnn(['train', '--dataset', 'cifar10']), (error: { stderr: string }) => {
      assert.match(error.stderr, /--dataset cifar10 needs --data-dir: the folder with the CIFAR-10 binary version/);
      return true;
    });
  });

  test('preset for another data set', async () => {
    await assert.rejects(qnn(['train', '--preset', 'paper-cifar10-convnet', '--dataset', 'svhn']), (error: { stderr: string }) => {
      assert.match(error.stderr, /--preset paper-cifar10-convnet is made for --dataset cifar10, not svhn/);
      return true;
    });
  });
});

describe('paper ConvNet presets', () => {
  const options = { sampleShape: [32, 32, 3] as [number, number, number], inputs: 3072, hidden: [], classes: 10, dropout: 0, seed: 1, batchNorm: 'standard' as const };

  test('cifar10 layout and size', () => {
    const preset = PRESETS['paper-cifar10-convnet'];
    const model = preset.build(options);
    const parameters = model.parameters().reduce((n, p) => n + p.value.size, 0);

    assert.equal(preset.architecture(options), '32x32x3-128C3-128C3-MP2-256C3-256C3-MP2-512C3-512C3-MP2-1024-1024-10');
    // Conv kernels 3*3*(3*128 + 128*128 + 128*256 + 256*256 + 256*512 + 512*512) = 4,574,592; dense 4*4*512*1024 + 1024*1024 + 1024*10
    // = 9,447,424; batch-norm gamma and beta 2 * (2*128 + 2*256 + 2*512 + 1024 + 1024 + 10) = 7,700.
    assert.equal(parameters, 4_574_592 + 9_447_424 + 7_700);
    assert.equal(preset.defaults.loss, 'squared_hinge');
    assert.equal(preset.defaults.batchSize, 50);
  });

  test('svhn is the half-width layout', () => {
    const preset = PRESETS['paper-svhn-convnet'];
    assert.equal(preset.architecture(options), '32x32x3-64C3-64C3-MP2-128C3-128C3-MP2-256C3-256C3-MP2-1024-1024-10');
    assert.equal(preset.defaults.epochs, 200);
  });
});

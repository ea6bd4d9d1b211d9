import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../sdk/cli/main.js', import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), 'qnn-cli-'));

after(() => rmSync(workDir, { recursive: true, force: true }));

async function qnn(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [cli, ...args], { maxBuffer: 16 * 1024 * 1024 });
}

describe('qnn train on a real MNIST subset', () => {
  const modelPath = join(workDir, 'subset.qnn');
  let summary: Record<string, unknown> = {};

  test('trains, compiles and matches', async () => {
    const { stdout, stderr } = await qnn([
      'train', '--dataset', 'mnist', '--hidden', '256,256', '--epochs', '2', '--batch-size', '100',
      '--train-limit', '6000', '--out', modelPath, '--json',
    ]);
    summary = JSON.parse(stdout) as Record<string, unknown>;

    assert.match(stderr, /epoch 2\/2: loss/);
    assert.equal(summary.trainImages, 6000);
    // The packed graph is compared with the training graph on the whole test set.
    assert.equal(summary.testImages, 10000);
    // 6,000 images and 2 epochs already separate digits well; a broken gradient or quantizer stays near 90% error.
    assert.ok((summary.testError as number) <= 0.12, `test error ${summary.testError} above the 12% floor`);
    assert.equal(summary.predictionMatch, 1);
    assert.equal(summary.packedTestError, summary.testError);
    assert.ok((summary.maxScoreDifference as number) <= 1e-5, `scores differ by ${summary.maxScoreDifference}`);
    assert.ok((summary.float32Bytes as number) >= 25 * (summary.packedBytes as number), `packed model only ${summary.compressionRatio}x smaller`);
    assert.ok((summary.packedImagesPerSecond as number) > 0);
    assert.equal(summary.modelPath, modelPath);
  });

  test('save leaves no temporary file', () => {
    assert.deepEqual(readdirSync(workDir).sort(), ['subset.qnn']);
  });

  test('eval of the saved file agrees', async () => {
    const { stdout } = await qnn(['eval', modelPath, '--dataset', 'mnist', '--json']);
    const result = JSON.parse(stdout) as Record<string, unknown>;

    assert.equal(result.testError, summary.packedTestError);
    assert.equal(result.testImages, 10000);
    assert.ok((result.packedImagesPerSecond as number) > 0);
  });
});

describe('qnn train with two threads', () => {
  test('same model as one thread', async () => {
    // Threads split GEMM rows, and each output element is summed by one thread in the same order, so the runs agree bit for bit.
    const common = ['train', '--hidden', '64,64', '--epochs', '1', '--train-limit', '2000', '--test-limit', '500', '--json'];
    const oneThread = JSON.parse((await qnn([...common, '--threads', '1', '--out', join(workDir, 'one-thread.qnn')])).stdout) as Record<string, unknown>;
    const twoThreads = JSON.parse((await qnn([...common, '--threads', '2', '--out', join(workDir, 'two-threads.qnn')])).stdout) as Record<string, unknown>;

    assert.equal(oneThread.backend, 'wasm-simd');
    assert.equal(twoThreads.backend, 'wasm-simd-2t');
    assert.equal(twoThreads.testError, oneThread.testError);
    assert.deepEqual(readFileSync(join(workDir, 'two-threads.qnn')), readFileSync(join(workDir, 'one-thread.qnn')));
  });
});

describe('qnn train threads of a ConvNet preset', () => {
  test('defaults to one thread per core', async () => {
    const args = ['train', '--preset', 'fast-mnist-convnet', '--backend', 'wasm', '--epochs', '1', '--train-limit', '100', '--test-limit', '20', '--json'];
    const preset = JSON.parse((await qnn([...args, '--out', join(workDir, 'convnet-auto.qnn')])).stdout) as Record<string, unknown>;
    const explicit = JSON.parse((await qnn([...args, '--threads', '1', '--out', join(workDir, 'convnet-one.qnn')])).stdout) as Record<string, unknown>;

    // 'auto' is the core count capped at 8; a one-core machine keeps the plain backend name.
    const cores = Math.min(availableParallelism(), 8);
    assert.equal(preset.backend, cores === 1 ? 'wasm-simd' : `wasm-simd-${cores}t`);
    assert.equal(explicit.backend, 'wasm-simd');
    assert.equal(preset.testError, explicit.testError);
  });

  test('takes shift-based batch norm', async () => {
    const args = ['train', '--preset', 'fast-mnist-convnet', '--batch-norm', 'shift', '--optimizer', 'shift-adamax', '--epochs', '1', '--train-limit', '100', '--test-limit', '20'];
    const summary = JSON.parse((await qnn([...args, '--json', '--out', join(workDir, 'convnet-shift.qnn')])).stdout) as Record<string, unknown>;

    assert.equal(summary.batchNorm, 'shift');
    assert.equal(summary.predictionMatch, 1);
    assert.equal(summary.maxScoreDifference, 0);
  });
});

describe('qnn command errors', () => {
  test('eval of a foreign file', async () => {
    const foreign = join(workDir, 'foreign.qnn');
    writeFileSync(foreign, 'this is not a model file at all');

    await assert.rejects(qnn(['eval', foreign, '--json']), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /foreign\.qnn/);
      assert.doesNotMatch(error.stderr, /unexpected error/);
      return true;
    });
  });

  test('eval of a missing file', async () => {
    const missing = join(workDir, 'missing.qnn');

    await assert.rejects(qnn(['eval', missing]), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.equal(error.stderr, `qnn: cannot read model file ${missing}: no such file\n`);
      return true;
    });
  });

  test('train into a directory fails early', async () => {
    const started = performance.now();

    await assert.rejects(qnn(['train', '--out', workDir]), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.equal(error.stderr, `qnn: cannot save the model to ${workDir}: it is a directory; choose another --out\n`);
      return true;
    });
    // Checked before MNIST is loaded or any training starts.
    assert.ok(performance.now() - started < 5000);
  });

  test('exponent notation is not an integer', async () => {
    await assert.rejects(qnn(['train', '--epochs', '1e3']), (error: { stderr: string }) => {
      assert.match(error.stderr, /--epochs must be a positive integer, got '1e3'/);
      return true;
    });
  });

  test('invalid option value', async () => {
    await assert.rejects(qnn(['train', '--epochs', 'zero']), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /--epochs must be a positive integer, got 'zero'/);
      return true;
    });
  });

  test('unknown command', async () => {
    await assert.rejects(qnn(['fly']), (error: { code: number; stderr: string }) => {
      assert.match(error.stderr, /unknown command 'fly'/);
      return true;
    });
  });
});

describe('qnn train with the paper recipes', () => {
  for (const recipe of [
    ['--optimizer', 'shift-adamax', '--batch-norm', 'shift'],
    ['--optimizer', 'bop'],
  ]) {
    test(recipe.join(' '), async () => {
      const { stdout } = await qnn([
        'train', '--backend', 'wasm', '--hidden', '128', '--epochs', '1', '--train-limit', '3000', '--test-limit', '1000',
        '--out', join(workDir, `${recipe[1]}.qnn`), '--json', ...recipe,
      ]);
      const summary = JSON.parse(stdout) as Record<string, unknown>;

      assert.equal(summary.optimizer, recipe[1]);
      assert.equal(summary.batchNorm, recipe[3] ?? 'standard');
      // Chance is 90%; a recipe that never moves the binary weights stays above 75% (measured 80.8% for Bop without flips).
      assert.ok((summary.testError as number) < 0.4, `test error ${summary.testError}`);
      // Shift-based batch norm folds into thresholds like the standard one, so both graphs agree on every image.
      assert.equal(summary.predictionMatch, 1);
      assert.equal(summary.maxScoreDifference, 0);
    });
  }

  test('unknown optimizer', async () => {
    await assert.rejects(qnn(['train', '--optimizer', 'sgd']), (error: { stderr: string }) => {
      assert.match(error.stderr, /unknown --optimizer 'sgd'; expected adam, shift-adamax or bop/);
      return true;
    });
  });
});

describe('qnn train option limits', () => {
  test('gradient bits out of range', async () => {
    await assert.rejects(qnn(['train', '--gradient-bits', '9']), (error: { stderr: string }) => {
      assert.equal(error.stderr.trim().split('\n').pop(), "qnn: --gradient-bits must be an integer from 2 to 8, got '9'");
      return true;
    });
  });

  test('unknown option points to help', async () => {
    await assert.rejects(qnn(['train', '--bogus']), (error: { stderr: string }) => {
      assert.match(error.stderr, /Unknown option '--bogus'.*; see qnn train --help/);
      return true;
    });
  });

  test('webgpu rejects bop, pointing to wasm', async () => {
    // SwiftShader gives an adapter where no GPU exists; the check runs before any training step.
    const env = { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json' };
    const args = ['train', '--backend', 'webgpu', '--optimizer', 'bop', '--train-limit', '100', '--test-limit', '100', '--out', join(workDir, 'bop-gpu.qnn')];
    await assert.rejects(run(process.execPath, [cli, ...args], { env }), (error: { stderr: string }) => {
      assert.match(error.stderr, /qnn: WebGPU training runs MLP presets with --optimizer adam and float gradients, not --optimizer bop; use --backend wasm for this job/);
      return true;
    });
  });
});

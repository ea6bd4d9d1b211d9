import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { loadMnistTest } from '../../sdk/data/mnist.js';
import { loadQnnNetwork } from '../../sdk/format/qnn-file.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../sdk/cli/main.js', import.meta.url));
const MODEL_PATH = fileURLToPath(new URL('../../../pretrained/mnist-bnn.qnn', import.meta.url));

describe('qnn export and qnn import', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qnn-onnx-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('qonnx round trip keeps scores', async () => {
    const onnxPath = join(dir, 'mnist.qonnx');
    const qnnPath = join(dir, 'mnist.qnn');
    const exported = await run(process.execPath, [CLI, 'export', MODEL_PATH, '--format', 'qonnx', '-o', onnxPath]);
    assert.match(exported.stdout, /qonnx model, 3 layers/);
    const imported = await run(process.execPath, [CLI, 'import', onnxPath, '-o', qnnPath]);
    assert.match(imported.stdout, /3 packed layers \(dense, dense, dense\), input shape \[784\]/);

    const images = (await loadMnistTest({ testLimit: 200 })).images;
    const backend = new ReferenceBackend();
    const original = runPacked(await loadQnnNetwork(MODEL_PATH), backend, images);
    assert.deepEqual(runPacked(await loadQnnNetwork(qnnPath), backend, images), original);
  });

  test('bad format rejected', async () => {
    const output = join(dir, 'never.onnx');
    await assert.rejects(run(process.execPath, [CLI, 'export', MODEL_PATH, '--format', 'tflite', '-o', output]), (error: { stderr: string }) => {
      assert.match(error.stderr, /--format must be 'onnx' or 'qonnx', got 'tflite'/);
      return true;
    });
    assert.ok(!(await readdir(dir)).includes('never.onnx'));
  });

  test('misspelled flag names its help', async () => {
    await assert.rejects(run(process.execPath, [CLI, 'export', MODEL_PATH, '--formt', 'onnx']), (error: { stderr: string }) => {
      assert.equal(error.stderr, "qnn: Unknown option '--formt'; see qnn export --help\n");
      return true;
    });
  });

  test('non-ONNX input rejected', async () => {
    const output = join(dir, 'never.qnn');
    await assert.rejects(run(process.execPath, [CLI, 'import', MODEL_PATH, '-o', output]), (error: { stderr: string }) => {
      assert.match(error.stderr, /mnist-bnn\.qnn: not a valid ONNX protobuf file/);
      return true;
    });
    assert.ok(!(await readdir(dir)).includes('never.qnn'));
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { FORTUNES_DIR } from '../../sdk/data/text/fortunes.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../sdk/cli/main.js', import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), 'qnn-lm-cli-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

async function qnn(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [cli, ...args], { maxBuffer: 16 * 1024 * 1024 });
}

/** Expects `qnn args` to exit with status 1 and a stderr line matching `message`. */
async function assertFails(args: string[], message: RegExp): Promise<void> {
  await assert.rejects(qnn(args), (error: { code: number; stderr: string }) => {
    assert.equal(error.code, 1);
    assert.match(error.stderr, message);
    return true;
  });
}

// A corpus with one repeated sentence: after a few epochs a working LSTM predicts every next word
// (the word after "the" is fixed by the position in the sentence), while the unigram model has perplexity about 6.5.
const SENTENCE = ' the cat sat on the mat \n';
const ptbDir = join(workDir, 'ptb');
mkdirSync(ptbDir);
writeFileSync(join(ptbDir, 'ptb.train.txt'), SENTENCE.repeat(150));
writeFileSync(join(ptbDir, 'ptb.valid.txt'), SENTENCE.repeat(30));
writeFileSync(join(ptbDir, 'ptb.test.txt'), SENTENCE.repeat(30));

const TOY = ['--data-dir', ptbDir, '--corpus', 'ptb', '--hidden', '16', '--embedding', '8', '--batch-size', '4', '--bptt', '16', '--epochs', '4', '--learning-rate', '0.01', '--json'];

describe('qnn train --task lm on a toy corpus', () => {
  test('float model learns the sentence', async () => {
    const { stdout, stderr } = await qnn(['train', '--task', 'lm', ...TOY]);
    const summary = JSON.parse(stdout) as Record<string, number | string | null>;

    assert.equal(summary.task, 'lm');
    assert.equal(summary.level, 'word');
    assert.equal(summary.vocabularySize, 7);
    assert.equal(summary.trainTokens, 150 * 7);
    // 30 lines of 7 tokens in 4 streams of 52 tokens, each predicting 51.
    assert.equal(summary.validTokens, 4 * 51);
    assert.ok((summary.validPerplexity as number) < 1.5, `validation perplexity ${summary.validPerplexity}`);
    assert.ok((summary.validPerplexity as number) >= 1);
    assert.equal(summary.testPerplexity, summary.validPerplexity);
    assert.deepEqual(summary.packed, { skipped: 'the packed recurrent cell needs 2- to 8-bit weights and activations' });
    assert.match(stderr, /epoch 4 batch 17\/17: loss \d+\.\d+ nats\/token .*, \d+ tokens\/s/);
    assert.match(stderr, /epoch 4\/4: loss .* training perplexity/);
  });

  test('4-bit model learns the sentence', async () => {
    const { stdout, stderr } = await qnn(['train', '--task', 'lm', ...TOY, '--weight-bits', '4', '--activation-bits', '4', '--cell', 'gru']);
    const summary = JSON.parse(stdout) as Record<string, number | string | null>;

    assert.equal(summary.weightBits, 4);
    assert.equal(summary.activationBits, 4);
    assert.equal(summary.cell, 'gru');
    assert.match(stderr, /gru 16, weights 4-bit, activations 4-bit/);
    assert.ok((summary.validPerplexity as number) < 2, `validation perplexity ${summary.validPerplexity}`);

    // The packed recurrent cell runs on the test split beside the training graph.
    const packed = summary.packed as unknown as { positions: number; predictionMatch: number; maxScoreDifference: number };
    assert.ok(packed.positions > 0, `packed check covered ${packed.positions} positions`);
    assert.equal(packed.predictionMatch, 1);
    assert.ok(packed.maxScoreDifference <= 1e-5, `max score difference ${packed.maxScoreDifference}`);
  });

  test('text report names both perplexities', async () => {
    const { stdout } = await qnn(['train', '--task=lm', ...TOY.filter((arg) => arg !== '--json'), '--epochs', '1']);
    assert.match(stdout, /validation perplexity\s+\d+\.\d{3} \(\d+\.\d{4} bits per word, 204 tokens\)/);
    assert.match(stdout, /test perplexity\s+\d+\.\d{3}/);
  });
});

describe('qnn train --task lm errors', () => {
  test('ptb without --data-dir', async () => {
    await assertFails(['train', '--task', 'lm', '--corpus', 'ptb'], /^qnn: --corpus ptb needs --data-dir/m);
  });

  test('missing ptb file', async () => {
    await assertFails(['train', '--task', 'lm', '--corpus', 'ptb', '--data-dir', workDir], /^qnn: Penn Treebank file not found: .*ptb\.train\.txt/m);
  });

  test('unknown task', async () => {
    await assertFails(['train', '--task', 'segment'], /^qnn: unknown --task 'segment'; expected classify or lm$/m);
  });

  test('classifier option under lm', async () => {
    await assertFails(['train', '--task', 'lm', '--preset', 'mnist-mlp'], /^qnn: Unknown option '--preset'/m);
  });

  test('train limit too small for the batch', async () => {
    await assertFails(['train', '--task', 'lm', ...TOY, '--train-limit', '5'], /ptb training split: 5 tokens give streams of 1 token\(s\) for batchSize 4/);
  });

  test('eval limit too small fails early', async () => {
    await assertFails(['train', '--task', 'lm', ...TOY, '--eval-limit', '7'], /ptb validation split: 7 tokens give streams of 1 token\(s\) for batchSize 4/);
  });

  test('help lists the options', async () => {
    const { stdout } = await qnn(['train', '--task', 'lm', '--help']);
    assert.match(stdout, /--weight-bits K/);
    assert.match(stdout, /--activation-bits K/);
    assert.match(stdout, /--train-limit N/);
  });
});

// CI installs Debian's fortunes package, so there a missing corpus fails instead of skipping.
const fortunesMissing = existsSync(FORTUNES_DIR) ? undefined : `${FORTUNES_DIR} not found; install Debian's fortunes package to run this test`;
if (fortunesMissing !== undefined && process.env.CI) {
  test('fortunes corpus is installed in CI', () => assert.fail(fortunesMissing));
}

describe('qnn train --task lm on fortunes', { skip: fortunesMissing }, () => {
  test('a few thousand characters', async () => {
    const { stdout } = await qnn(['train', '--task', 'lm', '--train-limit', '4000', '--eval-limit', '1000', '--hidden', '16', '--embedding', '8', '--json']);
    const summary = JSON.parse(stdout) as Record<string, number | string | null>;

    assert.equal(summary.corpus, 'fortunes');
    assert.equal(summary.level, 'char');
    assert.equal(summary.trainTokens, 4000);
    // 1,000 tokens in 32 streams of 31, each predicting 30.
    assert.equal(summary.validTokens, 32 * 30);
    assert.equal(summary.testTokens, 32 * 30);
    // A model that learned anything beats the uniform distribution over the character vocabulary.
    assert.ok((summary.validPerplexity as number) < (summary.vocabularySize as number), `perplexity ${summary.validPerplexity} of ${summary.vocabularySize} characters`);
  });
});

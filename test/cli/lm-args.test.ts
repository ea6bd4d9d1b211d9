import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { LM_DEFAULTS, parseLanguageModelArgs, splitTaskOption } from '../../sdk/cli/lm-command.js';
import { QnnError } from '../../sdk/errors.js';

describe('splitTaskOption', () => {
  test('removes --task lm', () => {
    assert.deepEqual(splitTaskOption(['--epochs', '2', '--task', 'lm', '--json']), { task: 'lm', rest: ['--epochs', '2', '--json'] });
  });

  test('accepts --task=NAME', () => {
    assert.deepEqual(splitTaskOption(['--task=classify', '--json']), { task: 'classify', rest: ['--json'] });
  });

  test('defaults to classify', () => {
    assert.deepEqual(splitTaskOption(['--dataset', 'mnist']), { task: 'classify', rest: ['--dataset', 'mnist'] });
  });

  test('rejects an unknown task', () => {
    assert.throws(() => splitTaskOption(['--task', 'translate']), /unknown --task 'translate'; expected classify or lm/);
  });

  test('rejects a missing value', () => {
    assert.throws(() => splitTaskOption(['--json', '--task']), /--task needs a value/);
  });
});

describe('parseLanguageModelArgs', () => {
  test('defaults', () => {
    const job = parseLanguageModelArgs([]);
    assert.notEqual(job, 'help');
    if (job === 'help') return;
    assert.equal(job.corpus, 'fortunes');
    assert.equal(job.level, 'char');
    assert.equal(job.vocabularySize, undefined);
    assert.equal(job.weightBits, null);
    assert.equal(job.activationBits, null);
    assert.equal(job.hidden, LM_DEFAULTS.hidden);
    assert.equal(job.finalLearningRate, LM_DEFAULTS.learningRate);
  });

  test('ptb defaults to word level', () => {
    const job = parseLanguageModelArgs(['--corpus', 'ptb', '--data-dir', '/data/ptb', '--weight-bits', '3', '--clip-norm', '0']);
    if (job === 'help') return assert.fail('parsed as help');
    assert.equal(job.level, 'word');
    assert.equal(job.vocabularySize, LM_DEFAULTS.wordVocabularySize);
    assert.equal(job.weightBits, 3);
    assert.equal(job.clipNorm, 0);
  });

  const rejected: [string, string[], RegExp][] = [
    ['unknown corpus', ['--corpus', 'wiki'], /unknown --corpus 'wiki'; expected fortunes or ptb/],
    ['ptb without a folder', ['--corpus', 'ptb'], /--corpus ptb needs --data-dir/],
    ['unknown level', ['--level', 'byte'], /unknown --level 'byte'; expected char or word/],
    ['unknown cell', ['--cell', 'rnn'], /unknown --cell 'rnn'; expected lstm or gru/],
    ['weight bits above 8', ['--weight-bits', '9'], /--weight-bits must be an integer from 1 to 8, got '9'/],
    ['zero activation bits', ['--activation-bits', '0'], /--activation-bits must be an integer from 1 to 8, got '0'/],
    ['negative clip norm', ['--clip-norm=-1'], /--clip-norm must be a number >= 0/],
    ['fractional hidden', ['--hidden', '1.5'], /--hidden must be a positive integer, got '1.5'/],
    ['zero bptt', ['--bptt', '0'], /--bptt must be a positive integer, got '0'/],
    ['tiny vocabulary', ['--vocabulary-size', '2'], /--vocabulary-size must be an integer from 3/],
    ['webgpu backend', ['--backend', 'webgpu'], /--backend webgpu is not available for language models/],
  ];
  for (const [name, argv, message] of rejected) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => parseLanguageModelArgs(argv),
        (error: unknown) => {
          assert.ok(error instanceof QnnError, `expected a QnnError, got ${String(error)}`);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  test('rejects a classifier option', () => {
    assert.throws(() => parseLanguageModelArgs(['--dataset', 'mnist']), /Unknown option '--dataset'/);
  });
});

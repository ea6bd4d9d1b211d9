import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { loadPtbCorpus } from '../../sdk/data/text/ptb.js';
import { FileFormatError, QnnError } from '../../sdk/errors.js';

const tempRoot = mkdtempSync(join(tmpdir(), 'qnn-ptb-test-'));
after(() => rmSync(tempRoot, { recursive: true, force: true }));

let dirCount = 0;

/** Writes a Penn Treebank layout folder; each split is the exact file content (string or bytes). */
function writePtbDir(files: { train: string | Uint8Array; valid: string | Uint8Array; test?: string | Uint8Array }): string {
  const dir = join(tempRoot, `ptb-${dirCount++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'ptb.train.txt'), files.train);
  writeFileSync(join(dir, 'ptb.valid.txt'), files.valid);
  if (files.test !== undefined) writeFileSync(join(dir, 'ptb.test.txt'), files.test);
  return dir;
}

// Leading spaces as in the real ptb.*.txt files.
const TRAIN = ' the cat sat \n the dog sat on the <unk> \n';
const VALID = ' the dog sat \n';
const TEST = ' a cat \n';

describe('loadPtbCorpus', () => {
  test('word streams and vocabulary', async () => {
    const corpus = await loadPtbCorpus({ dir: writePtbDir({ train: TRAIN, valid: VALID, test: ' the <unk> \n' }) });

    // the x3, sat x2, then cat, dog, on by code units; <unk> keeps id 1.
    assert.deepEqual(corpus.vocabulary.tokens, ['<eos>', '<unk>', 'the', 'sat', 'cat', 'dog', 'on']);
    assert.deepEqual([...corpus.train], [2, 4, 3, 0, 2, 5, 3, 6, 2, 1, 0]);
    assert.deepEqual([...corpus.valid], [2, 5, 3, 0]);
    assert.deepEqual([...corpus.test], [2, 1, 0]);
    assert.equal(corpus.level, 'word');
  });

  test('unseen word names file and line', async () => {
    const dir = writePtbDir({ train: TRAIN, valid: VALID, test: ' the cat \n a cat \n' });
    await assert.rejects(loadPtbCorpus({ dir }), (error: unknown) => {
      assert.ok(error instanceof QnnError);
      assert.match(error.message, new RegExp(`^${join(dir, 'ptb.test.txt').replace(/[.\\/]/g, '\\$&')}:2: word 'a' is not in the vocabulary`));
      return true;
    });
  });

  test('unknownTokens unk maps unseen words', async () => {
    const corpus = await loadPtbCorpus({ dir: writePtbDir({ train: TRAIN, valid: VALID, test: TEST }), unknownTokens: 'unk' });
    assert.deepEqual([...corpus.test], [1, 4, 0]);
  });

  test('character level', async () => {
    const corpus = await loadPtbCorpus({ dir: writePtbDir({ train: ' ab  b \n', valid: 'ba\n', test: 'c\n' }), level: 'char' });

    // b x3, a, space; the test character c is <unk> by default at character level.
    assert.deepEqual(corpus.vocabulary.tokens, ['<eos>', '<unk>', 'b', ' ', 'a']);
    assert.deepEqual([...corpus.train], [4, 2, 3, 2, 0]);
    assert.deepEqual([...corpus.valid], [2, 4, 0]);
    assert.deepEqual([...corpus.test], [1, 0]);
  });

  test('missing file names the folder', async () => {
    const dir = writePtbDir({ train: TRAIN, valid: VALID });
    await assert.rejects(loadPtbCorpus({ dir }), (error: unknown) => {
      assert.ok(error instanceof QnnError);
      assert.ok(error.message.startsWith(`Penn Treebank file not found: ${join(dir, 'ptb.test.txt')}.`), error.message);
      return true;
    });
  });

  test('empty file is an error', async () => {
    const dir = writePtbDir({ train: TRAIN, valid: '', test: TEST });
    await assert.rejects(loadPtbCorpus({ dir }), (error: unknown) => {
      assert.ok(error instanceof FileFormatError);
      assert.equal(error.file, join(dir, 'ptb.valid.txt'));
      assert.match(error.message, /the file is empty/);
      return true;
    });
  });

  test('invalid UTF-8 names the line', async () => {
    const latin1 = Uint8Array.from([...Buffer.from(' the cat \n the caf'), 0xe9, 0x0a]);
    const dir = writePtbDir({ train: latin1, valid: VALID, test: TEST });
    await assert.rejects(loadPtbCorpus({ dir }), (error: unknown) => {
      assert.ok(error instanceof FileFormatError);
      assert.equal(error.file, join(dir, 'ptb.train.txt'));
      assert.equal(error.offset, 18);
      assert.match(error.message, /invalid UTF-8 on line 2 \(byte 0xe9\)/);
      return true;
    });
  });
});

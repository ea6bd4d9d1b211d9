import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { FORTUNES_DIR, fortuneSplitOf, listFortuneFiles, loadFortunesCorpus, parseFortuneFile } from '../../sdk/data/text/fortunes.js';
import { FileFormatError, QnnError } from '../../sdk/errors.js';

const tempRoot = mkdtempSync(join(tmpdir(), 'qnn-fortunes-test-'));
after(() => rmSync(tempRoot, { recursive: true, force: true }));

describe('fortune files', () => {
  test('split rule by entry index', () => {
    const splits = Array.from({ length: 20 }, (_, i) => fortuneSplitOf(i));
    assert.deepEqual(splits.slice(0, 10), ['train', 'train', 'train', 'train', 'train', 'train', 'train', 'train', 'valid', 'test']);
    assert.deepEqual(splits.slice(10), splits.slice(0, 10));
  });

  test('parse skips blank entries', () => {
    const entries = parseFortuneFile('one\ntwo\n%\n\n%\nthree\n%\n', 'f');
    assert.equal(entries.length, 2);
    assert.deepEqual(entries[0].lines, [{ text: 'one', file: 'f', line: 1 }, { text: 'two', file: 'f', line: 2 }]);
    assert.deepEqual(entries[1].lines, [{ text: 'three', file: 'f', line: 6 }]);
  });

  test('parse keeps the last overstruck character', () => {
    const entries = parseFortuneFile('_\bH_\bi there\n', 'f');
    assert.equal(entries[0].lines[0].text, 'Hi there');
  });

  test('only a line of % separates', () => {
    const entries = parseFortuneFile('100% sure\n %\nstill one\n', 'f');
    assert.equal(entries.length, 1);
    assert.equal(entries[0].lines.length, 3);
  });

  test('synthetic folder splits in file order', async () => {
    const dir = join(tempRoot, 'synthetic');
    mkdirSync(dir);
    // Twelve one-word entries in two files. File a sorts first, so it contains entries 0-4 and b entries 5-11.
    writeFileSync(join(dir, 'b'), 'e5\n%\ne6\n%\ne7\n%\ne8\n%\ne9\n%\ne10\n%\ne11\n');
    writeFileSync(join(dir, 'a'), 'e0\n%\ne1\n%\ne2\n%\ne3\n%\ne4\n');
    writeFileSync(join(dir, 'a.dat'), Uint8Array.of(0xff, 0x00, 0x01));
    symlinkSync('a', join(dir, 'a.u8'));
    symlinkSync('b', join(dir, 'link'));

    assert.deepEqual(listFortuneFiles(dir), [join(dir, 'a'), join(dir, 'b')]);
    const corpus = await loadFortunesCorpus({ dir, level: 'word' });
    const words = (ids: Int32Array) => corpus.vocabulary.decode(ids, ' ').trim().split('\n');
    assert.deepEqual(words(corpus.train), ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e10', 'e11']);
    assert.deepEqual(corpus.entries, { train: 10, valid: 1, test: 1 });
    // e8 and e9 appear only outside training, so they are <unk>.
    assert.deepEqual(words(corpus.valid), ['<unk>']);
    assert.deepEqual(words(corpus.test), ['<unk>']);
  });

  test('missing folder names the package', () => {
    assert.throws(() => listFortuneFiles(join(tempRoot, 'nowhere')), (error: unknown) => {
      assert.ok(error instanceof QnnError);
      assert.match(error.message, /fortune folder not found: .*nowhere\. Install Debian's fortunes package/);
      return true;
    });
  });

  test('file without entries is an error', async () => {
    const dir = join(tempRoot, 'blank');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a'), 'x\n');
    writeFileSync(join(dir, 'b'), '%\n\n%\n');
    await assert.rejects(loadFortunesCorpus({ dir }), (error: unknown) => {
      assert.ok(error instanceof FileFormatError);
      assert.equal(error.file, join(dir, 'b'));
      return true;
    });
  });
});

// The real corpus: CI installs Debian's fortunes package, so there a missing folder fails.
const realCorpusMissing = existsSync(FORTUNES_DIR) ? undefined : `${FORTUNES_DIR} not found; install Debian's fortunes package to run this test`;

if (realCorpusMissing !== undefined && process.env.CI) {
  test('fortunes corpus is installed in CI', () => {
    assert.fail(realCorpusMissing);
  });
}

describe('real fortunes corpus', { skip: realCorpusMissing }, () => {
  test('character level splits about 8:1:1', async () => {
    const corpus = await loadFortunesCorpus({ level: 'char' });
    const entries = corpus.entries.train + corpus.entries.valid + corpus.entries.test;

    assert.ok(corpus.files.length >= 10, `only ${corpus.files.length} fortune files`);
    assert.ok(corpus.files.every((file) => !file.endsWith('.dat') && !file.endsWith('.u8')));
    // Entry n mod 10 decides, so the counts differ from 8:1:1 by at most one entry each.
    assert.ok(Math.abs(corpus.entries.valid - entries / 10) <= 1, JSON.stringify(corpus.entries));
    assert.ok(Math.abs(corpus.entries.test - entries / 10) <= 1, JSON.stringify(corpus.entries));
    assert.ok(corpus.train.length > 5 * corpus.valid.length, `train ${corpus.train.length} chars, valid ${corpus.valid.length}`);
    assert.ok(corpus.vocabulary.size > 60, `vocabulary of only ${corpus.vocabulary.size} characters`);
    assert.ok(corpus.vocabulary.size < 300, `vocabulary of ${corpus.vocabulary.size} characters`);
    assert.equal(corpus.vocabulary.idOf('\b'), undefined);
    assert.equal(corpus.vocabulary.idOf('e'), 3, "'e' is not the most frequent letter");
  });

  test('first training entry decodes back', async () => {
    const corpus = await loadFortunesCorpus({ level: 'word', maxSize: 5000 });
    const first = parseFortuneFile(readFileSync(corpus.files[0], 'utf8'), corpus.files[0])[0];
    const expected = first.lines.map((line) =>
      line.text
        .split(/\s+/)
        .filter((word) => word !== '')
        .map((word) => (corpus.vocabulary.idOf(word) === undefined ? '<unk>' : word))
        .join(' '),
    );
    const decoded = corpus.vocabulary.decode(corpus.train, ' ').split('\n').slice(0, expected.length);

    assert.equal(corpus.vocabulary.size, 5000);
    assert.deepEqual(decoded, expected);
  });
});

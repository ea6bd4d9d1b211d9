import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodeUtf8Text } from '../../sdk/data/text/decode-text.js';
import { buildCorpus, countTokens, encodeLines, lineTokens } from '../../sdk/data/text/text-corpus.js';
import { EOS_TOKEN, UNK_TOKEN, Vocabulary, buildVocabulary, checkTokenIds, splitLines } from '../../sdk/data/text/vocabulary.js';
import { FileFormatError, QnnError } from '../../sdk/errors.js';

const lines = (file: string, ...texts: string[]) => texts.map((text, i) => ({ text, file, line: i + 1 }));

describe('word vocabulary', () => {
  const counts = countTokens(lines('train', 'b a c a', ' a b  d '), 'word');

  test('counts one <eos> per line', () => {
    assert.deepEqual(Object.fromEntries(counts), { a: 3, b: 2, c: 1, d: 1, [EOS_TOKEN]: 2 });
  });

  test('orders by count, then code units', () => {
    assert.deepEqual(buildVocabulary(counts).tokens, [EOS_TOKEN, UNK_TOKEN, 'a', 'b', 'c', 'd']);
  });

  test('maxSize caps the rarest tokens', () => {
    assert.deepEqual(buildVocabulary(counts, { maxSize: 4 }).tokens, [EOS_TOKEN, UNK_TOKEN, 'a', 'b']);
  });

  test('minCount drops rare tokens', () => {
    assert.deepEqual(buildVocabulary(counts, { minCount: 2 }).tokens, [EOS_TOKEN, UNK_TOKEN, 'a', 'b']);
  });

  test('rejects a cap below three', () => {
    assert.throws(() => buildVocabulary(counts, { maxSize: 2 }), /maxSize must be an integer >= 3/);
  });

  test('<unk> in the text keeps id 1', () => {
    const vocabulary = buildVocabulary(countTokens(lines('t', '<unk> x <unk>'), 'word'));
    assert.deepEqual(vocabulary.tokens, [EOS_TOKEN, UNK_TOKEN, 'x']);
  });
});

describe('encodeLines', () => {
  const vocabulary = new Vocabulary([EOS_TOKEN, UNK_TOKEN, 'a', 'b']);

  test('words with <eos> per line', () => {
    assert.deepEqual([...encodeLines(lines('f', 'a b', '', 'b z'), 'word', vocabulary, 'unk')], [2, 3, 0, 0, 3, 1, 0]);
  });

  test('error policy names file and line', () => {
    assert.throws(
      () => encodeLines(lines('ptb.valid.txt', 'a b', 'b z a'), 'word', vocabulary, 'error'),
      (error: unknown) => {
        assert.ok(error instanceof QnnError);
        assert.match(error.message, /^ptb\.valid\.txt:2: word 'z' is not in the vocabulary/);
        return true;
      },
    );
  });

  test('characters collapse white space', () => {
    assert.deepEqual(lineTokens('  ab \t c ', 'char'), ['a', 'b', ' ', 'c']);
  });

  test('characters split by code point', () => {
    assert.deepEqual(lineTokens('a😀b', 'char'), ['a', '😀', 'b']);
  });

  test('decode round trip', () => {
    const chars = buildCorpus('t', 'char', { train: lines('t', 'ab ba', 'b'), valid: lines('v', 'ab'), test: lines('x', 'ca') }, {});
    assert.equal(chars.vocabulary.decode(chars.train, ''), 'ab ba\nb\n');
    assert.equal(chars.vocabulary.decode(chars.test, ''), `${UNK_TOKEN}a\n`);
  });

  test('capped training words become <unk>', () => {
    const corpus = buildCorpus('t', 'word', { train: lines('t', 'a a b'), valid: lines('v', 'a'), test: lines('x', 'a') }, { maxSize: 3, unknownTokens: 'error' });
    assert.deepEqual([...corpus.train], [2, 2, 1, 0]);
  });
});

describe('Vocabulary', () => {
  const vocabulary = new Vocabulary([EOS_TOKEN, UNK_TOKEN, 'the', 'cat']);

  test('decode joins words per line', () => {
    assert.equal(vocabulary.decode([2, 3, 0, 3, 2, 0], ' '), 'the cat\ncat the\n');
  });

  test('tokenOf rejects an id outside', () => {
    assert.throws(() => vocabulary.tokenOf(4), /token id 4 is outside the vocabulary of 4 tokens \(ids 0\.\.3\)/);
    assert.throws(() => vocabulary.tokenOf(-1), /token id -1 is outside/);
  });

  test('text round trip', () => {
    assert.deepEqual(Vocabulary.fromText(vocabulary.toText(), 'vocab.txt').tokens, vocabulary.tokens);
  });

  test('fromText names a repeated line', () => {
    assert.throws(
      () => Vocabulary.fromText(`${EOS_TOKEN}\n${UNK_TOKEN}\nx\ny\nx\n`, 'vocab.txt'),
      (error: unknown) => {
        assert.ok(error instanceof FileFormatError);
        assert.equal(error.message, "vocab.txt: line 5 repeats the token 'x' of line 3");
        return true;
      },
    );
  });

  test('rejects missing special tokens', () => {
    assert.throws(() => new Vocabulary(['a', 'b']), /must start with '<eos>' and '<unk>'/);
  });

  test('checkTokenIds names the position', () => {
    checkTokenIds(Int32Array.of(0, 3, 2), 4, 'valid');
    assert.throws(() => checkTokenIds(Int32Array.of(0, 3, 4), 4, 'valid'), /^QnnError: valid: token id 4 at position 2 is outside the vocabulary of 4 tokens/);
    assert.throws(() => checkTokenIds(Int32Array.of(-2), 4, 'train'), /token id -2 at position 0/);
  });

  test('splitLines handles CRLF and a missing final break', () => {
    assert.deepEqual(splitLines('a\r\nb\n\nc'), ['a', 'b', '', 'c']);
    assert.deepEqual(splitLines('a\n'), ['a']);
  });
});

describe('decodeUtf8Text', () => {
  const bytes = (...values: number[]) => Uint8Array.from(values);

  test('decodes multi-byte text', () => {
    assert.equal(decodeUtf8Text(new TextEncoder().encode('é€😀\n'), 'f.txt'), 'é€😀\n');
  });

  test('names the line of a bad byte', () => {
    // 'a\nb\n' then a lone continuation byte on line 3.
    assert.throws(
      () => decodeUtf8Text(bytes(0x61, 0x0a, 0x62, 0x0a, 0x63, 0x80), 'f.txt'),
      (error: unknown) => {
        assert.ok(error instanceof FileFormatError);
        assert.equal(error.message, 'f.txt: invalid UTF-8 on line 3 (byte 0x80); convert the file to UTF-8, for example with iconv (at byte offset 5)');
        return true;
      },
    );
  });

  test('rejects overlong, surrogate and truncated forms', () => {
    const cases: [string, number[]][] = [
      ['overlong slash', [0xc0, 0xaf]],
      ['overlong three-byte', [0xe0, 0x80, 0xaf]],
      ['surrogate', [0xed, 0xa0, 0x80]],
      ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
      ['truncated', [0x61, 0xe2, 0x82]],
      ['Latin-1 e acute', [0x63, 0x61, 0x66, 0xe9, 0x0a]],
    ];
    for (const [name, sequence] of cases) {
      assert.throws(() => decodeUtf8Text(bytes(...sequence), 'f.txt'), /invalid UTF-8 on line 1/, name);
    }
  });

  test('rejects an empty file', () => {
    assert.throws(() => decodeUtf8Text(new Uint8Array(0), 'empty.txt'), /^FileFormatError: empty\.txt: the file is empty/);
  });
});

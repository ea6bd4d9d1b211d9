import { QnnError } from '../../errors.js';
import { EOS_TOKEN, type Vocabulary, type VocabularyOptions, buildVocabulary } from './vocabulary.js';

/** Token granularity: words separated by white space, or single Unicode code points. */
export type TextLevel = 'word' | 'char';

/** One line of a corpus with where it came from, so errors can name the file and line. */
export interface TextLine {
  text: string;
  file: string;
  /** 1-based line number in `file`. */
  line: number;
}

/** A corpus as token-id streams: every line's tokens followed by `<eos>`, lines in file order. */
export interface TextCorpus {
  name: string;
  level: TextLevel;
  /** Built from the training split only. */
  vocabulary: Vocabulary;
  train: Int32Array;
  valid: Int32Array;
  test: Int32Array;
}

/** Handling of a token outside the vocabulary: 'unk' maps it to `<unk>`, 'error' throws naming the file and line. */
export type UnknownTokenPolicy = 'unk' | 'error';

/**
 * Returns the tokens of one line without its `<eos>`. Runs of white space count as one
 * space and leading or trailing white space is dropped, at both levels, so a character
 * model reads the same text as a word model (Penn Treebank lines start with a space).
 */
export function lineTokens(text: string, level: TextLevel): string[] {
  const words = text.split(/\s+/).filter((word) => word !== '');
  if (level === 'word') return words;
  return Array.from(words.join(' '));
}

/** Counts the tokens of `lines`, one `<eos>` per line included. */
export function countTokens(lines: Iterable<TextLine>, level: TextLevel): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    for (const token of lineTokens(line.text, level)) counts.set(token, (counts.get(token) ?? 0) + 1);
    counts.set(EOS_TOKEN, (counts.get(EOS_TOKEN) ?? 0) + 1);
  }
  return counts;
}

/**
 * Encodes `lines` as one id stream with `<eos>` after each line. With policy 'error' a
 * token outside the vocabulary throws QnnError naming the file, line and token.
 */
export function encodeLines(lines: readonly TextLine[], level: TextLevel, vocabulary: Vocabulary, policy: UnknownTokenPolicy): Int32Array {
  const ids: number[] = [];
  for (const line of lines) {
    for (const token of lineTokens(line.text, level)) {
      const id = vocabulary.idOf(token);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      if (policy === 'error') {
        throw new QnnError(
          `${line.file}:${line.line}: ${level === 'word' ? 'word' : 'character'} '${token}' is not in the vocabulary built from the training split; ` +
            'replace it with <unk> in the file, or load with unknownTokens: "unk"',
        );
      }
      ids.push(vocabulary.unkId);
    }
    ids.push(vocabulary.eosId);
  }
  return Int32Array.from(ids);
}

/**
 * Builds the vocabulary from `train` and encodes the three splits with it. Training
 * tokens that the frequency cap drops always become `<unk>`; `unknownTokens` (default
 * 'unk') decides for validation and test tokens never seen in training.
 */
export function buildCorpus(
  name: string,
  level: TextLevel,
  splits: { train: readonly TextLine[]; valid: readonly TextLine[]; test: readonly TextLine[] },
  options: VocabularyOptions & { unknownTokens?: UnknownTokenPolicy },
): TextCorpus {
  const vocabulary = buildVocabulary(countTokens(splits.train, level), options);
  const policy = options.unknownTokens ?? 'unk';
  return {
    name,
    level,
    vocabulary,
    train: encodeLines(splits.train, level, vocabulary, 'unk'),
    valid: encodeLines(splits.valid, level, vocabulary, policy),
    test: encodeLines(splits.test, level, vocabulary, policy),
  };
}

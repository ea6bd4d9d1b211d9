/**
 * Reader for corpora in the Penn Treebank language-modelling layout (Mikolov's
 * preprocessing): ptb.train.txt, ptb.valid.txt and ptb.test.txt in one folder, one
 * sentence per line, words separated by spaces, rare words already replaced by `<unk>`.
 * The reader appends `<eos>` at each line end.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { QnnError } from '../../errors.js';
import { decodeUtf8Text } from './decode-text.js';
import { type TextCorpus, type TextLevel, type TextLine, type UnknownTokenPolicy, buildCorpus } from './text-corpus.js';
import { type VocabularyOptions, splitLines } from './vocabulary.js';

export const PTB_FILES = { train: 'ptb.train.txt', valid: 'ptb.valid.txt', test: 'ptb.test.txt' } as const;

export interface LoadPtbOptions extends VocabularyOptions {
  /** Folder with the three files. */
  dir: string;
  /** Default 'word'. */
  level?: TextLevel;
  /**
   * Validation or test tokens missing from the training split: 'error' throws naming the
   * file and line, 'unk' maps them to `<unk>`. Default 'error' at word level, because in
   * this layout every such word is already `<unk>`, and 'unk' at character level.
   */
  unknownTokens?: UnknownTokenPolicy;
}

/**
 * Loads the three splits and builds the vocabulary from the training split. Throws
 * QnnError for a missing file, and FileFormatError naming the file (and line) for an
 * empty file or invalid UTF-8.
 */
export async function loadPtbCorpus(options: LoadPtbOptions): Promise<TextCorpus> {
  const level = options.level ?? 'word';
  const splits = {
    train: await readTextLines(ptbPath(options.dir, 'train')),
    valid: await readTextLines(ptbPath(options.dir, 'valid')),
    test: await readTextLines(ptbPath(options.dir, 'test')),
  };
  const unknownTokens = options.unknownTokens ?? (level === 'word' ? 'error' : 'unk');
  return buildCorpus('ptb', level, splits, { ...options, unknownTokens });
}

/** Reads a UTF-8 text file as lines that carry the file name and their line number. */
export async function readTextLines(path: string): Promise<TextLine[]> {
  const text = decodeUtf8Text(await readFile(path), path);
  return splitLines(text).map((line, index) => ({ text: line, file: path, line: index + 1 }));
}

function ptbPath(dir: string, split: keyof typeof PTB_FILES): string {
  const path = join(dir, PTB_FILES[split]);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new QnnError(
      `Penn Treebank file not found: ${path}. The folder must contain ${Object.values(PTB_FILES).join(', ')} ` +
        '(one sentence per line, words separated by spaces); pass it with --data-dir',
    );
  }
  return path;
}

/**
 * Corpus from the fortune cookie files of Debian's `fortunes` package
 * (/usr/share/games/fortunes). Each plain-text file contains entries separated by lines
 * that contain only `%`. The split rule, fixed so every run sees the same text:
 * - files: regular files of the folder, skipping `*.dat` (strfile indexes), `*.u8` and
 *   any symbolic link, in code-unit order of their names;
 * - entries: numbered 0, 1, 2, ... across the files in that order, blank entries not counted;
 * - entry n goes to training when n mod 10 is 0 to 7, to validation when it is 8, and to test when it is 9.
 * Overstrike sequences (a character, backspace, a character, used for underlining and
 * bold on terminals) keep only the character printed last.
 * NOTE: the word level splits on white space only, so punctuation stays attached to
 * words ("work." and "work" are two tokens) and a vocabulary cap maps many forms to `<unk>`.
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { FileFormatError, QnnError } from '../../errors.js';
import { decodeUtf8Text } from './decode-text.js';
import { type TextCorpus, type TextLevel, type TextLine, buildCorpus } from './text-corpus.js';
import { type VocabularyOptions, splitLines } from './vocabulary.js';

export const FORTUNES_DIR = '/usr/share/games/fortunes';

/** One fortune entry, its lines in file order. */
export interface FortuneEntry {
  lines: TextLine[];
}

export interface LoadFortunesOptions extends VocabularyOptions {
  /** Folder with the fortune files (default /usr/share/games/fortunes). */
  dir?: string;
  /** Default 'char'. */
  level?: TextLevel;
}

/** Returns the split of entry `index` under the fixed rule (index mod 10: 0-7 train, 8 valid, 9 test). */
export function fortuneSplitOf(index: number): 'train' | 'valid' | 'test' {
  const slot = index % 10;
  if (slot <= 7) return 'train';
  return slot === 8 ? 'valid' : 'test';
}

/**
 * Lists the fortune files of `dir` that the corpus reads, sorted by name. Throws
 * QnnError when the folder is missing or contains none, naming the package to install.
 */
export function listFortuneFiles(dir: string): string[] {
  if (!existsSync(dir)) {
    throw new QnnError(`fortune folder not found: ${dir}. Install Debian's fortunes package (apt-get install fortunes) or pass the folder with --data-dir`);
  }

  const names = readdirSync(dir)
    .filter((name) => !name.endsWith('.dat') && !name.endsWith('.u8'))
    .filter((name) => lstatSync(join(dir, name)).isFile())
    .sort();
  if (names.length === 0) throw new QnnError(`no fortune files in ${dir}: expected plain-text files next to their .dat indexes`);
  return names.map((name) => join(dir, name));
}

/** Parses one fortune file into its non-blank entries; `%` lines separate entries. */
export function parseFortuneFile(text: string, file: string): FortuneEntry[] {
  const entries: FortuneEntry[] = [];
  let current: TextLine[] = [];
  const finish = (): void => {
    if (current.some((line) => line.text.trim() !== '')) entries.push({ lines: current });
    current = [];
  };

  splitLines(text).forEach((raw, index) => {
    if (raw === '%') {
      finish();
      return;
    }
    current.push({ text: removeOverstrike(raw), file, line: index + 1 });
  });
  finish();
  return entries;
}

/**
 * Loads the fortune corpus with the split rule of this file's header and builds the
 * vocabulary from the training entries. Throws QnnError for a missing folder and
 * FileFormatError naming the file and line for invalid UTF-8 or a file without entries.
 */
export async function loadFortunesCorpus(options: LoadFortunesOptions = {}): Promise<TextCorpus & { files: string[]; entries: { train: number; valid: number; test: number } }> {
  const files = listFortuneFiles(options.dir ?? FORTUNES_DIR);
  const splits: Record<'train' | 'valid' | 'test', TextLine[]> = { train: [], valid: [], test: [] };
  const entries = { train: 0, valid: 0, test: 0 };

  let index = 0;
  for (const file of files) {
    const fileEntries = parseFortuneFile(decodeUtf8Text(await readFile(file), file), file);
    if (fileEntries.length === 0) throw new FileFormatError('the file contains no fortune entry (only blank lines and % separators)', file);
    for (const entry of fileEntries) {
      const split = fortuneSplitOf(index++);
      splits[split].push(...entry.lines);
      entries[split]++;
    }
  }

  const corpus = buildCorpus('fortunes', options.level ?? 'char', splits, { ...options, unknownTokens: 'unk' });
  return { ...corpus, files, entries };
}

/** Keeps the last character of each "x BACKSPACE y" overstrike and drops any other backspace. */
function removeOverstrike(line: string): string {
  if (!line.includes('\b')) return line;
  const kept: string[] = [];
  for (const char of line) {
    if (char === '\b') kept.pop();
    else kept.push(char);
  }
  return kept.join('');
}

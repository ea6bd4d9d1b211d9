import { FileFormatError, QnnError } from '../../errors.js';

/** End-of-sentence token, appended at the end of every line of a corpus. */
export const EOS_TOKEN = '<eos>';
/** Unknown token: the id of every word or character outside the vocabulary. */
export const UNK_TOKEN = '<unk>';

/** Options of `buildVocabulary`, the frequency cap. */
export interface VocabularyOptions {
  /** Largest vocabulary size, `<eos>` and `<unk>` included; rarer tokens map to `<unk>` (default: no cap). */
  maxSize?: number;
  /** Tokens seen fewer times than this in the training split map to `<unk>` (default 1, keep all). */
  minCount?: number;
}

/**
 * A bijection between tokens (words, or single characters) and ids 0..size-1.
 * Ids 0 and 1 are always `<eos>` and `<unk>`.
 */
export class Vocabulary {
  readonly tokens: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(tokens: readonly string[]) {
    if (tokens[0] !== EOS_TOKEN || tokens[1] !== UNK_TOKEN) {
      throw new QnnError(`a vocabulary must start with '${EOS_TOKEN}' and '${UNK_TOKEN}' (ids 0 and 1), got '${tokens[0]}' and '${tokens[1]}'`);
    }

    const ids = new Map<string, number>();
    tokens.forEach((token, id) => {
      if (token === '') throw new QnnError(`vocabulary token ${id} is empty`);
      if (ids.has(token)) throw new QnnError(`vocabulary token '${token}' appears twice, at ids ${ids.get(token)} and ${id}`);
      ids.set(token, id);
    });
    this.tokens = [...tokens];
    this.ids = ids;
  }

  get size(): number {
    return this.tokens.length;
  }

  get eosId(): number {
    return 0;
  }

  get unkId(): number {
    return 1;
  }

  /** Returns the id of `token`, or undefined when it is outside the vocabulary. */
  idOf(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Returns the id of `token`, or the `<unk>` id when it is outside the vocabulary. */
  idOrUnk(token: string): number {
    return this.ids.get(token) ?? 1;
  }

  /** Returns the token of `id`; throws QnnError when `id` is not an integer in 0..size-1. */
  tokenOf(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) {
      throw new QnnError(`token id ${id} is outside the vocabulary of ${this.tokens.length} tokens (ids 0..${this.tokens.length - 1})`);
    }
    return this.tokens[id];
  }

  /**
   * Joins the tokens of `ids` into text. `<eos>` becomes a line break, and words are
   * separated by `separator` (a space for word vocabularies, '' for character ones).
   */
  decode(ids: ArrayLike<number>, separator: string): string {
    let text = '';
    let lineStart = true;
    for (let i = 0; i < ids.length; i++) {
      const token = this.tokenOf(ids[i]);
      if (token === EOS_TOKEN) {
        text += '\n';
        lineStart = true;
        continue;
      }
      text += lineStart ? token : separator + token;
      lineStart = false;
    }
    return text;
  }

  /** Serializes the vocabulary as one token per line, in id order (tokens never contain line breaks). */
  toText(): string {
    return `${this.tokens.join('\n')}\n`;
  }

  /**
   * Parses the output of `toText`. Throws FileFormatError naming `file` and the line of an
   * empty or repeated token, or when the first two lines are not `<eos>` and `<unk>`.
   */
  static fromText(text: string, file: string): Vocabulary {
    const lines = splitLines(text);
    const seen = new Map<string, number>();
    lines.forEach((token, index) => {
      if (token === '') throw new FileFormatError(`line ${index + 1} is empty; a vocabulary file has one token per line`, file);
      const first = seen.get(token);
      if (first !== undefined) throw new FileFormatError(`line ${index + 1} repeats the token '${token}' of line ${first + 1}`, file);
      seen.set(token, index);
    });
    if (lines[0] !== EOS_TOKEN || lines[1] !== UNK_TOKEN) {
      throw new FileFormatError(`lines 1 and 2 must be '${EOS_TOKEN}' and '${UNK_TOKEN}'; this is not a vocabulary written by the SDK`, file);
    }
    return new Vocabulary(lines);
  }
}

/**
 * Builds a vocabulary from token counts of the training split: `<eos>` and `<unk>`, then
 * the other tokens by falling count, ties in code-unit order so the ids never depend on
 * the order the counts were collected in.
 */
export function buildVocabulary(counts: Map<string, number>, options: VocabularyOptions = {}): Vocabulary {
  const maxSize = options.maxSize ?? Infinity;
  const minCount = options.minCount ?? 1;
  if (maxSize !== Infinity && (!Number.isInteger(maxSize) || maxSize < 3)) {
    throw new QnnError(`vocabulary maxSize must be an integer >= 3 (<eos>, <unk> and one token), got ${maxSize}`);
  }
  if (!Number.isInteger(minCount) || minCount < 1) throw new QnnError(`vocabulary minCount must be a positive integer, got ${minCount}`);

  const kept = [...counts]
    .filter(([token, count]) => token !== EOS_TOKEN && token !== UNK_TOKEN && count >= minCount)
    .sort(([tokenA, countA], [tokenB, countB]) => countB - countA || compareCodeUnits(tokenA, tokenB))
    .map(([token]) => token);
  return new Vocabulary([EOS_TOKEN, UNK_TOKEN, ...kept.slice(0, maxSize - 2)]);
}

/**
 * Throws QnnError naming `source` and the position of the first id in `tokens` that is
 * not an integer in 0..vocabularySize-1, so a stream never indexes past an embedding table.
 */
export function checkTokenIds(tokens: Int32Array, vocabularySize: number, source: string): void {
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    if (id < 0 || id >= vocabularySize) {
      throw new QnnError(`${source}: token id ${id} at position ${i} is outside the vocabulary of ${vocabularySize} tokens (ids 0..${vocabularySize - 1})`);
    }
  }
}

/** Splits text into lines on LF or CRLF; a final line break does not start another line. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function compareCodeUnits(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

import { FileFormatError } from '../../errors.js';

/**
 * Decodes a text file's bytes as strict UTF-8 (a leading byte-order mark is dropped).
 * Throws FileFormatError naming `file`, the 1-based line and the byte offset of the
 * first invalid sequence, and for a file with no bytes at all, because a silently
 * replaced byte or an empty split would change the corpus without notice.
 */
export function decodeUtf8Text(bytes: Uint8Array, file: string): string {
  if (bytes.length === 0) throw new FileFormatError('the file is empty; a text split needs at least one line', file);

  const invalidAt = findInvalidUtf8(bytes);
  if (invalidAt !== -1) {
    throw new FileFormatError(
      `invalid UTF-8 on line ${lineOfOffset(bytes, invalidAt)} (byte 0x${bytes[invalidAt].toString(16).padStart(2, '0')}); ` +
        'convert the file to UTF-8, for example with iconv',
      file,
      invalidAt,
    );
  }
  return new TextDecoder('utf-8').decode(bytes);
}

/** Returns the 1-based line number of byte `offset`, counting LF bytes before it. */
export function lineOfOffset(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/**
 * Returns the offset of the first byte that starts an invalid UTF-8 sequence, or -1.
 * Rejects what the Unicode standard forbids: stray continuation bytes, truncated
 * sequences, overlong forms, UTF-16 surrogates and code points above U+10FFFF.
 */
function findInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }

    let length: number;
    let min: number;
    if (lead >= 0xc2 && lead <= 0xdf) [length, min] = [2, 0x80];
    else if (lead >= 0xe0 && lead <= 0xef) [length, min] = [3, 0x800];
    else if (lead >= 0xf0 && lead <= 0xf4) [length, min] = [4, 0x10000];
    else return i;
    if (i + length > bytes.length) return i;

    let codePoint = lead & (0x7f >> length);
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if ((next & 0xc0) !== 0x80) return i;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return i;
    i += length;
  }
  return -1;
}

/**
 * CRC-32 as used by zip, gzip and PNG: reflected polynomial 0xEDB88320, initial
 * value 0xFFFFFFFF, final XOR 0xFFFFFFFF. The check value of the ASCII bytes
 * "123456789" is 0xCBF43926.
 */

/**
 * Eight tables for slicing-by-8: row 0 is the CRC of each byte value, and row k
 * advances a row-(k-1) entry by one more zero byte. The main loop then folds 8
 * bytes per iteration with 8 independent lookups instead of 8 dependent ones,
 * which matters for checkpoints of hundreds of megabytes.
 */
const CRC32_TABLES = buildCrc32Tables();

function buildCrc32Tables(): Uint32Array {
  const tables = new Uint32Array(8 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    tables[byte] = crc >>> 0;
  }

  for (let row = 1; row < 8; row++) {
    for (let byte = 0; byte < 256; byte++) {
      const previous = tables[(row - 1) * 256 + byte];
      tables[row * 256 + byte] = (tables[previous & 0xff] ^ (previous >>> 8)) >>> 0;
    }
  }
  return tables;
}

/** Computes the CRC-32 of `bytes` as an unsigned 32-bit integer. */
export function crc32(bytes: Uint8Array): number {
  const t = CRC32_TABLES;
  let crc = 0xffffffff;
  let i = 0;

  const blockEnd = bytes.length - (bytes.length % 8);
  for (; i < blockEnd; i += 8) {
    const low = crc ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    const high = bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24);
    crc =
      t[1792 + (low & 0xff)] ^
      t[1536 + ((low >>> 8) & 0xff)] ^
      t[1280 + ((low >>> 16) & 0xff)] ^
      t[1024 + (low >>> 24)] ^
      t[768 + (high & 0xff)] ^
      t[512 + ((high >>> 8) & 0xff)] ^
      t[256 + ((high >>> 16) & 0xff)] ^
      t[high >>> 24];
  }

  for (; i < bytes.length; i++) crc = t[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

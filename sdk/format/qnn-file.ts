/**
 * The `.qnn` file of a compiled (packed) model: encoding, decoding, and atomic
 * saving and loading in Node. The byte layout is in docs/qnn-format.md.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import type { PackedModel, PackedNetwork } from '../compile/graph.js';
import { QnnError } from '../errors.js';
import { decodeQnn, decodeQnnNetwork } from './qnn-decode.js';
import { encodeQnn } from './qnn-encode.js';

export { decodeQnn, decodeQnnNetwork, encodeQnn };
export { QNN_FORMAT_VERSION } from './qnn-layout.js';

/**
 * Saves a model to `path` atomically: the bytes go to a temporary file in the same
 * folder, which is flushed to disk and then renamed over `path`. A crash therefore
 * leaves either the old file or the new one, never a partial file. The model is
 * encoded before any file is touched, so an invalid model leaves `path` unchanged.
 * On a write or rename error the temporary file is removed and the error rethrown.
 */
export async function saveQnn(path: string, model: PackedNetwork): Promise<void> {
  const bytes = encodeQnn(model);
  const tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);

  let handle: FileHandle | undefined;
  try {
    handle = await open(tempPath, 'wx');
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tempPath, path);
  } catch (error) {
    await removeTempFile(handle, tempPath, path, error);
    throw error;
  }
}

/** Closes and deletes the temporary file after `error`, reporting both errors when the deletion fails too. */
async function removeTempFile(handle: FileHandle | undefined, tempPath: string, path: string, error: unknown) {
  try {
    await handle?.close();
  } catch {
    // The write error is the one to report, and the file is deleted below regardless.
  }
  try {
    await rm(tempPath, { force: true });
  } catch (cleanupError) {
    throw new AggregateError(
      [error, cleanupError],
      `saving ${path} failed, and its temporary file ${tempPath} could not be removed`,
      { cause: cleanupError },
    );
  }
}

/**
 * Reads and decodes a `.qnn` file. Format errors are FileFormatErrors naming `path`;
 * a file that cannot be read (missing, a directory, no permission) raises a QnnError with the system's reason.
 */
export async function loadQnn(path: string): Promise<PackedModel> {
  return decodeQnn(await readModelFile(path), path);
}

/** Reads and decodes a `.qnn` file of any layer kinds, with the errors of loadQnn. */
export async function loadQnnNetwork(path: string): Promise<PackedNetwork> {
  return decodeQnnNetwork(await readModelFile(path), path);
}

async function readModelFile(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : error instanceof Error ? error.message : String(error);
    throw new QnnError(`cannot read model file ${path}: ${reason}`);
  }
  return bytes;
}

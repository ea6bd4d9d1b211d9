/**
 * Synchronous file access for `fit`, which is synchronous and so cannot await
 * a save. Node's fs comes from process.getBuiltinModule and Deno's from the
 * Deno global, so this module has no node: import and browser bundles stay clean.
 */
import { QnnError } from '../errors.js';
import { tempPathFor } from './paths.js';

/** The few operations an atomic save needs; tests pass their own to simulate failures. */
export interface SyncFileOps {
  /** Creates `path` (failing if it exists), writes every byte, flushes it to disk and closes it. */
  writeNewFile(path: string, bytes: Uint8Array): void;
  rename(from: string, to: string): void;
  /** Deletes `path`; a missing file is not an error. */
  remove(path: string): void;
  readFile(path: string): Uint8Array;
}

interface NodeFs {
  openSync(path: string, flags: string): number;
  writeSync(fd: number, bytes: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  rmSync(path: string, options: { force: boolean }): void;
  readFileSync(path: string): Uint8Array;
}

interface DenoFile {
  writeSync(bytes: Uint8Array): number;
  syncDataSync(): void;
  close(): void;
}

interface DenoSyncApi {
  openSync(path: string, options: { write: boolean; createNew: boolean }): DenoFile;
  renameSync(from: string, to: string): void;
  removeSync(path: string): void;
  readFileSync(path: string): Uint8Array;
}

/** Returns the runtime's synchronous file operations: Deno's when running in Deno, else Node's. */
export function defaultSyncFileOps(): SyncFileOps {
  const deno = (globalThis as { Deno?: DenoSyncApi }).Deno;
  if (deno !== undefined) return denoOps(deno);
  const process = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  const fs = process?.getBuiltinModule?.('node:fs') as NodeFs | undefined;
  if (fs !== undefined) return nodeOps(fs);
  throw new QnnError('synchronous file access needs Node 20.16 or later, or Deno; in a browser, save checkpoints with the `write` option of FitOptions.checkpoint');
}

/**
 * Replaces `path` with `bytes` atomically: a temporary file in the same folder
 * is written and flushed, then renamed over `path`. On any failure the
 * temporary file is removed and `path` keeps its previous content.
 */
export function writeFileAtomicSync(path: string, bytes: Uint8Array, ops: SyncFileOps = defaultSyncFileOps()): void {
  const tempPath = tempPathFor(path);
  try {
    ops.writeNewFile(tempPath, bytes);
    ops.rename(tempPath, path);
  } catch (error) {
    try {
      ops.remove(tempPath);
    } catch (cleanupError) {
      throw new AggregateError([error, cleanupError], `saving ${path} failed, and its temporary file ${tempPath} could not be removed`, { cause: cleanupError });
    }
    throw error;
  }
}

/** Reads a whole file, with a QnnError that names the path when it cannot be read. */
export function readFileSyncChecked(path: string, ops: SyncFileOps = defaultSyncFileOps()): Uint8Array {
  try {
    return ops.readFile(path);
  } catch (error) {
    throw new QnnError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function nodeOps(fs: NodeFs): SyncFileOps {
  return {
    writeNewFile(path, bytes) {
      const fd = fs.openSync(path, 'wx');
      try {
        let written = 0;
        while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    },
    rename: (from, to) => fs.renameSync(from, to),
    remove: (path) => fs.rmSync(path, { force: true }),
    readFile: (path) => fs.readFileSync(path),
  };
}

function denoOps(deno: DenoSyncApi): SyncFileOps {
  return {
    writeNewFile(path, bytes) {
      const file = deno.openSync(path, { write: true, createNew: true });
      try {
        let written = 0;
        while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
        file.syncDataSync();
      } finally {
        file.close();
      }
    },
    rename: (from, to) => deno.renameSync(from, to),
    remove(path) {
      try {
        deno.removeSync(path);
      } catch (error) {
        if ((error as { name?: string }).name !== 'NotFound') throw error;
      }
    },
    readFile: (path) => deno.readFileSync(path),
  };
}

/**
 * One save and load API for model files in every runtime. The destination or
 * source string picks the store:
 *   a path or file:// URL   Node (node:fs) and Deno (Deno.* file API)
 *   indexeddb://NAME        browsers (and workers): the IndexedDB database 'qnn-models'
 *   downloads://NAME        browsers, save only: the browser downloads the bytes as NAME
 *   http:// or https:// URL load only, through fetch
 * Node modules are imported on first use, so browser bundles carry no node: import.
 */
import type { PackedModel, PackedNetwork } from '../compile/graph.js';
import { QnnError } from '../errors.js';
import { decodeQnnNetwork } from '../format/qnn-decode.js';
import { encodeQnn } from '../format/qnn-encode.js';
import { deleteFromIndexedDb, loadFromIndexedDb, saveToIndexedDb } from './indexeddb-store.js';
import { filePathOf, tempPathFor } from './paths.js';

const INDEXEDDB = 'indexeddb://';
const DOWNLOADS = 'downloads://';

/** Writes `bytes` to `destination`; a file is replaced atomically (temporary file, flush, rename). */
export async function saveModelFile(bytes: Uint8Array, destination: string): Promise<void> {
  if (destination.startsWith(INDEXEDDB)) return saveToIndexedDb(storeName(destination, INDEXEDDB), bytes);
  if (destination.startsWith(DOWNLOADS)) return download(storeName(destination, DOWNLOADS), bytes);
  if (/^https?:\/\//i.test(destination)) throw new QnnError(`cannot save to ${destination}: http(s) URLs are for loading only; upload the bytes with your own request`);
  return writeFileAtomic(filePathOf(destination), bytes);
}

/** Reads the bytes stored at `source`. */
export async function loadModelFile(source: string): Promise<Uint8Array> {
  if (source.startsWith(INDEXEDDB)) return loadFromIndexedDb(storeName(source, INDEXEDDB));
  if (source.startsWith(DOWNLOADS)) throw new QnnError(`cannot load ${source}: downloads:// is for saving only; load the downloaded file by its path or through a file input`);
  if (/^https?:\/\//i.test(source)) return fetchBytes(source);
  return readFile(filePathOf(source));
}

/** Removes a model saved under indexeddb://NAME or at a file path; a missing one is not an error. */
export async function deleteModelFile(location: string): Promise<void> {
  if (location.startsWith(INDEXEDDB)) return deleteFromIndexedDb(storeName(location, INDEXEDDB));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) && !location.startsWith('file:')) throw new QnnError(`cannot delete ${location}: only file paths and indexeddb:// locations can be deleted`);
  const path = filePathOf(location);
  if (isBrowser()) throw new QnnError(`cannot delete the path ${path} in a browser; browsers store models under indexeddb://NAME`);
  const deno = denoApi();
  if (deno !== undefined) {
    await deno.remove(path).catch((error: { name?: string }) => {
      if (error.name !== 'NotFound') throw error;
    });
    return;
  }
  const fs = await import('node:fs/promises');
  await fs.rm(path, { force: true });
}

/** Encodes a packed network as a .qnn file and saves it with saveModelFile. */
export async function saveQnnTo(network: PackedNetwork | PackedModel, destination: string): Promise<void> {
  await saveModelFile(encodeQnn(network), destination);
}

/** Loads and decodes a .qnn file from any source that loadModelFile reads. */
export async function loadQnnFrom(source: string): Promise<PackedNetwork> {
  return decodeQnnNetwork(await loadModelFile(source), source);
}

function storeName(location: string, scheme: string): string {
  const name = location.slice(scheme.length);
  if (name.length === 0) throw new QnnError(`${location} has no name after ${scheme}; write e.g. ${scheme}mnist-bnn`);
  return name;
}

interface DenoFileHandle {
  write(bytes: Uint8Array): Promise<number>;
  syncData(): Promise<void>;
  close(): void;
}

interface DenoAsyncApi {
  open(path: string, options: { write: boolean; createNew: boolean }): Promise<DenoFileHandle>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
}

function denoApi(): DenoAsyncApi | undefined {
  return (globalThis as { Deno?: DenoAsyncApi }).Deno;
}

function isBrowser(): boolean {
  return denoApi() === undefined && (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === undefined;
}

async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  if (isBrowser()) throw new QnnError(`cannot save to the path ${path} in a browser; use indexeddb://NAME or downloads://NAME`);
  const tempPath = tempPathFor(path);
  const deno = denoApi();
  if (deno !== undefined) {
    try {
      const file = await deno.open(tempPath, { write: true, createNew: true });
      try {
        let written = 0;
        while (written < bytes.length) written += await file.write(bytes.subarray(written));
        await file.syncData();
      } finally {
        file.close();
      }
      await deno.rename(tempPath, path);
    } catch (error) {
      await deno.remove(tempPath).catch(() => undefined);
      throw saveError(path, error);
    }
    return;
  }

  const fs = await import('node:fs/promises');
  try {
    const handle = await fs.open(tempPath, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tempPath, path);
  } catch (error) {
    await fs.rm(tempPath, { force: true });
    throw saveError(path, error);
  }
}

async function readFile(path: string): Promise<Uint8Array> {
  if (isBrowser()) throw new QnnError(`cannot read the path ${path} in a browser; use an http(s) URL or indexeddb://NAME`);
  try {
    const deno = denoApi();
    if (deno !== undefined) return await deno.readFile(path);
    const fs = await import('node:fs/promises');
    return new Uint8Array(await fs.readFile(path));
  } catch (error) {
    const code = (error as { code?: string; name?: string }).code ?? (error as { name?: string }).name;
    const reason = code === 'ENOENT' || code === 'NotFound' ? 'no such file' : error instanceof Error ? error.message : String(error);
    throw new QnnError(`cannot read model file ${path}: ${reason}`);
  }
}

function saveError(path: string, error: unknown): QnnError {
  const reason = error instanceof Error ? error.message : String(error);
  return new QnnError(`cannot save model file ${path}: ${reason}; the previous file, if any, is unchanged`);
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new QnnError(`cannot fetch ${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!response.ok) throw new QnnError(`cannot fetch ${url}: the server responded ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Hands the bytes to the browser's download manager through a temporary <a download> link. */
function download(name: string, bytes: Uint8Array): void {
  const doc = (globalThis as { document?: Document }).document;
  if (doc === undefined) throw new QnnError(`cannot save downloads://${name}: downloads need a browser page with a document (not a worker, Node or Deno)`);
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
  const link = doc.createElement('a');
  link.href = url;
  link.download = name;
  link.style.display = 'none';
  doc.body.appendChild(link);
  link.click();
  link.remove();
  // The download starts asynchronously, so the URL stays valid a little longer than the click.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

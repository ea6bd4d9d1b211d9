/** Model bytes in the browser's IndexedDB: database 'qnn-models', object store 'files', keyed by name. */
import { QnnError } from '../errors.js';

const DATABASE = 'qnn-models';
const STORE = 'files';

function openDatabase(): Promise<IDBDatabase> {
  const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (factory === undefined) return Promise.reject(new QnnError('indexeddb:// needs a browser or worker with IndexedDB; in Node and Deno save to a file path'));
  return new Promise((resolve, reject) => {
    const request = factory.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new QnnError(`cannot open the IndexedDB database ${DATABASE}: ${request.error?.message ?? 'unknown error'}`));
  });
}

/** Runs one request in a transaction and resolves when the transaction commits, so a save is durable once it resolves. */
async function withStore<T>(mode: IDBTransactionMode, what: string, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDatabase();
  try {
    return await new Promise<T>((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = run(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(new QnnError(`${what} failed: ${transaction.error?.message ?? request.error?.message ?? 'unknown error'}`));
      transaction.onabort = () => reject(new QnnError(`${what} was aborted: ${transaction.error?.message ?? 'quota exceeded or the page closed'}`));
    });
  } finally {
    db.close();
  }
}

export async function saveToIndexedDb(name: string, bytes: Uint8Array): Promise<void> {
  // A copy, so the caller may reuse its buffer and a view on a larger buffer stores only its own bytes.
  await withStore('readwrite', `saving indexeddb://${name}`, (store) => store.put(bytes.slice(), name));
}

export async function loadFromIndexedDb(name: string): Promise<Uint8Array> {
  const value: unknown = await withStore('readonly', `loading indexeddb://${name}`, (store) => store.get(name));
  if (value === undefined) throw new QnnError(`indexeddb://${name} does not exist; save it first with saveModelFile`);
  if (!(value instanceof Uint8Array)) throw new QnnError(`indexeddb://${name} contains a ${Object.prototype.toString.call(value)}, not model bytes`);
  return value;
}

export async function deleteFromIndexedDb(name: string): Promise<void> {
  await withStore('readwrite', `deleting indexeddb://${name}`, (store) => store.delete(name));
}

import type { Backend } from './backend.js';
import { ReferenceBackend } from './reference-backend.js';

let active: Backend = new ReferenceBackend();

/** Returns the backend that ops dispatch their kernels to. Ops never name a backend themselves. */
export function getBackend(): Backend {
  return active;
}

export function setBackend(backend: Backend): void {
  active = backend;
}

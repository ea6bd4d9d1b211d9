import { QnnError } from '../errors.js';
import type { Backend } from './backend.js';
import { ReferenceBackend } from './reference-backend.js';
import { createWasmBackend } from './create-wasm-backend.js';

export const BACKEND_NAMES = ['auto', 'wasm', 'wasm-simd', 'wasm-scalar', 'reference'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * Creates the backend a user asked for. 'auto' and 'wasm' take the WASM SIMD
 * build where the runtime validates SIMD and the scalar build otherwise.
 * `threads` (a count or 'auto') applies to the WASM backends, which fall back
 * to one thread where shared memory or worker threads are unavailable.
 */
export async function selectBackend(name: string, options: { threads?: number | 'auto' } = {}): Promise<Backend> {
  const threads = options.threads ?? 1;
  switch (name) {
    case 'auto':
    case 'wasm':
      return createWasmBackend({ threads });
    case 'wasm-simd':
      return createWasmBackend({ simd: true, threads });
    case 'wasm-scalar':
      return createWasmBackend({ simd: false, threads });
    case 'reference':
      return new ReferenceBackend();
    default:
      throw new QnnError(`unknown backend '${name}'; expected one of: ${BACKEND_NAMES.join(', ')}`);
  }
}

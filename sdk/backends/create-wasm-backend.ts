import { QnnError } from '../errors.js';
import { type WasmBackendOptions, WasmBackend } from './wasm-backend.js';
import { type WasmBuild, defaultWasmUrl, instantiateWasm, isWasmSimdSupported, readWasmBytes } from './wasm-loader.js';
import { createThreadedWasmBackend } from './wasm-threads.js';

function parseWasmUrl(url: string | URL): URL {
  if (url instanceof URL) return url;
  try {
    return new URL(url);
  } catch {
    throw new QnnError(
      `wasmUrl '${url}' is not an absolute URL. Pass an absolute URL or a URL object ` +
        "such as new URL('./qnn-simd.wasm', import.meta.url)",
    );
  }
}

/**
 * Loads a compiled qnn module and returns a backend running it. Picks the SIMD
 * build when the host validates a SIMD module, unless `options.simd` forces a
 * build. Throws a QnnError when SIMD is forced but unsupported, when the module
 * cannot be read or compiled, or when `wasmBytes`/`wasmUrl` hold the other
 * build than the one `simd` forces. With `options.threads` above 1 it loads
 * the threads build and starts workers where the runtime allows (Node's
 * worker_threads, or module Web Workers in a cross-origin isolated page), and
 * falls back to one thread silently where it does not. A worker that fails to
 * start is an error, not a fallback.
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const simdSupported = isWasmSimdSupported();
  if (options.simd === true && !simdSupported) {
    throw new QnnError(
      'WebAssembly SIMD was requested (simd: true) but this host does not support it. ' +
        'Omit the simd option or pass simd: false to use the scalar build',
    );
  }
  const build: WasmBuild = (options.simd ?? simdSupported) ? 'simd' : 'scalar';

  if (options.threads !== undefined && options.threads !== 1) {
    // Returns undefined where SharedArrayBuffer or worker threads are unavailable.
    const threaded = await createThreadedWasmBackend(options, build);
    if (threaded !== undefined) {
      if (options.simd !== undefined && threaded.build !== build) {
        await threaded.dispose();
        throw new QnnError(`the WASM module is the ${threaded.build} build, but simd: ${options.simd} requests the ${build} build`);
      }
      return threaded;
    }
  }

  let bytes: BufferSource;
  let source: string;
  if (options.wasmBytes !== undefined) {
    bytes = options.wasmBytes;
    source = 'options.wasmBytes';
  } else {
    const url = options.wasmUrl === undefined ? defaultWasmUrl(build) : parseWasmUrl(options.wasmUrl);
    bytes = await readWasmBytes(url);
    source = url.href;
  }

  const backend = new WasmBackend(await instantiateWasm(bytes, source));
  if (options.simd !== undefined && backend.build !== build) {
    throw new QnnError(`the WASM module from ${source} is the ${backend.build} build, but simd: ${options.simd} requests the ${build} build`);
  }
  return backend;
}

import { QnnError } from '../errors.js';

/** Variant of the compiled module in dist/asm, with or without WebAssembly SIMD. */
export type WasmBuild = 'simd' | 'scalar';

/**
 * A hand-assembled module with one function that returns
 * i8x16.popcnt(i8x16.splat(0)). i8x16.popcnt came late in the SIMD proposal,
 * so a host that validates it supports every SIMD instruction the kernels use.
 */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic number, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x0a, 0x01, 0x08, 0x00, // code section: one body of 8 bytes, no locals
  0x41, 0x00, // i32.const 0
  0xfd, 0x0f, // i8x16.splat
  0xfd, 0x62, // i8x16.popcnt
  0x0b, // end
]);

/** Returns true when this host's WebAssembly engine accepts SIMD instructions. */
export function isWasmSimdSupported(): boolean {
  return WebAssembly.validate(SIMD_PROBE);
}

/**
 * Location of a bundled module. The compiled loader lives at
 * dist/sdk/backends/ and the modules at dist/asm/. `threads` picks the
 * build that imports a shared memory (qnn-simd-threads.wasm).
 */
export function defaultWasmUrl(build: WasmBuild, threads = false): URL {
  return new URL(`../../asm/qnn-${build}${threads ? '-threads' : ''}.wasm`, import.meta.url);
}

function isNode(): boolean {
  return typeof process !== 'undefined' && process.versions?.node !== undefined;
}

/**
 * Reads the bytes of a compiled module: with `fs` for file: URLs under Node,
 * with fetch everywhere else (browsers, Deno, http: URLs).
 */
export async function readWasmBytes(url: URL): Promise<BufferSource> {
  if (url.protocol === 'file:' && isNode()) {
    const { readFile } = await import('node:fs/promises');
    try {
      // Buffer is typed over ArrayBufferLike while BufferSource requires an ArrayBuffer, so copy into one.
      return new Uint8Array(await readFile(url));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new QnnError(`reading the WASM module ${url.href} failed (${reason}). Run \`npm run build:asm\` to build it`);
    }
  }

  const response = await fetch(url);
  if (!response.ok) {
    throw new QnnError(`fetching the WASM module ${url.href} failed with HTTP ${response.status} ${response.statusText}`);
  }
  return response.arrayBuffer();
}

/**
 * Compiles a module. `source` names the bytes in errors.
 * A SIMD build fails to compile on a host without SIMD.
 */
export async function compileWasm(bytes: BufferSource, source: string): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new QnnError(`compiling the WASM module from ${source} failed (${reason})`);
  }
}

/**
 * Compiles (unless given a compiled module) and instantiates a module.
 * `source` names the bytes in errors. `memory` is passed as 'env.memory',
 * which the threads builds import.
 */
export async function instantiateWasm(
  bytes: BufferSource | WebAssembly.Module,
  source: string,
  memory?: WebAssembly.Memory,
): Promise<WebAssembly.Instance> {
  const module = bytes instanceof WebAssembly.Module ? bytes : await compileWasm(bytes, source);

  // Release builds (--noAssert) never call abort. The import serves debug builds, which may.
  const imports = {
    env: {
      abort(_message: number, _file: number, line: number, column: number): never {
        throw new QnnError(`the WASM module from ${source} aborted at line ${line}, column ${column}`);
      },
      ...(memory === undefined ? {} : { memory }),
    },
  };
  return WebAssembly.instantiate(module, imports);
}

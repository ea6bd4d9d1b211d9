// Compiles asm/index.ts four times with the AssemblyScript compiler: a SIMD build
// and a scalar build for hosts without WebAssembly SIMD, and a shared-memory
// variant of each for multi-threaded kernels. Usage: npm run build:asm
import { mkdir, readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = 'dist/asm';

// Release flags shared by all builds. --runtime stub because the kernels allocate
// nothing: the host places operands and grows the exported memory itself.
const releaseFlags = ['--optimizeLevel', '3', '--shrinkLevel', '0', '--noAssert', '--runtime', 'stub'];

// The threaded builds import one shared memory ('env.memory') that the host
// creates and hands to the instance in every worker. Every instantiation
// writes the module's active data segments into memory and runs its start
// function, so with several instances these would race with kernels already
// running. With asc 0.28, --runtime stub and the current sources the output
// has neither, and no globals either (wasm-dis dist/asm/qnn-simd-threads.wasm):
// __heap_base is folded into heapBase() as a constant. checkNoInstanceState
// below fails the build if a later change adds a data segment or a start
// function (for example a lookup table in memory.data), because such a module
// needs passive segments initialized once by the first instance.
// The maximum must equal the one the host passes to new WebAssembly.Memory
// (sdk/backends/wasm-threads.ts): 65536 pages, the 4 GiB a 32-bit memory addresses.
const SHARED_MEMORY_PAGES = '65536';
const threadFlags = [
  '--enable', 'threads',
  '--importMemory',
  '--sharedMemory',
  '--initialMemory', '1',
  '--maximumMemory', SHARED_MEMORY_PAGES,
];

const builds = [
  { file: 'qnn-simd.wasm', flags: ['--enable', 'simd'] },
  { file: 'qnn-scalar.wasm', flags: [] },
  { file: 'qnn-simd-threads.wasm', flags: ['--enable', 'simd', ...threadFlags], shared: true },
  { file: 'qnn-scalar-threads.wasm', flags: threadFlags, shared: true },
];

const START_SECTION = 8;
const DATA_SECTION = 11;

/** Reads an unsigned LEB128 number at `offset` and returns it with the offset past it. */
function readUleb(bytes, offset) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = bytes[offset++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return { value, offset };
}

/** Throws unless the module in `bytes` has no start function and no non-empty data section. */
function checkNoInstanceState(bytes, file) {
  let offset = 8; // past the magic number and version
  while (offset < bytes.length) {
    const id = bytes[offset];
    const size = readUleb(bytes, offset + 1);
    const bodyStart = size.offset;
    if (id === START_SECTION) {
      throw new Error(`${file} has a start function, which every worker's instance would run on the shared memory`);
    }
    if (id === DATA_SECTION && readUleb(bytes, bodyStart).value > 0) {
      throw new Error(
        `${file} has data segments, which every worker's instance would rewrite in the shared memory. ` +
          'Keep static data out of asm/ or initialize passive segments once',
      );
    }
    offset = bodyStart + size.value;
  }
}

await mkdir(new URL(`../${outDir}/`, import.meta.url), { recursive: true });

for (const build of builds) {
  const outFile = `${outDir}/${build.file}`;
  const argv = ['asm/index.ts', '--outFile', outFile, '--baseDir', root, ...releaseFlags, ...build.flags];
  const { error, stderr } = await asc.main(argv);
  // stderr contains the compiler's diagnostics: warnings on success, errors on failure.
  const diagnostics = stderr.toString();
  if (diagnostics.trim() !== '') console.error(diagnostics);
  if (error) {
    console.error(`build:asm: compiling ${outFile} failed: ${error.message}`);
    process.exit(1);
  }

  if (build.shared) {
    try {
      checkNoInstanceState(await readFile(new URL(`../${outFile}`, import.meta.url)), outFile);
    } catch (checkError) {
      console.error(`build:asm: ${checkError.message}`);
      process.exit(1);
    }
  }

  const { size } = await stat(new URL(`../${outFile}`, import.meta.url));
  console.log(`${outFile}  ${size} bytes`);
}

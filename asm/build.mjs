// Compiles asm/index.ts twice with the AssemblyScript compiler: a SIMD build
// and a scalar build for hosts without WebAssembly SIMD. Usage: npm run build:asm
import { mkdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = 'dist/asm';

// Release flags shared by both builds. --runtime stub because the kernels allocate
// nothing: the host places operands and grows the exported memory itself.
const releaseFlags = ['--optimizeLevel', '3', '--shrinkLevel', '0', '--noAssert', '--runtime', 'stub'];

const builds = [
  { file: 'qnn-simd.wasm', flags: ['--enable', 'simd'] },
  { file: 'qnn-scalar.wasm', flags: [] },
];

await mkdir(new URL(`../${outDir}/`, import.meta.url), { recursive: true });

for (const build of builds) {
  const outFile = `${outDir}/${build.file}`;
  const argv = ['asm/index.ts', '--outFile', outFile, '--baseDir', root, ...releaseFlags, ...build.flags];
  const { error, stderr } = await asc.main(argv);
  // stderr holds the compiler's diagnostics: warnings on success, errors on failure.
  const diagnostics = stderr.toString();
  if (diagnostics.trim() !== '') console.error(diagnostics);
  if (error) {
    console.error(`build:asm: compiling ${outFile} failed: ${error.message}`);
    process.exit(1);
  }

  const { size } = await stat(new URL(`../${outFile}`, import.meta.url));
  console.log(`${outFile}  ${size} bytes`);
}

// Bundles the compiled library (dist/sdk, built by tsc) into one ES module per runtime:
//   dist/bundles/node/qnn-sdk.mjs     Node; finds dist/asm/ through `../../asm/`, like dist/sdk/backends/ does.
//   dist/bundles/deno/qnn-sdk.js      Deno; same layout, node: modules left to Deno's Node compatibility.
//   dist/bundles/browser/qnn-sdk.js   browsers; the .wasm files are copied beside it and found there.
//   dist/bundles/{browser,deno}/qnn-worker.js  the training worker (sdk/worker/qnn-worker.ts), a module worker.
//   dist/bundles/browser/qnn-wasm-thread-worker.js  a thread of the threaded WASM backend, a module worker.
// Each bundle gets a qnn-sdk.d.ts beside it that re-exports the declarations tsc wrote to dist/sdk/.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const ASM_DIR = `${ROOT}dist/asm/`;
const ERRORS_MODULE = `${ROOT}dist/sdk/errors.js`;

/** The loader's default module location, relative to dist/sdk/backends/. */
const LOADER_ASM_PATH = '../../asm/qnn-';

/**
 * Compiled modules that import node: builtins at the top level because they read or write files (data
 * set loaders, saveQnn/loadQnn, the CLI). In the browser bundles their node: imports become stubs that
 * throw when called; a top-level node: import anywhere else fails the browser build.
 */
const NODE_ONLY_MODULES = [/\/dist\/sdk\/data\//, /\/dist\/sdk\/cli\//, /\/dist\/sdk\/format\/qnn-file\.js$/];

const isNodeBuiltin = (id) => id.startsWith('node:');

/** An import that rollup cannot resolve fails the build: the bundle would not load where it is meant to run. */
function failOnUnresolved(bundle) {
  return (warning, warn) => {
    if (warning.code === 'UNRESOLVED_IMPORT') throw new Error(`${bundle}: ${warning.message}`);
    warn(warning);
  };
}

/** Copies dist/asm/*.wasm beside the bundle and points the WASM loader's default URL there. */
function wasmBesideBundle() {
  return {
    name: 'qnn-wasm-beside-bundle',
    transform(code, id) {
      if (!id.endsWith('/dist/sdk/backends/wasm-loader.js')) return null;
      if (!code.includes(LOADER_ASM_PATH)) {
        this.error(`wasm-loader.js no longer builds its URL from '${LOADER_ASM_PATH}'; update wasmBesideBundle in rollup.config.mjs`);
      }
      return { code: code.replaceAll(LOADER_ASM_PATH, './qnn-'), map: null };
    },
    generateBundle() {
      for (const file of readdirSync(ASM_DIR).filter((name) => name.endsWith('.wasm'))) {
        this.emitFile({ type: 'asset', fileName: file, source: readFileSync(ASM_DIR + file) });
      }
    },
  };
}

/** The threaded WASM backend's worker URL in the sources, relative to dist/sdk/backends/ and to the bundles alike. */
const THREAD_WORKER_PATH = '../../sdk/backends/wasm-thread-worker.js';

/** Points the threaded WASM backend at the worker bundle beside the browser bundles, so a site needs no dist/sdk/. */
function threadWorkerBesideBundle() {
  return {
    name: 'qnn-thread-worker-beside-bundle',
    transform(code, id) {
      if (!id.endsWith('/dist/sdk/backends/wasm-threads.js')) return null;
      if (!code.includes(THREAD_WORKER_PATH)) {
        this.error(`wasm-threads.js no longer builds its worker URL from '${THREAD_WORKER_PATH}'; update threadWorkerBesideBundle in rollup.config.mjs`);
      }
      return { code: code.replaceAll(THREAD_WORKER_PATH, './qnn-wasm-thread-worker.js'), map: null };
    },
  };
}

/**
 * Browser resolution of node: builtins. Dynamic imports (the WASM loader's node:fs under Node, the
 * worker_threads spawner, Dawn's 'webgpu' package) run only after a runtime check, so they stay as
 * they are. A static node: import from a Node-only module resolves to a stub whose functions throw a
 * QnnError that names the function; from any other module it is a build error.
 */
function browserNodeBuiltins() {
  const STUB = '\0qnn-node-only:';
  return {
    name: 'qnn-browser-node-builtins',
    resolveDynamicImport(specifier) {
      if (typeof specifier === 'string' && (isNodeBuiltin(specifier) || specifier === 'webgpu')) return false;
      return null;
    },
    resolveId(source, importer) {
      if (!isNodeBuiltin(source)) return null;
      if (importer !== undefined && NODE_ONLY_MODULES.some((pattern) => pattern.test(importer))) {
        return { id: STUB + source, syntheticNamedExports: true };
      }
      this.error(`${importer ?? 'the entry'} imports '${source}' at the top level, which a browser cannot load; import it dynamically behind a runtime check, or list the module in NODE_ONLY_MODULES if all of it is Node-only`);
    },
    load(id) {
      if (!id.startsWith(STUB)) return null;
      const builtin = id.slice(STUB.length);
      return [
        `import { QnnError } from ${JSON.stringify(ERRORS_MODULE)};`,
        'const unavailable = (name) => () => {',
        `  throw new QnnError(\`\${name} from '${builtin}' does not exist in a browser: this SDK function reads or writes files and runs under Node or Deno only\`);`,
        '};',
        'export default new Proxy({}, { get: (_target, name) => unavailable(String(name)) });',
      ].join('\n');
    },
  };
}

/**
 * protobufjs (ONNX import and export) ships CommonJS sources plus a self-contained browser build.
 * Without a CommonJS plugin, the browser and Deno bundles take the browser build, wrapped as an ES module.
 */
function protobufBrowserBuild() {
  const ID = '\0qnn-protobufjs';
  return {
    name: 'qnn-protobufjs',
    resolveId: (source) => (source === 'protobufjs' ? ID : null),
    load(id) {
      if (id !== ID) return null;
      const source = readFileSync(`${ROOT}node_modules/protobufjs/dist/protobuf.min.js`, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '');
      return `const module = { exports: {} };\n${source}\nexport default module.exports;\n`;
    },
  };
}

/** Writes qnn-sdk.d.ts beside the bundle: the entry's declarations, which tsc wrote to dist/sdk/index.d.ts. */
function declarationsBeside(fileName) {
  return {
    name: 'qnn-declarations-beside',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName, source: "export * from '../../sdk/index.js';\n" });
    },
  };
}

const nodeBundle = {
  input: 'dist/sdk/index.js',
  output: {
    file: 'dist/bundles/node/qnn-sdk.mjs',
    format: 'es',
    sourcemap: true,
    // One file: the Node-only device module, loaded on demand in the sources, is inlined here.
    inlineDynamicImports: true,
  },
  // 'webgpu' (Dawn for Node) is an optional dependency, imported only when a Node process requests WebGPU.
  // protobufjs is a dependency of the package, so Node resolves it from node_modules.
  external: (id) => isNodeBuiltin(id) || id === 'webgpu' || id === 'protobufjs',
  plugins: [declarationsBeside('qnn-sdk.d.mts')],
  onwarn: failOnUnresolved('dist/bundles/node/qnn-sdk.mjs'),
};

const denoBundle = {
  input: 'dist/sdk/index.js',
  output: {
    file: 'dist/bundles/deno/qnn-sdk.js',
    format: 'es',
    sourcemap: true,
    inlineDynamicImports: true,
    // Deno reads this directive to find the declarations of a JavaScript module.
    banner: '/* @ts-self-types="./qnn-sdk.d.ts" */',
  },
  // Deno brings node: builtins and its own navigator.gpu, so Dawn's 'webgpu' package is never loaded there.
  external: (id) => isNodeBuiltin(id) || id === 'webgpu',
  plugins: [protobufBrowserBuild(), declarationsBeside('qnn-sdk.d.ts')],
  onwarn: failOnUnresolved('dist/bundles/deno/qnn-sdk.js'),
};

const denoWorkerBundle = {
  input: 'dist/sdk/worker/qnn-worker.js',
  output: { file: 'dist/bundles/deno/qnn-worker.js', format: 'es', sourcemap: true, inlineDynamicImports: true },
  external: denoBundle.external,
  plugins: [protobufBrowserBuild()],
  onwarn: failOnUnresolved('dist/bundles/deno/qnn-worker.js'),
};

const browserPlugins = () => [browserNodeBuiltins(), protobufBrowserBuild(), wasmBesideBundle(), threadWorkerBesideBundle()];

const browserBundle = {
  input: 'dist/sdk/index.js',
  output: { file: 'dist/bundles/browser/qnn-sdk.js', format: 'es', sourcemap: true, inlineDynamicImports: true },
  plugins: [...browserPlugins(), declarationsBeside('qnn-sdk.d.ts')],
  onwarn: failOnUnresolved('dist/bundles/browser/qnn-sdk.js'),
};

const browserWorkerBundle = {
  input: 'dist/sdk/worker/qnn-worker.js',
  output: { file: 'dist/bundles/browser/qnn-worker.js', format: 'es', sourcemap: true, inlineDynamicImports: true },
  plugins: browserPlugins(),
  onwarn: failOnUnresolved('dist/bundles/browser/qnn-worker.js'),
};

const browserThreadWorkerBundle = {
  input: 'dist/sdk/backends/wasm-thread-worker.js',
  output: { file: 'dist/bundles/browser/qnn-wasm-thread-worker.js', format: 'es', sourcemap: true, inlineDynamicImports: true },
  plugins: browserPlugins(),
  onwarn: failOnUnresolved('dist/bundles/browser/qnn-wasm-thread-worker.js'),
};

// The WebGPU conformance cases for a browser page, loaded by test/webgpu/chromium-runtime.test.ts.
// An import that does not resolve (a `node:` module, say) fails the build, since the page could not load it.
const webGpuConformanceBundle = {
  input: 'dist/test/webgpu/conformance/browser-entry.js',
  output: {
    file: 'dist/bundles/test/webgpu-conformance.js',
    format: 'es',
    sourcemap: true,
  },
  onwarn: failOnUnresolved('dist/bundles/test/webgpu-conformance.js'),
};

export default [nodeBundle, denoBundle, denoWorkerBundle, browserBundle, browserWorkerBundle, browserThreadWorkerBundle, webGpuConformanceBundle];

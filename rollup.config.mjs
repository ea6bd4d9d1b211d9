// Bundles the compiled library (dist/sdk) into one ES module for Node.
// The bundle sits two folders below dist/, like dist/sdk/backends/, so the
// WASM loader's `new URL('../../asm/…', import.meta.url)` still finds dist/asm/.
// Browser and Deno bundles come with the web packaging work.
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
  external: (id) => id.startsWith('node:') || id === 'webgpu',
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
  onwarn(warning, warn) {
    if (warning.code === 'UNRESOLVED_IMPORT') {
      throw new Error(`dist/bundles/test/webgpu-conformance.js: ${warning.message}`);
    }
    warn(warning);
  },
};

export default [nodeBundle, webGpuConformanceBundle];

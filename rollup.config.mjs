// Bundles the compiled library (dist/sdk) into one ES module for Node.
// The bundle sits two folders below dist/, like dist/sdk/backends/, so the
// WASM loader's `new URL('../../asm/…', import.meta.url)` still finds dist/asm/.
// Browser and Deno bundles come with the web packaging work.
export default {
  input: 'dist/sdk/index.js',
  output: {
    file: 'dist/bundles/node/qnn-sdk.mjs',
    format: 'es',
    sourcemap: true,
  },
  external: (id) => id.startsWith('node:'),
};

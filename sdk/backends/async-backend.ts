import type { Backend, TrainingKernel } from './backend.js';

// The training graph's float kernels stay synchronous-only; see TrainingKernel.
type Kernel = Exclude<keyof Backend, 'name' | TrainingKernel>;

/**
 * The Backend kernel set with every result behind a promise, for devices that
 * can only hand results back asynchronously (WebGPU maps buffers with
 * mapAsync). Same arguments, layouts and results as Backend; a synchronous
 * Backend satisfies it too once its results are awaited.
 */
export type AsyncBackend = { readonly name: string } & {
  [K in Kernel]: (...args: Parameters<Backend[K]>) => Promise<ReturnType<Backend[K]>>;
};

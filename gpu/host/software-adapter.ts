/**
 * True when the adapter is a software rasterizer (SwiftShader, Mesa's
 * llvmpipe/lavapipe, WARP): real WebGPU, good for proving kernels correct, but
 * slower than the WASM kernels on the same CPU, so `backend: 'auto'` passes it by.
 */
export function isSoftwareAdapter(info: GPUAdapterInfo | undefined): boolean {
  if (info === undefined) return false;
  if ((info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true) return true;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  return /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i.test(text);
}

/** Returns a short description of the adapter for logs and JSON summaries, e.g. "SwiftShader driver 5.0.0 (software)". */
export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (info === undefined) return 'unknown adapter';
  const name = info.description || [info.vendor, info.architecture, info.device].filter((part) => part).join(' ') || 'unnamed adapter';
  return isSoftwareAdapter(info) ? `${name} (software)` : name;
}

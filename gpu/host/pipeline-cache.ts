/**
 * Compute pipelines keyed by name, compiled once per device. A compilation
 * error rejects the request with the key and the compiler's message.
 */
export class PipelineCache {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(private readonly device: GPUDevice) {}

  /** Returns the pipeline for `key`, compiling `wgsl` with entry point `main` on first use. */
  get(key: string, wgsl: string): Promise<GPUComputePipeline> {
    let pipeline = this.pipelines.get(key);
    if (pipeline === undefined) {
      pipeline = this.compile(key, wgsl);
      this.pipelines.set(key, pipeline);
      // A failed compilation is not cached, so a later call reports the error again.
      pipeline.catch(() => this.pipelines.delete(key));
    }
    return pipeline;
  }

  private async compile(key: string, wgsl: string): Promise<GPUComputePipeline> {
    // The error scope catches WGSL errors from createShaderModule, which would
    // otherwise only reach the device's uncapturederror event.
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label: key, code: wgsl });
    const moduleError = await this.device.popErrorScope();
    if (moduleError !== null) throw new Error(`WGSL compilation of pipeline '${key}' failed: ${moduleError.message}`);

    return this.device.createComputePipelineAsync({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } });
  }
}

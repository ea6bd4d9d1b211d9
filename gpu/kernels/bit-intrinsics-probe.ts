import { GpuContext } from '../host/gpu-context.js';
import { BIT_INTRINSICS_PROBE_INPUTS, BIT_INTRINSICS_PROBE_WGSL } from '../shaders/bit-intrinsics-probe-wgsl.js';

/**
 * Runs the bit-intrinsics probe and returns six u32 values, expected
 * [32, 1, 0x80000000] twice: countOneBits(-1i), countOneBits(0x80000000u) and
 * reverseBits(1u), first on values read at run time, then on literals.
 */
export async function probeBitIntrinsics(gpu: GpuContext): Promise<Uint32Array> {
  const input = gpu.upload(BIT_INTRINSICS_PROBE_INPUTS);
  const output = gpu.storage(6 * 4);
  await gpu.dispatch({ kernel: 'bit-intrinsics-probe', wgsl: BIT_INTRINSICS_PROBE_WGSL, bindings: [input, output], workgroups: [1] });
  const values = new Uint32Array(await gpu.read(output, 6 * 4, 'probeBitIntrinsics'));
  gpu.release(input, output);
  return values;
}

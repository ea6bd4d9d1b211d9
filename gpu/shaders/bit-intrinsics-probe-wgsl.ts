/**
 * WGSL probe of the bit intrinsics the packed kernels rely on. Expected:
 *   countOneBits(-1i) = 32, countOneBits(0x80000000u) = 1, reverseBits(1u) = 0x80000000.
 * Outputs 0..2 apply the intrinsics to values read from a storage buffer, so
 * the device computes them. Outputs 3..5 use literals, which the WGSL
 * compiler may fold at shader creation. All six are stored as u32 bit patterns.
 */
export const BIT_INTRINSICS_PROBE_INPUTS = Uint32Array.from([0xffffffff, 0x80000000, 1]);

export const BIT_INTRINSICS_PROBE_WGSL = /* wgsl */ `
// inputs = [0xffffffff, 0x80000000, 1]; results = [popcount(i32), popcount(u32), reverseBits(u32)] twice.
@group(0) @binding(0) var<storage, read> inputs: array<u32, 3>;
@group(0) @binding(1) var<storage, read_write> results: array<u32, 6>;

@compute @workgroup_size(1)
fn main() {
  results[0] = u32(countOneBits(bitcast<i32>(inputs[0])));
  results[1] = countOneBits(inputs[1]);
  results[2] = reverseBits(inputs[2]);

  results[3] = u32(countOneBits(-1i));
  results[4] = countOneBits(0x80000000u);
  results[5] = reverseBits(1u);
}
`;

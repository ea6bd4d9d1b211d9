/**
 * Entry of the qnn WASM module. Every kernel takes byte addresses into the
 * exported memory and element counts. The host copies the operands in, calls
 * the kernel and copies the result out. No kernel allocates, because the host
 * places operands and scratch from heapBase() upwards and grows the memory
 * itself. The module is built with --runtime stub and uses no managed objects.
 */
export { binaryConv2d, binaryConv2dScratchBytes } from './binary-conv2d';
export { binaryGemm } from './binary-gemm';
export { binaryGemmThresholdPack } from './binary-gemm-threshold';
export { binaryMaxPool2d } from './binary-max-pool2d';
export { batchNormBackward, batchNormForward } from './batch-norm';
export { bitplaneGemm, bitplaneGemmScratchBytes } from './bitplane-gemm';
export { bitplaneGemmBits } from './bitplane-gemm-bits';
export { floatGemm, floatGemmScratchBytes } from './float-gemm';
export { floatGemmAtB, floatGemmAtBScratchBytes } from './float-gemm-at-b';
export { col2im, im2col } from './im2col';
export { maxPool2dBackward, maxPool2dForward } from './max-pool2d';
export { packSigns } from './pack-signs';
export { popcountBytes16 } from './popcount-probe';
export { popcountRoofline } from './popcount-roofline';
export { thresholdPack } from './threshold-pack';

/** Returns the first byte address past the module's static data; the host owns everything from here on. */
export function heapBase(): usize {
  return __heap_base;
}

/** Returns true in the SIMD build and false in the scalar build. */
export function isSimdBuild(): bool {
  return ASC_FEATURE_SIMD;
}

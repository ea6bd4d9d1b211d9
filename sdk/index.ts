export type { Backend } from './backends/backend.js';
export { ReferenceBackend } from './backends/reference-backend.js';
export { getBackend, setBackend } from './backends/active-backend.js';
export { QnnError, ShapeError, FileFormatError } from './errors.js';
export { Tensor } from './tensor/tensor.js';
export { PackedTensor } from './tensor/packed-tensor.js';
export { add, sub, mul, div, neg, exp, log, relu, square, sqrt, scale } from './ops/elementwise.js';
export { matmul } from './ops/matmul.js';
export { sum, mean } from './ops/reduce.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { steSign } from './quantizers/ste-sign.js';
export { stochasticBinarize } from './quantizers/stochastic-binarize.js';
export { clipWeights } from './quantizers/weight-clip.js';
export { roundHalfToEven } from './quantizers/rounding.js';
export { ternarize } from './quantizers/ternary.js';
export { linearQuant, linearQuantRange } from './quantizers/linear-quant.js';
export { logQuant, logQuantExponentRange } from './quantizers/log-quant.js';
export { dorefaActivations, dorefaWeights, quantizeK } from './quantizers/dorefa.js';
export {
  type QuantizerSpec,
  type QuantizerRole,
  checkQuantizer,
  isBinaryQuantizer,
  quantizerStorageBits,
} from './quantizers/quantizer-spec.js';
export {
  quantizeGradient,
  dequantizeGradient,
  checkGradientBits,
  type QuantizedGradient,
  type TrainingContext,
} from './training/gradient-quantization.js';
export { bitwiseWeightGradient } from './training/bitwise-weight-gradient.js';
export { matmulQuantizedGradient } from './training/quantized-gradient-matmul.js';
export { Dense, QuantDense, type DenseOptions, type Quantizer } from './layers/dense.js';
export { BatchNorm } from './layers/batch-norm.js';
export { Dropout } from './layers/dropout.js';
export { QuantConv2D, type QuantConv2DOptions } from './layers/quant-conv2d.js';
export { MaxPool2D, type MaxPool2DOptions } from './layers/max-pool2d.js';
export { Flatten } from './layers/flatten.js';
export { GlobalAveragePooling2D } from './layers/global-average-pooling2d.js';
export { binaryConvNet, fastMnistConvNet, type BinaryConvNetOptions, type ConvBlockSpec } from './models/binary-convnet.js';
export { Sequential } from './layers/sequential.js';
export { squaredHinge, softmaxCrossEntropy } from './losses/index.js';
export { Adam, exponentialDecay } from './optimizers/adam.js';
export type { Optimizer } from './optimizers/optimizer.js';
export { ShiftAdaMax, type ShiftAdaMaxOptions } from './optimizers/shift-adamax.js';
export { Bop, type BopOptions } from './optimizers/bop.js';
export { ShiftBatchNorm } from './layers/shift-batch-norm.js';
export { ap2 } from './quantizers/ap2.js';
export { fit, type FitOptions, type EpochReport, type BatchReport } from './training/fit.js';
export { argmax, classificationError } from './training/metrics.js';
export { Random } from './random.js';
export { compileModel, compileNetwork } from './compile/compile-model.js';
export { runPacked, runPackedAsync } from './compile/run-packed.js';
export { createWasmBackend } from './backends/create-wasm-backend.js';
export type { WasmBackend, WasmBackendOptions } from './backends/wasm-backend.js';
export { selectBackend } from './backends/select-backend.js';
export { selectBackends, BACKEND_CHOICES, type BackendSelection, type SelectBackendsOptions } from './backends/select-backends.js';
export type { AsyncBackend } from './backends/async-backend.js';
export { WebGpuBackend } from '../gpu/webgpu-backend.js';
export { GpuContext, WebGpuDeviceLostError, type GpuContextOptions } from '../gpu/host/gpu-context.js';
export { DeviceLimitError } from '../gpu/host/device-limits.js';
export { acquireDevice } from '../gpu/host/acquire-device.js';
export { WebGpuUnavailableError } from '../gpu/host/with-timeout.js';
export { fitWebGpu } from '../gpu/training/fit-webgpu.js';
export { loadMnist } from './data/mnist.js';
export { loadCifar10 } from './data/cifar10.js';
export { loadSvhn } from './data/svhn.js';
export { parseMatV5, type MatArray } from './data/mat-v5.js';
export { parseIdx, readIdxFile } from './data/idx.js';
export { encodeQnn, decodeQnn, decodeQnnNetwork, saveQnn, loadQnn, loadQnnNetwork } from './format/qnn-file.js';
export type {
  PackedModel,
  PackedNetwork,
  PackedLayer,
  PackedDenseLayer,
  PackedConv2dLayer,
  PackedMaxPool2dLayer,
  PackedFlattenLayer,
  PackedDenseKbitLayer,
  PackedKbitInputKind,
  CodeOutput,
  PoolWindow,
} from './compile/graph.js';
export { isPackedModel } from './compile/graph.js';

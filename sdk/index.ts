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
export { languageModel, LanguageModel, type LanguageModelOptions, type LanguageModelOutput, type RecurrentCellKind } from './models/language-model.js';
export { Embedding } from './layers/embedding.js';
export { LSTM, QuantLSTM } from './layers/lstm.js';
export { GRU, QuantGRU } from './layers/gru.js';
export { RecurrentLayer, type RecurrentOptions, type RecurrentState, type RecurrentResult, type StepTrace } from './layers/recurrent-layer.js';
export { timeDistributedDense, unfoldTime } from './layers/time-distributed.js';
export { bpttLayout, bpttWindows, type BpttLayout, type BpttWindow } from './training/bptt-batches.js';
export { clipGradientsByGlobalNorm, globalGradientNorm } from './training/clip-gradients.js';
export { compileLanguageModel, compileRecurrentCell, type PackedLanguageModel, type PackedRecurrentCell, type PackedGateKernel } from './compile/compile-recurrent.js';
export { runPackedLanguageModel, packedInitialState, type PackedRecurrentState, type PackedLanguageModelOutput } from './compile/run-recurrent.js';
export {
  fitLanguageModel,
  evaluatePerplexity,
  type FitLanguageModelOptions,
  type LanguageModelBatchReport,
  type LanguageModelEpochReport,
  type PerplexityOptions,
  type PerplexityResult,
} from './training/fit-language-model.js';
export { Vocabulary, buildVocabulary, checkTokenIds, EOS_TOKEN, UNK_TOKEN, type VocabularyOptions } from './data/text/vocabulary.js';
export { buildCorpus, encodeLines, lineTokens, type TextCorpus, type TextLevel, type TextLine, type UnknownTokenPolicy } from './data/text/text-corpus.js';
export { decodeUtf8Text } from './data/text/decode-text.js';
export { loadPtbCorpus, PTB_FILES, type LoadPtbOptions } from './data/text/ptb.js';
export { loadFortunesCorpus, fortuneSplitOf, listFortuneFiles, parseFortuneFile, FORTUNES_DIR, type LoadFortunesOptions } from './data/text/fortunes.js';
export { unpackNetwork, type UnpackOptions, type UnpackedNetwork } from './finetune/unpack-network.js';
export { FrozenBatchNorm } from './finetune/frozen-batch-norm.js';
export { fineTune, predictPacked, accuracyOf, type FineTuneOptions } from './finetune/fine-tune.js';
export { centerDigit, DIGIT_SIZE } from './finetune/center-digit.js';
export { createTrainingWorker, TrainingWorkerClient, type TrainingWorkerOptions, type TrainOptions, type Prediction, type WorkerLike } from './worker/client.js';
export { runTrainJob, type TrainJobHooks, type TrainJobResult } from './worker/train-job.js';
export type * from './worker/protocol.js';
export type { OptimizerState } from './optimizers/optimizer.js';
export type { CheckpointOptions } from './training/fit.js';
export { captureCheckpoint, restoreCheckpoint, encodeCheckpoint, decodeCheckpoint, type Checkpoint, type TrainingPosition, type LayerRecord } from './training/checkpoint.js';
export { saveModelFile, loadModelFile, deleteModelFile, saveQnnTo, loadQnnFrom } from './io/model-io.js';
export { writeFileAtomicSync } from './io/sync-file.js';
export { sequentialStats, summarizeSequential } from './inspect/summary.js';
export { packedStats } from './inspect/packed-stats.js';
export { formatStats } from './inspect/format-stats.js';
export type { LayerStats, ModelStats } from './inspect/layer-stats.js';
export { HOROWITZ_45NM_PICOJOULES, FLOAT32_MAC_PICOJOULES, BINARY_MAC_PICOJOULES } from './inspect/energy-45nm.js';
export { decodeCifar10Batch } from './data/cifar10.js';
export { decodeSvhnFile } from './data/svhn.js';
export type { ParseMatOptions } from './data/mat-v5.js';
export type { ReadIdxOptions } from './data/idx.js';
export { exportOnnx, QONNX_DOMAIN } from './onnx/export-onnx.js';
export type { ExportOnnxOptions, OnnxExportFormat } from './onnx/export-onnx.js';
export { importOnnx } from './onnx/import-onnx.js';
export type { ImportOnnxOptions } from './onnx/import-onnx.js';
export type { BatchNormBackwardResult, BatchNormForwardResult, TrainingKernel } from './backends/backend.js';
export { runPackedLanguageModelAsync } from './compile/run-recurrent.js';
export { encodeBinaryGemm } from '../gpu/kernels/binary-gemm.js';
export type { PackedConv2dKbitLayer, PackedGlobalAveragePool2dLayer, FloatOutput, GlobalPoolOutput } from './compile/graph.js';

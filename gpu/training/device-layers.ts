import { QnnError } from '../../sdk/errors.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense, QuantDense, type Quantizer } from '../../sdk/layers/dense.js';
import { Dropout } from '../../sdk/layers/dropout.js';
import type { Layer, Parameter } from '../../sdk/layers/layer.js';
import type { GpuContext } from '../host/gpu-context.js';
import { type BatchNormBuffers, encodeBatchNormBackward, encodeBatchNormForward, encodeBatchNormRunningUpdate } from '../kernels/float-batch-norm.js';
import { encodeAddBias, encodeMultiply, encodeSign, encodeStraightThroughGrad } from '../kernels/float-elementwise.js';
import { encodeFloatGemm } from '../kernels/float-gemm.js';
import { encodeColumnSums } from '../kernels/float-reduce.js';

/** A trainable tensor of the model with its latent weights, gradient and Adam moments on the device. */
export interface DeviceParameter {
  parameter: Parameter;
  weights: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
}

/**
 * One layer of the model on the device. Activation and gradient buffers are
 * sized for the largest batch; a smaller last batch uses their first rows.
 */
export interface DeviceLayer {
  readonly layer: Layer;
  readonly parameters: DeviceParameter[];
  /** Records the training forward pass of `batch` rows and returns the output buffer. */
  forward(input: GPUBuffer, batch: number): Promise<GPUBuffer>;
  /**
   * Records the backward pass: parameter gradients, and the gradient with respect to
   * the input unless `needsInputGrad` is false. Returns that input gradient, or null.
   */
  backward(gradOutput: GPUBuffer, batch: number, needsInputGrad: boolean): Promise<GPUBuffer | null>;
  /** Records the updates outside the optimizer (running statistics), skipped on the device after a non-finite step. */
  afterStep(status: GPUBuffer, batch: number): Promise<void>;
  /** Copies the device state back into the layer's tensors and arrays. */
  writeBack(): Promise<void>;
  /** Buffers owned by this layer, for release at the end of training. */
  readonly buffers: GPUBuffer[];
}

/**
 * Builds the device form of each layer, or throws a QnnError naming the first layer WebGPU
 * training cannot run. Every layer is checked before any buffer is allocated.
 */
export function createDeviceLayers(gpu: GpuContext, layers: Layer[], inputFeatures: number, maxBatch: number): DeviceLayer[] {
  const inputWidths = checkSupportedLayers(layers, inputFeatures);

  return layers.map((layer, index) => {
    if (layer instanceof Dense) return new DeviceDense(gpu, layer, maxBatch);
    if (layer instanceof BatchNorm) return new DeviceBatchNorm(gpu, layer, maxBatch);
    return new DeviceDropout(gpu, layer as Dropout, maxBatch, inputWidths[index]);
  });
}

/** Checks every layer and returns the width of each layer's input rows. */
function checkSupportedLayers(layers: Layer[], inputFeatures: number): number[] {
  const inputWidths: number[] = [];
  let features = inputFeatures;

  for (const layer of layers) {
    inputWidths.push(features);
    // Exact classes, because a subclass such as ShiftBatchNorm changes the math these kernels implement.
    if (layer.constructor === Dense || layer.constructor === QuantDense) {
      const dense = layer as Dense;
      checkWidth(layer, dense.inputs, features);
      checkQuantizer(dense, 'kernel', dense.kernelQuantizer);
      checkQuantizer(dense, 'input', dense.inputQuantizer);
      features = dense.units;
    } else if (layer.constructor === BatchNorm) {
      checkWidth(layer, (layer as BatchNorm).features, features);
    } else if (layer.constructor !== Dropout) {
      throw new QnnError(
        `fitWebGpu: layer '${layer.name}' (${layer.constructor.name}) is not supported on WebGPU; ` +
          'supported layers are Dense, QuantDense, BatchNorm and Dropout, so train this model with fit() instead',
      );
    }
  }
  return inputWidths;
}

/** Throws unless the layer takes flat rows of the width the layers before it produce. */
function checkWidth(layer: Layer, expected: number, features: number): void {
  if (expected === features) return;
  throw new QnnError(
    `fitWebGpu: layer '${layer.name}' takes ${expected} features per sample but receives rows of ${features}; ` +
      'WebGPU training runs only flat [batch, features] activations',
  );
}

function checkQuantizer(layer: Dense, role: 'kernel' | 'input', quantizer: Quantizer): void {
  if (quantizer === null || quantizer === 'ste_sign') return;
  throw new QnnError(
    `fitWebGpu: layer '${layer.name}' uses the ${typeof quantizer === 'string' ? `'${quantizer}'` : JSON.stringify(quantizer)} ${role} quantizer, which WebGPU training does not support; ` +
      "use 'ste_sign' or null, or train this model with fit() instead",
  );
}

function createDeviceParameter(gpu: GpuContext, parameter: Parameter): DeviceParameter {
  const data = parameter.value.data as Float32Array;
  return {
    parameter,
    weights: gpu.upload(data, parameter.name),
    grad: gpu.storage(data.byteLength, `${parameter.name}/grad`),
    m: gpu.zeros(data.byteLength, `${parameter.name}/m`),
    v: gpu.zeros(data.byteLength, `${parameter.name}/v`),
  };
}

async function readInto(gpu: GpuContext, buffer: GPUBuffer, target: Float32Array, label: string): Promise<void> {
  target.set(new Float32Array(await gpu.read(buffer, target.byteLength, label)));
}

/**
 * Dense or QuantDense: y = q_in(x) · q_k(W) + b, with the straight-through
 * gradient of sign for each binarized operand, as sdk/layers/dense.ts computes it.
 */
class DeviceDense implements DeviceLayer {
  readonly parameters: DeviceParameter[];
  readonly buffers: GPUBuffer[] = [];
  private readonly kernel: DeviceParameter;
  private readonly bias: DeviceParameter | null;
  private readonly inputs: number;
  private readonly units: number;
  /** sign(W) [inputs, units] when the kernel is binarized. */
  private readonly kernelSigns: GPUBuffer | null;
  /** sign(x) [batch, inputs] when the input is binarized. */
  private readonly inputSigns: GPUBuffer | null;
  /** The GEMM output before the bias, when there is a bias. */
  private readonly product: GPUBuffer | null;
  private readonly output: GPUBuffer;
  /** Gradient with respect to q_k(W), before the straight-through mask, when the kernel is binarized. */
  private readonly kernelSignGrad: GPUBuffer | null;
  /** Gradient with respect to q_in(x), before the straight-through mask, when the input is binarized. */
  private readonly inputSignGrad: GPUBuffer | null;
  private readonly gradInput: GPUBuffer;
  private input: GPUBuffer | null = null;

  constructor(
    private readonly gpu: GpuContext,
    readonly layer: Dense,
    maxBatch: number,
  ) {
    this.inputs = layer.inputs;
    this.units = layer.units;
    const [kernelParameter, biasParameter] = layer.parameters();
    this.kernel = createDeviceParameter(gpu, kernelParameter);
    this.bias = biasParameter === undefined ? null : createDeviceParameter(gpu, biasParameter);
    this.parameters = this.bias === null ? [this.kernel] : [this.kernel, this.bias];

    const kernelBytes = this.inputs * this.units * 4;
    const inputBytes = maxBatch * this.inputs * 4;
    const outputBytes = maxBatch * this.units * 4;
    const binaryKernel = layer.kernelQuantizer !== null;
    const binaryInput = layer.inputQuantizer !== null;
    this.kernelSigns = binaryKernel ? gpu.storage(kernelBytes, `${layer.name}/kernel signs`) : null;
    this.kernelSignGrad = binaryKernel ? gpu.storage(kernelBytes, `${layer.name}/kernel sign grad`) : null;
    this.inputSigns = binaryInput ? gpu.storage(inputBytes, `${layer.name}/input signs`) : null;
    this.inputSignGrad = binaryInput ? gpu.storage(inputBytes, `${layer.name}/input sign grad`) : null;
    this.product = this.bias === null ? null : gpu.storage(outputBytes, `${layer.name}/product`);
    this.output = gpu.storage(outputBytes, `${layer.name}/output`);
    this.gradInput = gpu.storage(inputBytes, `${layer.name}/input grad`);

    for (const p of this.parameters) this.buffers.push(p.weights, p.grad, p.m, p.v);
    for (const buffer of [this.kernelSigns, this.kernelSignGrad, this.inputSigns, this.inputSignGrad, this.product]) {
      if (buffer !== null) this.buffers.push(buffer);
    }
    this.buffers.push(this.output, this.gradInput);
  }

  async forward(input: GPUBuffer, batch: number): Promise<GPUBuffer> {
    this.input = input;
    const quantizedInput = this.inputSigns ?? input;
    const quantizedKernel = this.kernelSigns ?? this.kernel.weights;
    if (this.inputSigns !== null) await encodeSign(this.gpu, input, this.inputSigns, batch * this.inputs);
    if (this.kernelSigns !== null) await encodeSign(this.gpu, this.kernel.weights, this.kernelSigns, this.inputs * this.units);

    const shape = { m: batch, k: this.inputs, n: this.units, transposeA: false, transposeB: false };
    await encodeFloatGemm(this.gpu, quantizedInput, quantizedKernel, this.product ?? this.output, shape);
    if (this.bias !== null) await encodeAddBias(this.gpu, this.product!, this.bias.weights, this.output, batch, this.units);
    return this.output;
  }

  async backward(gradOutput: GPUBuffer, batch: number, needsInputGrad: boolean): Promise<GPUBuffer | null> {
    const input = this.input;
    if (input === null) throw new QnnError(`fitWebGpu: backward pass of '${this.layer.name}' recorded before its forward pass`);
    const quantizedInput = this.inputSigns ?? input;
    const quantizedKernel = this.kernelSigns ?? this.kernel.weights;
    const kernelCount = this.inputs * this.units;

    // dW [inputs, units] = q_in(x)^T [inputs, batch] · dy [batch, units], then the straight-through mask of the latent kernel.
    const kernelGradShape = { m: this.inputs, k: batch, n: this.units, transposeA: true, transposeB: false };
    await encodeFloatGemm(this.gpu, quantizedInput, gradOutput, this.kernelSignGrad ?? this.kernel.grad, kernelGradShape);
    if (this.kernelSignGrad !== null) await encodeStraightThroughGrad(this.gpu, this.kernel.weights, this.kernelSignGrad, this.kernel.grad, kernelCount);
    if (this.bias !== null) await encodeColumnSums(this.gpu, gradOutput, this.bias.grad, batch, this.units);
    if (!needsInputGrad) return null;

    // dx [batch, inputs] = dy [batch, units] · q_k(W)^T, then the straight-through mask of the layer input.
    const inputGradShape = { m: batch, k: this.units, n: this.inputs, transposeA: false, transposeB: true };
    await encodeFloatGemm(this.gpu, gradOutput, quantizedKernel, this.inputSignGrad ?? this.gradInput, inputGradShape);
    if (this.inputSignGrad !== null) await encodeStraightThroughGrad(this.gpu, input, this.inputSignGrad, this.gradInput, batch * this.inputs);
    return this.gradInput;
  }

  async afterStep(): Promise<void> {}

  async writeBack(): Promise<void> {
    for (const p of this.parameters) await readInto(this.gpu, p.weights, p.parameter.value.data as Float32Array, `fitWebGpu: read ${p.parameter.name}`);
  }
}

/** Batch norm in training mode, with batch statistics and the running-statistics update of sdk/layers/batch-norm.ts. */
class DeviceBatchNorm implements DeviceLayer {
  readonly parameters: DeviceParameter[];
  readonly buffers: GPUBuffer[] = [];
  private readonly state: BatchNormBuffers;
  private readonly runningMean: GPUBuffer;
  private readonly runningVariance: GPUBuffer;
  private readonly output: GPUBuffer;
  private readonly gradInput: GPUBuffer;

  constructor(
    private readonly gpu: GpuContext,
    readonly layer: BatchNorm,
    maxBatch: number,
  ) {
    const [gammaParameter, betaParameter] = layer.parameters();
    const gamma = createDeviceParameter(gpu, gammaParameter);
    const beta = createDeviceParameter(gpu, betaParameter);
    this.parameters = [gamma, beta];

    const activationBytes = maxBatch * layer.features * 4;
    this.state = {
      gamma: gamma.weights,
      beta: beta.weights,
      normalized: gpu.storage(activationBytes, `${layer.name}/normalized`),
      stats: gpu.storage(3 * layer.features * 4, `${layer.name}/batch statistics`),
    };
    this.runningMean = gpu.upload(layer.runningMean, `${layer.name}/running mean`);
    this.runningVariance = gpu.upload(layer.runningVariance, `${layer.name}/running variance`);
    this.output = gpu.storage(activationBytes, `${layer.name}/output`);
    this.gradInput = gpu.storage(activationBytes, `${layer.name}/input grad`);

    for (const p of this.parameters) this.buffers.push(p.weights, p.grad, p.m, p.v);
    this.buffers.push(this.state.normalized, this.state.stats, this.runningMean, this.runningVariance, this.output, this.gradInput);
  }

  async forward(input: GPUBuffer, batch: number): Promise<GPUBuffer> {
    await encodeBatchNormForward(this.gpu, input, this.state, this.output, batch, this.layer.features, this.layer.epsilon);
    return this.output;
  }

  async backward(gradOutput: GPUBuffer, batch: number, needsInputGrad: boolean): Promise<GPUBuffer | null> {
    const [gamma, beta] = this.parameters;
    await encodeBatchNormBackward(this.gpu, gradOutput, this.state, this.gradInput, gamma.grad, beta.grad, batch, this.layer.features);
    return needsInputGrad ? this.gradInput : null;
  }

  async afterStep(status: GPUBuffer, batch: number): Promise<void> {
    const { layer } = this;
    await encodeBatchNormRunningUpdate(this.gpu, this.state, status, this.runningMean, this.runningVariance, batch, layer.features, layer.momentum);
  }

  async writeBack(): Promise<void> {
    for (const p of this.parameters) await readInto(this.gpu, p.weights, p.parameter.value.data as Float32Array, `fitWebGpu: read ${p.parameter.name}`);
    await readInto(this.gpu, this.runningMean, this.layer.runningMean, `fitWebGpu: read ${this.layer.name} running mean`);
    await readInto(this.gpu, this.runningVariance, this.layer.runningVariance, `fitWebGpu: read ${this.layer.name} running variance`);
  }
}

/**
 * Inverted dropout with a mask drawn on the host, in the order sdk/layers/dropout.ts
 * draws it, and uploaded each step. A rate of 0 passes activations and gradients through.
 */
export class DeviceDropout implements DeviceLayer {
  readonly parameters: DeviceParameter[] = [];
  readonly buffers: GPUBuffer[] = [];
  /** Mask [batch, features]: 0 for a dropped element, 1 / (1 - rate) for a kept one. */
  readonly mask: GPUBuffer | null;
  private readonly output: GPUBuffer | null;
  private readonly gradInput: GPUBuffer | null;

  constructor(
    private readonly gpu: GpuContext,
    readonly layer: Dropout,
    maxBatch: number,
    /** Elements per row of the layer's input. */
    readonly features: number,
  ) {
    const active = layer.rate > 0;
    const maxElements = maxBatch * features;
    this.mask = active ? gpu.storage(maxElements * 4, `${layer.name}/mask`) : null;
    this.output = active ? gpu.storage(maxElements * 4, `${layer.name}/output`) : null;
    this.gradInput = active ? gpu.storage(maxElements * 4, `${layer.name}/input grad`) : null;
    if (active) this.buffers.push(this.mask!, this.output!, this.gradInput!);
  }

  async forward(input: GPUBuffer, batch: number): Promise<GPUBuffer> {
    if (this.mask === null) return input;
    await encodeMultiply(this.gpu, input, this.mask, this.output!, batch * this.features);
    return this.output!;
  }

  async backward(gradOutput: GPUBuffer, batch: number, needsInputGrad: boolean): Promise<GPUBuffer | null> {
    if (!needsInputGrad) return null;
    if (this.mask === null) return gradOutput;
    await encodeMultiply(this.gpu, gradOutput, this.mask, this.gradInput!, batch * this.features);
    return this.gradInput!;
  }

  async afterStep(): Promise<void> {}

  async writeBack(): Promise<void> {}
}

// Packed k-bit networks on WebGPU (runPackedAsync) against the reference backend (runPacked): briefly trained
// ConvNets with ternary, log and linear k-bit layers, Flatten and global-pool heads, and a DoReFa MLP.
// Runtime-agnostic, so the same cases run in Node, Deno and Chromium: no node: imports, no process.
import type { WebGpuBackend } from '../../../gpu/webgpu-backend.js';
import { ReferenceBackend } from '../../../sdk/backends/reference-backend.js';
import { compileNetwork } from '../../../sdk/compile/compile-model.js';
import { runPacked, runPackedAsync } from '../../../sdk/compile/run-packed.js';
import { BatchNorm } from '../../../sdk/layers/batch-norm.js';
import { Dense, type Quantizer } from '../../../sdk/layers/dense.js';
import { Flatten } from '../../../sdk/layers/flatten.js';
import { GlobalAveragePooling2D } from '../../../sdk/layers/global-average-pooling2d.js';
import type { Layer } from '../../../sdk/layers/layer.js';
import { MaxPool2D } from '../../../sdk/layers/max-pool2d.js';
import { QuantConv2D } from '../../../sdk/layers/quant-conv2d.js';
import { Sequential } from '../../../sdk/layers/sequential.js';
import { Adam } from '../../../sdk/optimizers/adam.js';
import { fit } from '../../../sdk/training/fit.js';
import { type ConformanceCase, expectEqual } from './conformance-case.js';

const reference = new ReferenceBackend();
const CLASSES = 3;
const SIDE = 8;

/** Deterministic pseudo-random bytes, so every runtime trains and checks the same samples. */
function samples(seed: number, count: number, features: number): Uint8Array {
  let state = seed >>> 0;
  return Uint8Array.from({ length: count * features }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state >>> 24;
  });
}

/** conv(4) -> pool -> BN -> conv(5) -> BN -> head -> dense(8) -> BN -> dense(3) -> BN, with the given quantizers. */
function kbitConvNet(kernels: [Quantizer, Quantizer], convInput: Quantizer, denseInput: Quantizer, head: 'flatten' | 'global_pool'): Sequential {
  const layers: Layer[] = [
    new QuantConv2D(4, 3, { padding: 'same', padValue: 1, kernelQuantizer: kernels[0], inputQuantizer: null }),
    new MaxPool2D(2),
    new BatchNorm(),
    new QuantConv2D(5, 3, { padding: 'same', padValue: 0, kernelQuantizer: kernels[1], inputQuantizer: convInput }),
    new BatchNorm(),
    head === 'flatten' ? new Flatten() : new GlobalAveragePooling2D(),
    new Dense(8, { kernelQuantizer: { kind: 'linear', bits: 2 }, inputQuantizer: denseInput }),
    new BatchNorm(),
    new Dense(CLASSES, { kernelQuantizer: 'ste_sign', inputQuantizer: 'ste_sign' }),
    new BatchNorm(),
  ];
  return new Sequential(layers).build([SIDE, SIDE, 1], 3);
}

/** Trains the model for two short epochs, so batch-norm statistics and weights have moved, then runs both backends. */
async function compareWithReference(backend: WebGpuBackend, model: Sequential, features: number): Promise<void> {
  const train = samples(7, 48, features);
  const labels = Int32Array.from({ length: 48 }, (_v, i) => (i * 7) % CLASSES);
  fit(model, Float32Array.from(train, (v) => v / 256), labels, { epochs: 2, batchSize: 16, optimizer: new Adam({ learningRate: 0.01 }), loss: 'squared_hinge', seed: 5 });
  const network = compileNetwork(model);

  const heldOut = samples(11, 16, features);
  const expected = runPacked(network, reference, heldOut);
  const actual = await runPackedAsync(network, backend, heldOut);
  expectEqual(actual, expected, `${network.layers.map((layer) => layer.kind).join(', ')} scores`);
}

export const kbitNetworkCases: ConformanceCase[] = [
  {
    name: 'packed k-bit network: ternary convolutions, flatten',
    run: (backend) => compareWithReference(backend, kbitConvNet([{ kind: 'ternary' }, { kind: 'ternary' }], { kind: 'ternary' }, { kind: 'linear', bits: 2 }, 'flatten'), SIDE * SIDE),
  },
  {
    name: 'packed k-bit network: log and 2-bit convolutions, global pool',
    run: (backend) =>
      compareWithReference(backend, kbitConvNet([{ kind: 'log', bits: 2 }, { kind: 'linear', bits: 2 }], { kind: 'log', bits: 1 }, 'ste_sign', 'global_pool'), SIDE * SIDE),
  },
  {
    name: 'packed k-bit network: DoReFa MLP',
    run: (backend) => {
      const model = new Sequential([
        new Dense(12, { kernelQuantizer: { kind: 'dorefa', bits: 2 }, inputQuantizer: null }),
        new BatchNorm(),
        new Dense(CLASSES, { kernelQuantizer: { kind: 'dorefa', bits: 3 }, inputQuantizer: { kind: 'dorefa', bits: 2 } }),
        new BatchNorm(),
      ]).build([20], 2);
      return compareWithReference(backend, model, 20);
    },
  },
];

// fitWebGpu against fit on the WASM backend on a real MNIST subset, packed inference of the result, and the non-finite stop.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { fitWebGpu } from '../../gpu/training/fit-webgpu.js';
import { setBackend } from '../../sdk/backends/active-backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import type { WasmBackend } from '../../sdk/backends/wasm-backend.js';
import { compileModel } from '../../sdk/compile/compile-model.js';
import { runPacked, runPackedAsync } from '../../sdk/compile/run-packed.js';
import { type MnistDataset, MNIST_CLASSES, loadMnist } from '../../sdk/data/mnist.js';
import { QnnError } from '../../sdk/errors.js';
import { Dense } from '../../sdk/layers/dense.js';
import { Layer } from '../../sdk/layers/layer.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { binaryMlp } from '../../sdk/models/binary-mlp.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import type { Tensor } from '../../sdk/tensor/tensor.js';
import { type EpochReport, type FitOptions, fit } from '../../sdk/training/fit.js';
import { argmax, classificationError } from '../../sdk/training/metrics.js';
import { acquireTestDevice } from './webgpu-device.js';

const device = await acquireTestDevice();

if (device.unavailable !== undefined && process.env.CI) {
  it('webgpu adapter is available in CI', () => {
    assert.fail(device.unavailable);
  });
}

/** uint8 pixels to float32 pixel / 256, the input encoding the packed first layer reproduces exactly. */
function scalePixels(pixels: Uint8Array): Float32Array {
  return Float32Array.from(pixels, (pixel) => pixel / 256);
}

// Sized for SwiftShader, where one 100 x 784 x 128 GEMM took 1 to 2 s on a loaded 2-core machine (measured with Dawn from webgpu 0.3).
const TRAIN_IMAGES = 1000;
const TEST_IMAGES = 1000;
const HIDDEN = [64];
const EPOCHS = 3;

describe('fitWebGpu on an MNIST subset', { skip: device.unavailable }, () => {
  let mnist: MnistDataset;
  let wasm: WasmBackend;
  let trainInputs: Float32Array;
  let testInputs: Float32Array;

  before(async () => {
    wasm = await createWasmBackend();
    setBackend(wasm);
    mnist = await loadMnist({ trainLimit: TRAIN_IMAGES, testLimit: TEST_IMAGES });
    trainInputs = scalePixels(mnist.train.images);
    testInputs = scalePixels(mnist.test.images);
  });

  after(() => device.kernels?.destroy());

  const options = (): FitOptions => ({ epochs: EPOCHS, batchSize: 100, loss: 'softmax_cross_entropy', seed: 3, optimizer: new Adam({ learningRate: 0.003 }) });
  const model = (): Sequential => binaryMlp({ inputs: 784, hidden: HIDDEN, classes: MNIST_CLASSES, dropout: 0.2, seed: 3 });

  it('trains like fit on WASM', async (t) => {
    const cpuModel = model();
    let started = performance.now();
    const cpuReports = fit(cpuModel, trainInputs, mnist.train.labels, options());
    const cpuSeconds = (performance.now() - started) / 1000;

    const gpuModel = model();
    const batchReports: { epoch: number; batch: number }[] = [];
    const epochReports: EpochReport[] = [];
    started = performance.now();
    const gpuReports = await fitWebGpu(gpuModel, trainInputs, mnist.train.labels, {
      ...options(),
      onBatchEnd: (report) => batchReports.push(report),
      onEpochEnd: (report) => epochReports.push(report),
    }, device.kernels!);
    const gpuSeconds = (performance.now() - started) / 1000;

    const cpuError = classificationError(cpuModel.predict(testInputs), mnist.test.labels, MNIST_CLASSES);
    const gpuError = classificationError(gpuModel.predict(testInputs), mnist.test.labels, MNIST_CLASSES);
    t.diagnostic(`WASM: test error ${(100 * cpuError).toFixed(1)}% in ${cpuSeconds.toFixed(1)} s; WebGPU: ${(100 * gpuError).toFixed(1)}% in ${gpuSeconds.toFixed(1)} s`);

    // An untrained model guesses among 10 classes, near 90% error; 1,000 images and 3 epochs reach about 25%.
    assert.ok(cpuError < 0.4, `WASM test error ${cpuError} is not below 40%`);
    assert.ok(gpuError < 0.4, `WebGPU test error ${gpuError} is not below 40%`);
    assert.ok(Math.abs(gpuError - cpuError) <= 0.03, `WebGPU test error ${gpuError} is more than 3 points from WASM's ${cpuError}`);

    // Same data order and dropout masks: the epoch losses agree up to float32 summation order.
    assert.equal(gpuReports.length, EPOCHS);
    assert.deepEqual(epochReports, gpuReports);
    for (const [epoch, report] of gpuReports.entries()) {
      assert.ok(Math.abs(report.loss - cpuReports[epoch].loss) < 0.05, `epoch ${epoch + 1} loss ${report.loss}, WASM ${cpuReports[epoch].loss}`);
      assert.ok(Math.abs(report.accuracy - cpuReports[epoch].accuracy) < 0.03, `epoch ${epoch + 1} accuracy ${report.accuracy}, WASM ${cpuReports[epoch].accuracy}`);
      assert.equal(report.learningRate, 0.003);
    }
    assert.equal(batchReports.length, EPOCHS * 10);
    assert.deepEqual(batchReports.slice(0, 2).map(({ epoch, batch }) => [epoch, batch]), [[0, 0], [0, 1]]);

    // The packed graph compiled from the weights and running statistics written back must agree with the training graph.
    const floatScores = gpuModel.predict(testInputs);
    const packedScores = runPacked(compileModel(gpuModel), wasm, mnist.test.images);
    const floatPredictions = argmax(floatScores, TEST_IMAGES, MNIST_CLASSES);
    const packedPredictions = argmax(packedScores, TEST_IMAGES, MNIST_CLASSES);
    const matches = floatPredictions.filter((label, i) => label === packedPredictions[i]).length;
    assert.equal(matches / TEST_IMAGES, 1, `${TEST_IMAGES - matches} of ${TEST_IMAGES} packed predictions differ from the training graph`);

    // The same packed model on the WebGPU kernels gives the WASM scores exactly: integer sums, one float epilogue.
    const gpuPackedScores = await runPackedAsync(compileModel(gpuModel), device.kernels!, mnist.test.images);
    assert.deepEqual(gpuPackedScores, packedScores);
  });

  it('stops at a non-finite loss', async () => {
    // A float layer with a learning rate of 1e37 takes finite steps of about 1e37 per weight, so the second
    // batch's scores overflow float32 and its loss is NaN.
    const inputs = trainInputs.subarray(0, 300 * 784);
    const labels = mnist.train.labels.subarray(0, 300);
    const overflowing = (): Sequential => new Sequential([new Dense(MNIST_CLASSES, { name: 'scores' })]).build([784], 5);
    const settings = (): FitOptions => ({ epochs: 1, batchSize: 100, loss: 'softmax_cross_entropy', seed: 5, optimizer: new Adam({ learningRate: 1e37 }) });

    const cpuModel = overflowing();
    assert.throws(() => fit(cpuModel, inputs, labels, settings()), /fit: loss became NaN at epoch 1, batch 2/);
    const gpuModel = overflowing();
    const initialKernel = (gpuModel.parameters()[0].value.data as Float32Array).slice();
    await assert.rejects(fitWebGpu(gpuModel, inputs, labels, settings(), device.kernels!), (error: Error) => {
      assert.ok(error instanceof QnnError, `expected a QnnError, got ${error.name}`);
      assert.match(error.message, /fitWebGpu: loss became NaN at epoch 1, batch 2/);
      return true;
    });

    // The model keeps the weights of batch 1's step, like fit's, and none of batch 2 or 3.
    for (const [i, parameter] of gpuModel.parameters().entries()) {
      const weights = parameter.value.data as Float32Array;
      const cpuWeights = cpuModel.parameters()[i].value.data as Float32Array;
      assert.ok(weights.every(Number.isFinite), `${parameter.name} has non-finite weights`);
      for (let j = 0; j < weights.length; j++) {
        assert.ok(Math.abs(weights[j] - cpuWeights[j]) <= 1e-5 * Math.abs(cpuWeights[j]), `${parameter.name}[${j}] = ${weights[j]}, fit left ${cpuWeights[j]}`);
      }
    }
    assert.notDeepEqual(gpuModel.parameters()[0].value.data, initialKernel);
  });

  it('rejects unsupported layers and options', async () => {
    const inputs = trainInputs.subarray(0, 10 * 784);
    const labels = mnist.train.labels.subarray(0, 10);
    const stochastic = new Sequential([new Dense(MNIST_CLASSES, { kernelQuantizer: 'stochastic_binary', name: 'noisy' })]).build([784], 1);
    await assert.rejects(
      fitWebGpu(stochastic, inputs, labels, options(), device.kernels!),
      (error: Error) => error instanceof QnnError && /layer 'noisy' uses the 'stochastic_binary' kernel quantizer/.test(error.message),
    );
    const unknownLoss = { ...options(), loss: 'hinge' as FitOptions['loss'] };
    await assert.rejects(fitWebGpu(model(), inputs, labels, unknownLoss, device.kernels!), /loss 'hinge' is not supported on WebGPU/);

    const quantizedGradients = { ...options(), gradientBits: 4 } as FitOptions;
    await assert.rejects(fitWebGpu(model(), inputs, labels, quantizedGradients, device.kernels!), /option 'gradientBits' is not supported on WebGPU/);

    const plainStep = { learningRate: 0.1, apply: (): void => undefined };
    await assert.rejects(fitWebGpu(model(), inputs, labels, { ...options(), optimizer: plainStep }, device.kernels!), /the optimizer must be Adam, got Object/);

    class Identity extends Layer {
      outputShape(inputShape: number[]): number[] {
        return inputShape;
      }

      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const custom = new Sequential([new Identity('passthrough'), new Dense(MNIST_CLASSES)]).build([784], 1);
    await assert.rejects(fitWebGpu(custom, inputs, labels, options(), device.kernels!), /layer 'passthrough' \(Identity\) is not supported on WebGPU/);
  });
});

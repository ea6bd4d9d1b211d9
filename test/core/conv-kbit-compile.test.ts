import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

import type { Backend } from '../../sdk/backends/backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { compileConvKbitBlock } from '../../sdk/compile/compile-conv-kbit.js';
import { compileNetwork } from '../../sdk/compile/compile-model.js';
import type { PackedConv2dKbitLayer } from '../../sdk/compile/graph.js';
import { type WalkActivation, walkConv2dKbit } from '../../sdk/compile/run-conv-kbit.js';
import { runPacked, runPackedAsync } from '../../sdk/compile/run-packed.js';
import { FileFormatError, QnnError } from '../../sdk/errors.js';
import { crc32 } from '../../sdk/format/crc32.js';
import { decodeQnnNetwork } from '../../sdk/format/qnn-decode.js';
import { encodeQnn } from '../../sdk/format/qnn-encode.js';
import { loadQnnNetwork, saveQnn } from '../../sdk/format/qnn-file.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense, type Quantizer } from '../../sdk/layers/dense.js';
import { Dropout } from '../../sdk/layers/dropout.js';
import { Flatten } from '../../sdk/layers/flatten.js';
import { GlobalAveragePooling2D } from '../../sdk/layers/global-average-pooling2d.js';
import type { Layer } from '../../sdk/layers/layer.js';
import { MaxPool2D } from '../../sdk/layers/max-pool2d.js';
import { QuantConv2D } from '../../sdk/layers/quant-conv2d.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { packedStats } from '../../sdk/inspect/packed-stats.js';
import { exportOnnx } from '../../sdk/onnx/export-onnx.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { fit } from '../../sdk/training/fit.js';
import { argmax } from '../../sdk/training/metrics.js';
import { SeededRandom } from '../helpers/random.js';

const CLASSES = 3;

/** 'ste_sign' for 1 bit, the linear quantizer with the default step 2^(1 - bits) for more; a spec passes unchanged. */
function quantizerOf(bits: number | Quantizer): Quantizer {
  if (typeof bits !== 'number') return bits;
  return bits === 1 ? 'ste_sign' : { kind: 'linear', bits };
}

/** A bit count (1 for ste_sign, else linear) or any quantizer spec. */
type Bits = number | Quantizer;

interface KbitConvNetOptions {
  inputShape: [number, number, number];
  padding: 'same' | 'valid';
  padValue: 1 | 0 | -1;
  /** Where the first block's MaxPool2D sits relative to its BatchNorm. */
  pool: 'before_norm' | 'after_norm';
  strides?: number;
  /** Kernel bits of the two convolutions; 1 means ste_sign. */
  kernelBits: [Bits, Bits];
  /** Input bits of the second convolution and of the hidden Dense layer; 1 means ste_sign. */
  inputBits: [Bits, Bits];
  head: 'flatten' | 'global_pool';
  /** Pool after the second conv's BatchNorm too (feeds the head from pooled values). */
  secondPool?: boolean;
  /** Kernel bits of the two Dense layers (default 3 and 2); the output layer's input takes the second too. */
  denseBits?: [Bits, Bits];
}

/** conv(4, 3x3) -> pool/BN -> conv(5, 3x3) -> BN [-> pool] -> Flatten or GlobalAveragePooling2D -> dense(8) -> BN -> dense(3) -> BN. */
function kbitConvNet(options: KbitConvNetOptions): Sequential {
  const { padding, padValue, kernelBits, inputBits } = options;
  const denseBits = options.denseBits ?? [3, 2];
  const first = new QuantConv2D(4, 3, { padding, padValue, strides: options.strides ?? 1, kernelQuantizer: quantizerOf(kernelBits[0]), inputQuantizer: null, name: 'conv_input' });
  const layers: Layer[] = [first];
  if (options.pool === 'before_norm') layers.push(new MaxPool2D(2, { name: 'pool_input' }), new BatchNorm({ name: 'bn_conv_input' }));
  else layers.push(new BatchNorm({ name: 'bn_conv_input' }), new MaxPool2D(2, { name: 'pool_input' }));
  layers.push(
    new QuantConv2D(5, 3, { padding, padValue, kernelQuantizer: quantizerOf(kernelBits[1]), inputQuantizer: quantizerOf(inputBits[0]), name: 'conv_hidden' }),
    new BatchNorm({ name: 'bn_conv_hidden' }),
  );
  if (options.secondPool === true) layers.push(new MaxPool2D(2, { name: 'pool_hidden' }));
  layers.push(
    options.head === 'flatten' ? new Flatten({ name: 'flatten' }) : new GlobalAveragePooling2D({ name: 'global_pool' }),
    new Dense(8, { kernelQuantizer: quantizerOf(denseBits[0]), inputQuantizer: quantizerOf(inputBits[1]), name: 'dense_hidden' }),
    new BatchNorm({ name: 'bn_dense_hidden' }),
    new Dense(CLASSES, { kernelQuantizer: quantizerOf(denseBits[1]), inputQuantizer: quantizerOf(denseBits[1]), name: 'dense_output' }),
    new BatchNorm({ name: 'bn_output' }),
  );
  return new Sequential(layers).build(options.inputShape, 7);
}

function randomSamples(seed: number, count: number, features: number): { samples: Uint8Array; labels: Int32Array } {
  const random = new SeededRandom(seed);
  const samples = Uint8Array.from({ length: count * features }, () => random.int(0, 255));
  const labels = Int32Array.from({ length: count }, () => random.int(0, CLASSES - 1));
  return { samples, labels };
}

/** Returns the float32 model input uint8 / 256, which float32 represents exactly. */
function toModelInput(samples: Uint8Array): Float32Array {
  return Float32Array.from(samples, (v) => v / 256);
}

function trainFewSteps(model: Sequential, samples: Uint8Array, labels: Int32Array): void {
  fit(model, toModelInput(samples), labels, { epochs: 2, batchSize: 16, optimizer: new Adam({ learningRate: 0.01 }), loss: 'squared_hinge', seed: 5 });
}

function batchNormNamed(model: Sequential, name: string): BatchNorm {
  const layer = model.layers.find((l) => l.name === name);
  assert.ok(layer instanceof BatchNorm, `model has no BatchNorm named ${name}`);
  return layer;
}

/** Asserts the scores are the training graph's bit for bit (so the predictions are too). */
function assertScoresIdentical(actual: Float32Array, expected: Float32Array, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: score count`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Object.is(actual[i], expected[i]), `${label}: sample ${Math.floor(i / CLASSES)}, class ${i % CLASSES}: packed ${actual[i]}, predict ${expected[i]}`);
  }
  const count = expected.length / CLASSES;
  assert.deepEqual(argmax(actual, count, CLASSES), argmax(expected, count, CLASSES), `${label}: predictions`);
}

describe('k-bit ConvNets compile to the packed graph', () => {
  const backends: Backend[] = [new ReferenceBackend()];

  before(async () => {
    backends.push(await createWasmBackend());
  });

  const variants: { name: string; options: KbitConvNetOptions; kinds: string[] }[] = [
    {
      name: '2-bit kernels, 3-bit conv input, same one padding, pool before norm, flatten',
      options: { inputShape: [8, 8, 1], padding: 'same', padValue: 1, pool: 'before_norm', kernelBits: [2, 2], inputBits: [3, 2], head: 'flatten' },
      kinds: ['conv2d-kbit', 'conv2d-kbit', 'flatten', 'dense-kbit', 'dense-kbit'],
    },
    {
      name: '3-bit kernels, 2-bit conv input, same zero padding, pool after norm, global pool',
      options: { inputShape: [8, 8, 1], padding: 'same', padValue: 0, pool: 'after_norm', kernelBits: [3, 3], inputBits: [2, 3], head: 'global_pool' },
      kinds: ['conv2d-kbit', 'conv2d-kbit', 'globalAveragePool2d', 'dense-kbit', 'dense-kbit'],
    },
    {
      name: 'valid, 2 channels, binary first kernel, sign dense input after flatten',
      options: { inputShape: [10, 10, 2], padding: 'valid', padValue: 1, pool: 'before_norm', kernelBits: [1, 2], inputBits: [2, 1], head: 'flatten' },
      kinds: ['conv2d-kbit', 'conv2d-kbit', 'flatten', 'dense-kbit', 'dense-kbit'],
    },
    {
      name: 'stride 2, same one padding, binary hidden conv, sign dense input after global pool',
      options: { inputShape: [10, 10, 2], padding: 'same', padValue: 1, pool: 'after_norm', strides: 2, kernelBits: [2, 1], inputBits: [1, 1], head: 'global_pool' },
      kinds: ['conv2d-kbit', 'conv2d-kbit', 'globalAveragePool2d', 'dense-kbit', 'dense-kbit'],
    },
    {
      name: 'same minus-one padding, pool after the second norm, global pool',
      options: { inputShape: [8, 8, 1], padding: 'same', padValue: -1, pool: 'before_norm', kernelBits: [2, 3], inputBits: [2, 2], head: 'global_pool', secondPool: true },
      kinds: ['conv2d-kbit', 'conv2d-kbit', 'globalAveragePool2d', 'dense-kbit', 'dense-kbit'],
    },
    {
      name: 'ternary kernels and ternary conv and dense inputs, flatten',
      options: {
        inputShape: [8, 8, 1], padding: 'same', padValue: 0, pool: 'before_norm',
        kernelBits: [{ kind: 'ternary' }, { kind: 'ternary', threshold: 0.25 }], inputBits: [{ kind: 'ternary' }, { kind: 'ternary' }], head: 'flatten',
      },
      kinds: ['conv2d-kbit', 'conv2d-kbit', 'flatten', 'dense-kbit', 'dense-kbit'],
    },
    {
      name: 'log kernels, log conv input, 2-bit dense input, one padding, flatten',
      options: {
        inputShape: [8, 8, 1], padding: 'same', padValue: 1, pool: 'after_norm',
        kernelBits: [{ kind: 'log', bits: 2 }, { kind: 'log', bits: 1 }], inputBits: [{ kind: 'log', bits: 1 }, 2], head: 'flatten',
      },
      kinds: ['conv2d-kbit', 'conv2d-kbit', 'flatten', 'dense-kbit', 'dense-kbit'],
    },
    {
      name: 'binarized net with global pool',
      options: { inputShape: [8, 8, 1], padding: 'same', padValue: 1, pool: 'after_norm', kernelBits: [1, 1], inputBits: [1, 1], head: 'global_pool', denseBits: [1, 1] },
      kinds: ['conv2d', 'maxPool2d', 'conv2d-kbit', 'globalAveragePool2d', 'dense', 'dense'],
    },
  ];

  for (const { name, options, kinds } of variants) {
    test(name, async () => {
      const features = options.inputShape[0] * options.inputShape[1] * options.inputShape[2];
      const train = randomSamples(11, 48, features);
      const heldOut = randomSamples(12, 16, features);
      const model = kbitConvNet(options);
      trainFewSteps(model, train.samples, train.labels);
      assert.ok(batchNormNamed(model, 'bn_conv_hidden').runningMean.some((v) => v !== 0), 'training did not move the conv running mean');

      const network = compileNetwork(model);
      assert.deepEqual(network.layers.map((layer) => layer.kind), kinds);
      for (const backend of backends) {
        for (const { samples } of [train, heldOut]) {
          assertScoresIdentical(runPacked(network, backend, samples, 10), model.predict(toModelInput(samples)), `${name} on ${backend.name}`);
        }
      }

      // The .qnn file keeps every field: the decoded network gives the same scores.
      const decoded = decodeQnnNetwork(encodeQnn(network));
      assert.deepEqual(decoded, network);
      assert.deepEqual(runPacked(decoded, backends[0], heldOut.samples), runPacked(network, backends[0], heldOut.samples));
      const directory = await mkdtemp(join(tmpdir(), 'qnn-conv-kbit-'));
      try {
        await saveQnn(join(directory, 'model.qnn'), network);
        const loaded = await loadQnnNetwork(join(directory, 'model.qnn'));
        assert.deepEqual(runPacked(loaded, backends[1], heldOut.samples), runPacked(network, backends[0], heldOut.samples));
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
      assert.deepEqual(await runPackedAsync(network, backends[1], heldOut.samples), runPacked(network, backends[0], heldOut.samples));
    });
  }

  test('DoReFa kernels and inputs: same predictions', () => {
    const options: KbitConvNetOptions = {
      inputShape: [8, 8, 1], padding: 'same', padValue: 0, pool: 'before_norm',
      kernelBits: [{ kind: 'dorefa', bits: 2 }, { kind: 'dorefa', bits: 3 }], inputBits: [{ kind: 'dorefa', bits: 2 }, { kind: 'dorefa', bits: 2 }], head: 'flatten',
    };
    const train = randomSamples(41, 48, 64);
    const heldOut = randomSamples(42, 32, 64);
    const model = kbitConvNet(options);
    trainFewSteps(model, train.samples, train.labels);
    const network = compileNetwork(model);
    assert.deepEqual(network.layers.map((layer) => layer.kind), ['conv2d-kbit', 'conv2d-kbit', 'flatten', 'dense-kbit', 'dense-kbit']);

    for (const backend of backends) {
      const packed = runPacked(network, backend, heldOut.samples, 10);
      const expected = model.predict(toModelInput(heldOut.samples));
      const count = expected.length / CLASSES;
      assert.deepEqual(argmax(packed, count, CLASSES), argmax(expected, count, CLASSES), `predictions on ${backend.name}`);
      // DoReFa scales by 1/(2^bits - 1), which float32 rounds in training; a flipped code would move a score far more than 1e-4.
      let largest = 0;
      for (let i = 0; i < packed.length; i++) largest = Math.max(largest, Math.abs(packed[i] - expected[i]));
      assert.ok(largest <= 1e-4, `max score difference ${largest} on ${backend.name}`);
    }
  });

  test('negative and zero gamma before codes and floats', () => {
    const options: KbitConvNetOptions = { inputShape: [8, 8, 1], padding: 'same', padValue: 1, pool: 'before_norm', kernelBits: [2, 2], inputBits: [2, 2], head: 'global_pool' };
    const train = randomSamples(21, 48, 64);
    const model = kbitConvNet(options);
    trainFewSteps(model, train.samples, train.labels);
    const inputNorm = batchNormNamed(model, 'bn_conv_input');
    const hiddenNorm = batchNormNamed(model, 'bn_conv_hidden');
    for (const c of [0, 2]) inputNorm.gamma.data[c] = -Math.abs(inputNorm.gamma.data[c]) - 0.1;
    inputNorm.gamma.data[3] = 0;
    for (const c of [1, 3]) hiddenNorm.gamma.data[c] = -Math.abs(hiddenNorm.gamma.data[c]) - 0.1;
    hiddenNorm.gamma.data[4] = 0;

    const network = compileNetwork(model);
    const first = network.layers[0] as PackedConv2dKbitLayer;
    assert.equal(first.output.kind, 'codes');
    for (const backend of backends) {
      assertScoresIdentical(runPacked(network, backend, train.samples), model.predict(toModelInput(train.samples)), `gamma signs on ${backend.name}`);
    }
  });
});

/**
 * One k-bit convolution by hand: a 2x2 image of 2-bit codes (step 0.5), a 3x3
 * 2-bit kernel (step 0.5, weights in {-1, -0.5, 0, 0.5}), SAME, padValue 1,
 * which is 2 input units and one past the largest code, so the pad taps need padTapSums.
 *
 *   x = [[0.5, -1], [-0.5, 0.5]]     K = [[0.5, -1, 0], [-0.5, 0.5, -1], [0, 0.5, -0.5]]
 *
 * Top-left output (0, 0): pad taps K00 + K01 + K02 + K10 + K20 = -1, times 1.0 gives -1;
 * in-image taps 0.5*0.5 + (-1)(-1) + 0.5(-0.5) + (-0.5)(0.5) = 0.75; total -0.25.
 * Bottom-right output (1, 1): pad taps K02 + K12 + K20 + K21 + K22 = -1;
 * in-image 0.5*0.5 + (-1)(-1) + (-0.5)(-0.5) + 0.5*0.5 = 1.75; total 0.75.
 * The accumulator unit is 0.5 * 0.25 (input step times half the kernel step), so acc = -2 and 6.
 */
describe('k-bit convolution accumulator at the border, by hand', () => {
  const kernel = [0.5, -1, 0, -0.5, 0.5, -1, 0, 0.5, -0.5];
  const image = [0.5, -1, -0.5, 0.5];

  function handModel(): { conv: QuantConv2D; model: Sequential } {
    const conv = new QuantConv2D(1, 3, { padding: 'same', padValue: 1, kernelQuantizer: quantizerOf(2), inputQuantizer: quantizerOf(2), name: 'conv_by_hand' });
    const model = new Sequential([conv]).build([2, 2, 1], 1);
    conv.kernel.data.set(kernel);
    return { conv, model };
  }

  test('packed accumulators and training outputs equal the hand values', () => {
    const { conv, model } = handModel();
    const layer = compileConvKbitBlock({ kind: 'conv2d', conv, poolBeforeNorm: null, batchNorm: null, poolAfterNorm: null }, false, 1 / 256, { kind: 'floats' });
    assert.equal(layer.output.kind, 'floats');
    assert.ok(layer.output.kind === 'floats');
    assert.equal(layer.output.epilogue.inputScale, 0.125);

    // Codes u = x / 0.5 + 2.
    const codes = Uint8Array.from(image, (x) => x / 0.5 + 2);
    const walk = walkConv2dKbit(layer, new Uint8Array(0), { kind: 'codes', codes }, 1);
    const backend = new ReferenceBackend();
    let step = walk.next();
    while (!step.done) {
      const call = step.value;
      step = walk.next((backend[call.kernel] as (...args: unknown[]) => unknown).apply(backend, call.args));
    }
    const result: WalkActivation = step.value;
    assert.ok(result.kind === 'floats');
    const accumulators = Array.from(result.values, (v) => v / 0.125);
    assert.equal(accumulators[0], -2, 'top-left accumulator');
    assert.equal(accumulators[3], 6, 'bottom-right accumulator');

    const trained = model.predict(Float32Array.from(image));
    assert.deepEqual(Array.from(trained), Array.from(result.values), 'training graph outputs');
    assert.deepEqual([trained[0], trained[3]], [-0.25, 0.75]);
  });
});

describe('compileNetwork rejects unsupported k-bit ConvNets', () => {
  test('float Dense input after global average pooling', () => {
    const valid = new Sequential([
      new QuantConv2D(4, 3, { inputQuantizer: null, name: 'conv_input' }),
      new BatchNorm(),
      new GlobalAveragePooling2D({ name: 'global_pool' }),
      new Dropout(0.1),
      new Dense(CLASSES, { inputQuantizer: null, name: 'dense_float_input' }),
    ]).build([6, 6, 1], 1);
    assert.throws(() => compileNetwork(valid), (error: unknown) => error instanceof QnnError && error.message.includes("'dense_float_input'"));
  });

  test('k-bit conv whose accumulator passes 2^24', () => {
    const model = new Sequential([
      new QuantConv2D(2, 9, { inputQuantizer: null, kernelQuantizer: quantizerOf(8), padding: 'valid', name: 'conv_wide' }),
      new BatchNorm(),
      new Flatten(),
      new Dense(CLASSES, { inputQuantizer: 'ste_sign', name: 'dense_output' }),
    ]).build([9, 9, 4], 1);
    assert.throws(() => compileNetwork(model), /'conv_wide'.*beyond 2\^24/);
  });
});

describe('k-bit conv layers in stats and ONNX export', () => {
  /** conv(3, 2-bit) -> MP2 -> BN -> conv(4, 3-bit weights, 2-bit inputs) -> BN -> GlobalAveragePooling2D -> dense(3) on 8x8x1. */
  function smallNetwork(): ReturnType<typeof compileNetwork> {
    const model = new Sequential([
      new QuantConv2D(3, 3, { kernelQuantizer: quantizerOf(2), inputQuantizer: null, name: 'conv_input' }),
      new MaxPool2D(2),
      new BatchNorm(),
      new QuantConv2D(4, 3, { kernelQuantizer: quantizerOf(3), inputQuantizer: quantizerOf(2), name: 'conv_hidden' }),
      new BatchNorm(),
      new GlobalAveragePooling2D({ name: 'global_pool' }),
      new Dense(CLASSES, { kernelQuantizer: quantizerOf(2), inputQuantizer: quantizerOf(2), name: 'scores' }),
    ]).build([8, 8, 1], 5);
    return compileNetwork(model);
  }

  test('packedStats counts k-bit conv MACs', () => {
    const stats = packedStats(smallNetwork());
    const [first, hidden, pool, scores] = stats.layers;
    // 8x8 SAME positions * 3x3x1 taps * 3 filters, then 4x4 positions * 3x3x3 taps * 4 filters.
    assert.equal(first.kBitMacs, 64 * 9 * 3);
    assert.deepEqual(first.outputShape, [4, 4, 3]);
    assert.equal(hidden.kBitMacs, 16 * 27 * 4);
    assert.deepEqual(hidden.outputShape, [4, 4, 4]);
    assert.equal(pool.kBitMacs + pool.binaryMacs + pool.floatMacs, 0);
    assert.deepEqual(pool.outputShape, [4]);
    assert.equal(scores.kBitMacs, 4 * CLASSES);
  });

  test('exportOnnx rejects conv2d-kbit by name', () => {
    assert.throws(() => exportOnnx(smallNetwork(), { format: 'onnx' }), (error: unknown) => error instanceof QnnError && /layer 0 is a conv2d-kbit layer/.test(error.message));
  });
});

describe('.qnn checks of the new records', () => {
  function smallGlobalPoolNetwork(): ReturnType<typeof compileNetwork> {
    const model = new Sequential([
      new QuantConv2D(3, 3, { kernelQuantizer: quantizerOf(2), inputQuantizer: null, name: 'conv_input' }),
      new BatchNorm(),
      new GlobalAveragePooling2D({ name: 'global_pool' }),
      new Dense(CLASSES, { kernelQuantizer: quantizerOf(2), inputQuantizer: quantizerOf(3), name: 'scores' }),
    ]).build([6, 6, 1], 2);
    return compileNetwork(model);
  }

  /** Returns the byte offset of the first record of layer kind `kind`, walking the record lengths after the header. */
  function recordOffset(bytes: Uint8Array, kind: number): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = view.getUint32(12, true);
    while (bytes[offset + 4] !== kind) offset += view.getUint32(offset, true);
    return offset;
  }

  test('globalAveragePool2d code bits out of range', () => {
    const bytes = encodeQnn(smallGlobalPoolNetwork());
    const start = recordOffset(bytes, 7);
    assert.equal(bytes[start + 6], 3, 'the record stores the 3 code bits of the Dense input');
    bytes[start + 6] = 9;
    new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);

    assert.throws(() => decodeQnnNetwork(bytes), (error: unknown) => {
      assert.ok(error instanceof FileFormatError, `expected FileFormatError, got ${String(error)}`);
      assert.match(error.message, /globalAveragePool2d\): code bits must be in 1..8 for codes output, found 9/);
      assert.equal(error.offset, start + 6);
      return true;
    });
  });

  test('floats output into a dense layer', () => {
    const network = smallGlobalPoolNetwork();
    const broken = { ...network, layers: network.layers.filter((layer) => layer.kind !== 'globalAveragePool2d') };
    assert.throws(() => encodeQnn(broken), /layer 1 \(dense-kbit\): only a globalAveragePool2d layer takes the float values/);
  });
});
